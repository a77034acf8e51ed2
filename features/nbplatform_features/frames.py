"""Training frames: point-in-time correct features for an entity frame, as Arrow.

The entity frame comes in as an Arrow IPC stream (join keys and an
``event_timestamp`` column); Feast resolves the features (a list of
``view:feature`` or a feature service) and the offline store (DuckDB by
default) joins them as of each row's time. The answer is an Arrow IPC stream
and a description of what the frame was built from.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any

from nbplatform.errors import InvalidParameterError, NotFoundError

from .describe import iso
from .repo import FeatureRepo
from .settings import PROJECT

#: A feature service's name.
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,127}$")
#: ``view:feature``.
FEATURE_REF = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,127}:[A-Za-z_][A-Za-z0-9_.\-]{0,127}$")
#: The most feature references one request may name.
MAX_FEATURES = 5000


def read_entity_frame(body: bytes) -> Any:
    """The entity frame of a request body (an Arrow IPC stream), as pandas.

    Raises:
        InvalidParameterError: Not an Arrow stream, or no ``event_timestamp``.
    """
    import pyarrow as pa
    import pyarrow.types as pat

    if not body:
        raise InvalidParameterError(
            "body: send the entity frame as an Arrow IPC stream "
            "(Content-Type: application/vnd.apache.arrow.stream)."
        )
    try:
        table = pa.ipc.open_stream(body).read_all()
    except (pa.ArrowInvalid, OSError) as e:
        raise InvalidParameterError(f"body: not an Arrow IPC stream ({e}).") from e
    if "event_timestamp" not in table.column_names:
        raise InvalidParameterError(
            "body: the entity frame needs an 'event_timestamp' column (the time of each row)."
        )
    if not pat.is_timestamp(table.schema.field("event_timestamp").type):
        raise InvalidParameterError("body: 'event_timestamp' must be a timestamp column.")
    if table.num_rows == 0:
        raise InvalidParameterError("body: the entity frame has no rows.")
    frame = table.to_pandas()
    if frame["event_timestamp"].dt.tz is None:
        frame["event_timestamp"] = frame["event_timestamp"].dt.tz_localize("UTC")
    return frame


def check_references(features: Sequence[str], feature_service: str | None) -> None:
    """Exactly one of ``features`` and ``feature_service``, each well formed.

    Raises:
        InvalidParameterError: Naming the argument.
    """
    if bool(features) == bool(feature_service):
        raise InvalidParameterError(
            "features: name the features (features=view:feature, repeated) or one "
            "feature_service, not both and not neither."
        )
    if len(features) > MAX_FEATURES:
        raise InvalidParameterError(f"features: at most {MAX_FEATURES} per request.")
    if feature_service is not None and not NAME.match(feature_service):
        raise InvalidParameterError(
            f"feature_service: {feature_service[:200]!r} is not a feature service name."
        )
    for ref in features:
        if not FEATURE_REF.match(ref):
            raise InvalidParameterError(
                f"features: {ref[:200]!r} is not a 'view:feature' reference."
            )


def training_frame(
    repo: FeatureRepo,
    body: bytes,
    features: Sequence[str],
    feature_service: str | None,
    full_feature_names: bool,
) -> tuple[bytes, dict[str, Any]]:
    """Build the training frame for the entity frame in ``body``.

    Returns:
        The frame as an Arrow IPC stream, and its description (``features``,
        ``feature_service``, ``entity_hash``, ``rows``, ``start``, ``end``).

    Raises:
        InvalidParameterError: A bad frame or reference, or columns missing.
        NotFoundError: A view, feature or service that does not exist.
    """
    import pyarrow as pa

    check_references(features, feature_service)
    entity_df = read_entity_frame(body)
    store = repo.store
    store.registry.refresh(PROJECT)
    wanted: Any = list(features)
    if feature_service:
        try:
            wanted = store.get_feature_service(feature_service, allow_cache=False)
        except Exception as e:
            raise NotFoundError(
                f"feature_service: no feature service named {feature_service!r}."
            ) from e
        refs = [
            f"{p.name_to_use()}:{f.name}"
            for p in wanted.feature_view_projections
            for f in p.features
        ]
    else:
        refs = list(features)
        known = {
            v.name: {f.name for f in v.features}
            for v in store.registry.list_feature_views(PROJECT, allow_cache=False)
        }
        for ref in refs:
            view, feature = ref.split(":", 1)
            if view not in known:
                raise NotFoundError(f"features: no feature view named {view!r} ({ref}).")
            if feature not in known[view]:
                raise NotFoundError(f"features: the view {view!r} has no feature {feature!r}.")
    try:
        job = store.get_historical_features(
            entity_df=entity_df, features=wanted, full_feature_names=full_feature_names
        )
        table = job.to_arrow()
    except (ValueError, KeyError) as e:
        raise InvalidParameterError(
            f"body: the entity frame does not fit the features ({e})."
        ) from e
    except Exception as e:
        if type(e).__module__.startswith("feast"):
            raise InvalidParameterError(f"features: {e}") from e
        raise
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    times = entity_df["event_timestamp"]
    description = {
        "features": refs,
        "feature_service": feature_service,
        "entity_hash": hashlib.sha256(body).hexdigest(),
        "rows": table.num_rows,
        "start": iso(times.min().to_pydatetime()),
        "end": iso(times.max().to_pydatetime()),
    }
    return sink.getvalue().to_pybytes(), description
