"""Features in Feast's style: apply, list, describe, materialize, training frames, online reads.

The platform keeps one Feast feature store (project ``nbplatform``) behind its
REST API; these functions call it with your token, under the same rules as the
Features panel. Feast, pandas and pyarrow (``pip install 'nbplatform[features]'``)
load on first use only. Example::

    nbp.features.apply("features/")                # your Feast definitions
    nbp.features.materialize_incremental()
    frame = nbp.features.get_training_frame(entity_df, features=["driver_stats:conv_rate"])
    nbp.features.get_online_features([{"driver_id": 1001}], feature_service="driver_model")
    fs = nbp.features.store()                      # a stock feast.FeatureStore

A training frame built while an MLflow run is active is recorded on it (tags
``nbplatform.training_frame.*``, artifacts ``training_frame/spec.json`` and
``training_frame/entities.parquet``), so that it can be rebuilt exactly.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from . import config as _config
from ._extras import require
from .client import PlatformClient
from .errors import NbplatformError
from .feast_config import client_config, store, write_client_config

__all__ = [
    "TRAINING_FRAME_HEADER",
    "MaterializationError",
    "apply",
    "client_config",
    "describe",
    "get_online_features",
    "get_training_frame",
    "list_entities",
    "list_feature_services",
    "list_feature_views",
    "list_materializations",
    "materialize",
    "materialize_incremental",
    "push",
    "store",
    "write_client_config",
]

#: The answer header of a training frame: what it was built from (JSON).
TRAINING_FRAME_HEADER = "Nbplatform-Training-Frame"
#: Prefix of the MLflow tags a training frame leaves on the active run.
TAG_PREFIX = "nbplatform.training_frame."
ARROW_STREAM = "application/vnd.apache.arrow.stream"
PUSH_TARGETS = ("online", "offline", "online_and_offline")

_clients: dict[tuple[str | None, str | None], PlatformClient] = {}


class MaterializationError(NbplatformError):
    """A materialization ended with status ``failed``; ``record`` is the platform's record."""

    error_code = "MATERIALIZATION_FAILED"

    def __init__(self, message: str, record: dict[str, Any]) -> None:
        super().__init__(message)
        self.record = record


# Talking to the platform ------------------------------------------------------------
def _client(client: PlatformClient | None) -> PlatformClient:
    """The given client, else one per URL and token, kept so its connections are reused."""
    if client is not None:
        return client
    cfg = _config.load()
    key = (cfg.platform_url, cfg.token)
    if key not in _clients:
        _clients.clear()
        _clients[key] = PlatformClient()
    return _clients[key]


def _json(client: PlatformClient | None, method: str, path: str, **kwargs: Any) -> Any:
    response = _client(client).send(method, path, **kwargs)
    return response.json() if response.content else None


def _jsonable(value: Any) -> Any:
    """``value`` as JSON: ISO strings for times, plain numbers for NumPy's, ``None`` for NaN."""
    if isinstance(value, str | bool | int) or value is None:
        return value
    if isinstance(value, float | datetime) and value != value:  # NaN, NaT
        return None
    if isinstance(value, float | datetime):
        return _iso(value) if isinstance(value, datetime) else value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):  # dates, times
        return value.isoformat()
    return _jsonable(value.tolist()) if hasattr(value, "tolist") else value  # NumPy's


def _iso(value: datetime | str | None) -> str | None:
    """An ISO 8601 string; naive datetimes are read as UTC (as Feast does)."""
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def _names(views: str | Iterable[str] | None) -> list[str] | None:
    if views is None:
        return None
    return [views] if isinstance(views, str) else [getattr(v, "name", v) for v in views]


# Reading the registry ---------------------------------------------------------------
def list_feature_views(client: PlatformClient | None = None) -> list[dict[str, Any]]:
    """Every feature view with its entities, features, TTL, source and freshness.

    Returns:
        The views (``name``, ``features``, ``freshness``: ``{"status":
        "fresh"|"stale"|"never", "age_seconds"}``...).
    """
    params: dict[str, Any] = {"max_results": 100}
    found: list[dict[str, Any]] = []
    while True:
        page = _json(client, "GET", "api/features/views", params=params)
        found += page["feature_views"]
        if not page.get("next_page_token"):
            return found
        params["page_token"] = page["next_page_token"]


