"""The feature store's state in the platform service: settings, repository, caches, threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from .describe import SourceStatistics
from .repo import FeatureRepo
from .settings import PROJECT, FeaturesSettings


@dataclass(frozen=True)
class Served:
    """What the online store serves: ``view:feature`` references and service names.

    ``keys`` are the join keys each view needs in a lookup, ``service_keys`` those of
    each feature service (its views', renamed by their ``join_key_map``).
    """

    features: frozenset[str]
    services: frozenset[str]
    read_at: float
    keys: Mapping[str, frozenset[str]] = field(default_factory=dict)
    service_keys: Mapping[str, frozenset[str]] = field(default_factory=dict)


def _service_keys(service: Any, keys: Mapping[str, frozenset[str]]) -> frozenset[str]:
    needed: set[str] = set()
    for projection in service.feature_view_projections:
        renamed = projection.join_key_map or {}
        needed |= {renamed.get(key, key) for key in keys.get(projection.name, ())}
    return frozenset(needed)


@dataclass
class FeaturesState:
    """What the features handlers share (``context.state["features"]``).

    Attributes:
        settings: Read once at start.
        repo: The platform's Feast repository.
        statistics: Cached statistics of the views' sources.
        executor: Threads for Feast and DuckDB calls, which block.
        online_executor: Threads for online lookups only, so that a long
            materialization or training frame never queues one.
    """

    settings: FeaturesSettings
    repo: FeatureRepo
    statistics: SourceStatistics = field(default_factory=SourceStatistics)
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(4, thread_name_prefix="features")
    )
    online_executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(4, thread_name_prefix="online")
    )
    _served: Served | None = None
    _served_lock: threading.Lock = field(default_factory=threading.Lock)

    def fresh_served(self) -> Served | None:
        """:meth:`served` when it needs no registry read, else ``None``."""
        served = self._served
        if served is None or time.monotonic() - served.read_at > self.settings.registry_ttl_seconds:
            return None
        return served

    def served(self) -> Served:
        """The features the registry holds, re-read at most every registry TTL.

        The gateway checks each lookup against it; the store that looks features
        up trusts its cached registry as long, so both see a change within the
        same seconds.
        """
        served = self.fresh_served()
        if served is None:
            with self._served_lock:
                registry = self.repo.store.registry
                views = registry.list_feature_views(PROJECT)
                services = registry.list_feature_services(PROJECT)
                keys = {v.name: frozenset(v.join_keys) for v in views}
                served = self._served = Served(
                    features=frozenset(f"{v.name}:{f.name}" for v in views for f in v.features),
                    services=frozenset(s.name for s in services),
                    read_at=time.monotonic(),
                    keys=keys,
                    service_keys={s.name: _service_keys(s, keys) for s in services},
                )
        return served
