"""Online lookups: Feast reads the online store in the platform service, in its answer shape.

The gateway (:mod:`.api.server`) checks a lookup, then :func:`look_up` asks the
service's own ``FeatureStore`` for the values and writes Feast's feature-server
answer with Feast's own converter (``convert_response_to_dict``), the bytes
Feast's ``/get-online-features`` would send. The stock SDK's remote online store
reads them unchanged.

Feast's feature server (FastAPI on a socket behind the gateway) answered the
same request in a second process: two more HTTP parsings and two thread hops
per lookup doubled its latency (``bench/features.py``), for nothing the
platform did not already check. The service's store is the one applies and
materializations use; it re-reads the registry at most every
``registry_ttl_seconds``, as the served set of :class:`.state.Served` does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from nbplatform.errors import InvalidParameterError

from .repo import FeatureRepo

__all__ = ["look_up"]


def look_up(
    repo: FeatureRepo,
    entities: Mapping[str, Sequence[Any]],
    features: Sequence[str] = (),
    feature_service: str | None = None,
    full_feature_names: bool = False,
    include_feature_view_version_metadata: bool = False,
) -> bytes:
    """Read the latest values of entities from the online store.

    Args:
        repo: The platform's repository.
        entities: Join key -> one value per row (checked by the gateway).
        features: ``view:feature`` references (or ``feature_service``).
        feature_service: A feature service's name.
        full_feature_names: Name features ``view__feature``.
        include_feature_view_version_metadata: Feast's flag of the same name.

    Returns:
        Feast's ``GetOnlineFeaturesResponse`` as JSON bytes (its feature server's shape).

    Raises:
        InvalidParameterError: Feast refused the values (e.g. a join key of the wrong type).
    """
    from feast.feature_server_utils import convert_response_to_dict

    store = repo.store
    wanted: Any = (
        store.get_feature_service(feature_service, allow_cache=True)
        if feature_service
        else list(features)
    )
    try:
        response = store.get_online_features(
            features=wanted,
            entity_rows={key: list(values) for key, values in entities.items()},
            full_feature_names=full_feature_names,
            include_feature_view_version_metadata=include_feature_view_version_metadata,
        )
    except (TypeError, ValueError, KeyError) as e:
        raise InvalidParameterError(f"entities: Feast cannot look these rows up ({e}).") from e
    except Exception as e:
        if type(e).__module__.startswith("feast"):
            raise InvalidParameterError(f"features: {e}") from e
        raise
    answer = convert_response_to_dict(response.proto)
    return json.dumps(answer, separators=(",", ":"), allow_nan=False).encode()