def list_feature_services(client: PlatformClient | None = None) -> list[dict[str, Any]]:
    """Every feature service with its ``view:feature`` references."""
    return _json(client, "GET", "api/features/services")["feature_services"]


def list_entities(client: PlatformClient | None = None) -> list[dict[str, Any]]:
    """Every entity with its join keys and value type."""
    return _json(client, "GET", "api/features/entities")["entities"]


def describe(view: str, client: PlatformClient | None = None) -> dict[str, Any]:
    """One feature view (a name or a ``FeatureView``) with its statistics.

    Schema, TTL, entities, source, materialized interval, and ``stats``: row count,
    event-time range, and per column count, nulls, mean/std/min/max and a histogram
    or the top values.

    Raises:
        NotFoundError: No such view.
    """
    name = getattr(view, "name", view)
    return _json(client, "GET", f"api/features/views/{quote(str(name), safe='')}")


# Training frames and online features ------------------------------------------------
def _references(
    features: str | Sequence[str] | None, feature_service: Any
) -> tuple[list[str] | None, str | None]:
    """Check that exactly one of ``features`` and ``feature_service`` is given."""
    if (features is None) == (feature_service is None):
        raise ValueError(
            "Give either features=['view:feature', ...] or feature_service='name', not "
            + ("both." if features is not None else "neither.")
        )
    if feature_service is not None:
        name = getattr(feature_service, "name", feature_service)
        if not isinstance(name, str) or not name:
            raise ValueError(f"feature_service must be a name, not {feature_service!r}.")
        return None, name
    refs = [features] if isinstance(features, str) else list(features or [])
    if not refs:
        raise ValueError("features is empty: name at least one 'view:feature'.")
    bad = [r for r in refs if not isinstance(r, str) or r.count(":") != 1 or ":" in (r[0], r[-1])]
    if bad:
        raise ValueError(f"features must look like 'view:feature', not {bad[0]!r}.")
    return refs, None


def _arrow_stream(pa: Any, table: Any) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def get_training_frame(
    entity_df: Any,
    features: str | Sequence[str] | None = None,
    feature_service: Any = None,
    full_feature_names: bool = False,
    log: bool = True,
    *,
    timeout: float | None = 600,
    client: PlatformClient | None = None,
) -> Any:
    """Join features to entity rows as of each row's time (point in time), for training.

    Args:
        entity_df: A pandas ``DataFrame`` (or pyarrow ``Table``) of join keys plus an
            ``event_timestamp`` column.
        features: ``["view:feature", ...]``.
        feature_service: A feature service's name (instead of ``features``).
        full_feature_names: Name columns ``view__feature``.
        log: Record on the active MLflow run (if any) what the frame was built from.
        timeout: Seconds to wait for the frame.
        client: A client (default: ``NBP_PLATFORM_URL`` and ``NBP_TOKEN``).

    Returns:
        A pandas ``DataFrame``: the entity columns, then the features; its
        ``attrs["nbplatform.training_frame"]`` says what it was built from.

    Raises:
        ValueError: Neither or both of ``features`` and ``feature_service``, or no
            ``event_timestamp`` column.
        InvalidParameterError: The platform refused (an unknown feature...).
    """
    refs, service = _references(features, feature_service)
    pa = require("pyarrow", "features", "nbp.features.get_training_frame", "pyarrow")
    table = entity_df if isinstance(entity_df, pa.Table) else None
    if table is None:
        if not hasattr(entity_df, "columns") or not hasattr(entity_df, "iloc"):
            raise ValueError(
                "entity_df must be a pandas DataFrame of join keys and an "
                f"event_timestamp column, not {type(entity_df).__name__}."
            )
        table = pa.Table.from_pandas(entity_df, preserve_index=False)
    if "event_timestamp" not in table.column_names:
        raise ValueError(
            "entity_df needs an event_timestamp column (the time each row's features are "
            f"read as of); it has {', '.join(table.column_names) or 'no columns'}."
        )
    params: list[tuple[str, str]] = [("features", r) for r in refs or []]
    if service is not None:
        params.append(("feature_service", service))
    params.append(("full_feature_names", "true" if full_feature_names else "false"))
    response = _client(client).send(
        "POST",
        "api/features/training-frames",
        params=params,
        data=_arrow_stream(pa, table),
        headers={"Content-Type": ARROW_STREAM, "Accept": ARROW_STREAM},
        timeout=timeout,
    )
    frame = pa.ipc.open_stream(response.content).read_all().to_pandas()
    spec = json.loads(response.headers.get(TRAINING_FRAME_HEADER) or "{}")
    frame.attrs["nbplatform.training_frame"] = spec
    if log:
        _log_training_frame(spec, table, frame, refs, service)
    return frame


def _log_training_frame(
    spec: dict[str, Any], entities: Any, frame: Any, refs: list[str] | None, service: str | None
) -> None:
    """Tag the active MLflow run (when MLflow is in use) with what built the frame."""
    mlflow = sys.modules.get("mlflow")
    run = mlflow.active_run() if mlflow is not None else None
    if run is None:
        return
    try:
        import pyarrow.parquet as pq

        used = spec.get("features") or refs or []
        tags = {
            "features": ",".join(used)[:5000],
            "feature_service": spec.get("feature_service") or service,
            "entity_hash": spec.get("entity_hash"),
            "rows": spec.get("rows", len(frame)),
            "start": spec.get("start"),
            "end": spec.get("end"),
        }
        mlflow.set_tags({TAG_PREFIX + k: str(v) for k, v in tags.items() if v not in (None, "")})
        mlflow.log_dict(spec, "training_frame/spec.json")
        folder = tempfile.mkdtemp(prefix="nbp-training-frame-")
        try:
            pq.write_table(entities, os.path.join(folder, "entities.parquet"))
            mlflow.log_artifact(os.path.join(folder, "entities.parquet"), "training_frame")
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        import mlflow.data

        name = spec.get("feature_service") or service or "training_frame"
        with warnings.catch_warnings():  # MLflow's hint about integer columns
            warnings.simplefilter("ignore", UserWarning)
            mlflow.log_input(mlflow.data.from_pandas(frame, name=name), context="training")
    except Exception as e:  # the frame matters more than its record
        warnings.warn(
            f"nbp.features: could not record the training frame on MLflow run "
            f"{run.info.run_id}: {e}",
            stacklevel=3,
        )


def get_online_features(
    entity_rows: Sequence[Mapping[str, Any]] | Mapping[str, Sequence[Any]],
    features: str | Sequence[str] | None = None,
    feature_service: Any = None,
    full_feature_names: bool = False,
    *,
    client: PlatformClient | None = None,
) -> dict[str, list[Any]]:
    """Read the latest feature values of entities from the online store (for serving).

    Args:
        entity_rows: ``[{"driver_id": 1001}, ...]`` (or ``{"driver_id": [1001, ...]}``).
        features: ``["view:feature", ...]``.
        feature_service: A feature service's name (instead of ``features``).
        full_feature_names: Name features ``view__feature``.
        client: A client (default: ``NBP_PLATFORM_URL`` and ``NBP_TOKEN``).

    Returns:
        Name -> one value per entity row, join keys included, like Feast's
        ``OnlineResponse.to_dict()``.

    Raises:
        ValueError: Neither or both of ``features`` and ``feature_service``.
    """
    refs, service = _references(features, feature_service)
    if isinstance(entity_rows, Mapping):
        entities = {k: list(v) for k, v in entity_rows.items()}
    else:
        rows = list(entity_rows)
        if not rows:
            raise ValueError("entity_rows is empty: give at least one row of join keys.")
        keys = list(rows[0])
        for row in rows:
            if set(row) != set(keys):
                raise ValueError(
                    f"every entity row needs the same keys: {sorted(keys)} != {sorted(row)}."
                )
        entities = {k: [row[k] for row in rows] for k in keys}
    body: dict[str, Any] = {"entities": entities, "full_feature_names": full_feature_names}
    body.update({"features": refs} if refs is not None else {"feature_service": service})
    answer = _client(client).post_json(
        "features/server/get-online-features", json.dumps(body, default=_jsonable).encode()
    )
    names = answer["metadata"]["feature_names"]
    return {name: result["values"] for name, result in zip(names, answer["results"], strict=True)}


# Writing: materialize and push ------------------------------------------------------
def list_materializations(
    view: str | None = None, max_results: int = 100, client: PlatformClient | None = None
) -> list[dict[str, Any]]:
    """Past materializations, newest first (of ``view`` when given).

    Each says which views and interval, who asked, the job and run when a
    scheduled job did it, and how it ended.
    """
    params: dict[str, Any] = {"max_results": max_results}
    if view is not None:
        params["view"] = view
    return _json(client, "GET", "api/features/materializations", params=params)["materializations"]


def _materialization(
    body: dict[str, Any], client: PlatformClient | None, timeout: float | None
) -> dict[str, Any]:
    record = _json(client, "POST", "api/features/materializations", json=body, timeout=timeout)
    if record.get("status") == "failed":
        views = ", ".join(record.get("views") or []) or "every view"
        raise MaterializationError(
            f"Materializing {views} from {record.get('start')} to {record.get('end')} failed: "
            f"{record.get('error') or 'no reason given'}",
            record,
        )
    return record


def materialize(
    start: datetime | str,
    end: datetime | str | None = None,
    views: str | Iterable[str] | None = None,
    *,
    timeout: float | None = None,
    client: PlatformClient | None = None,
) -> dict[str, Any]:
    """Load feature values with event times in ``[start, end]`` into the online store.

    ``start`` and ``end`` (default: now) are datetimes (naive ones are UTC) or ISO 8601
    strings; ``views`` default to every online view; ``timeout`` (seconds) to none.

    Returns:
        The materialization record (``id``, ``status`` ``succeeded``, ``start``, ``end``...).

    Raises:
        MaterializationError: It failed; the message has the platform's error.
    """
    body = {"views": _names(views), "start": _iso(start), "end": _iso(end), "incremental": False}
    return _materialization(body, client, timeout)


def materialize_incremental(
    end: datetime | str | None = None,
    views: str | Iterable[str] | None = None,
    *,
    timeout: float | None = None,
    client: PlatformClient | None = None,
) -> dict[str, Any]:
    """Load what is new since each view's last materialization, up to ``end`` (default: now).

    Returns:
        The materialization record.

    Raises:
        MaterializationError: It failed; the message has the platform's error.
    """
    body = {"views": _names(views), "start": None, "end": _iso(end), "incremental": True}
    return _materialization(body, client, timeout)


def push(
    push_source: str,
    rows: Any,
    to: str = "online",
    *,
    client: PlatformClient | None = None,
) -> dict[str, Any]:
    """Write rows (a ``DataFrame`` or a list of dicts) to a push source's views.

    ``to`` is ``online``, ``offline`` or ``online_and_offline``; timestamps may be
    datetimes or ISO 8601 strings.

    Returns:
        ``{"rows": n}``.
    """
    if to not in PUSH_TARGETS:
        raise ValueError(f"to must be one of {', '.join(PUSH_TARGETS)}, not {to!r}.")
    records = (
        rows.to_dict("records") if hasattr(rows, "to_dict") and hasattr(rows, "columns") else rows
    )
    body = {
        "push_source": getattr(push_source, "name", push_source),
        "rows": [_jsonable(dict(r)) for r in records],
        "to": to,
    }
    return _json(client, "POST", "api/features/push", json=body)


# Apply ------------------------------------------------------------------------------
def apply(
    path: str | os.PathLike[str] = ".",
    dry_run: bool = False,
    *,
    client: PlatformClient | None = None,
) -> dict[str, Any]:
    """Register the Feast definitions of a folder (like ``feast apply``) on the platform.

    The ``*.py`` files of ``path`` (and its sub-folders, minus hidden ones and what
    ``.feastignore`` names) are imported here, in this process; the entities, data
    sources, feature views and feature services they define are sent to the
    platform, which checks and stores them all or nothing.

    Args:
        path: The definitions folder (or one ``.py`` file).
        dry_run: Only say what would change.
        client: A client (default: ``NBP_PLATFORM_URL`` and ``NBP_TOKEN``).

    Returns:
        ``{"created": [{"kind", "name"}], "updated", "unchanged", "dry_run"}``.

    Raises:
        InvalidParameterError: A file does not import (the message names it and the
            line), two objects of a kind share a name, or the platform refused one
            (its message starts with the file).
        ConflictError: An object belongs to someone else.
    """
    from .feast_registry import collect_definitions

    objects = collect_definitions(Path(path))
    payload = [
        {
            "kind": o.kind,
            "name": o.name,
            "file": o.file,
            "proto": base64.b64encode(o.proto).decode(),
        }
        for o in objects
    ]
    body = {"objects": payload, "dry_run": dry_run}
    return _json(client, "POST", "api/features/apply", json=body)
