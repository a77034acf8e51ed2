"""The platform's Feast repository under ``NBP_HOME/features``: its config and its store.

Only the platform's processes (the platform service, its materialization jobs) open
this repository; kernels reach it through the platform service
(:mod:`nbplatform.features`, and the stock Feast SDK with the client config that
:func:`nbplatform.features.client_config` renders).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from .settings import PROJECT, FeaturesSettings

#: The name of the config file Feast looks for in a repository.
CONFIG_FILE = "feature_store.yaml"


def store_config(settings: FeaturesSettings) -> dict[str, Any]:
    """The platform's ``feature_store.yaml`` as a mapping."""
    repo = settings.repo
    if settings.online_store == "sqlite":
        online: dict[str, Any] = {"type": "sqlite", "path": str(repo / "online.db")}
    else:
        address = urlparse(settings.online_store)
        online = {
            "type": "redis",
            "connection_string": f"{address.hostname}:{address.port or 6379}"
            + (",ssl=true" if address.scheme == "rediss" else "")
            + (f",password={address.password}" if address.password else ""),
        }
    return {
        "project": PROJECT,
        "provider": "local",
        "registry": {
            "registry_type": "file",
            "path": str(repo / "registry.db"),
            "cache_ttl_seconds": settings.registry_ttl_seconds,
        },
        "online_store": online,
        "offline_store": dict(settings.offline_store),
        "entity_key_serialization_version": 3,
        "auth": {"type": "no_auth"},
    }


def write_config(settings: FeaturesSettings) -> Path:
    """Write ``NBP_HOME/features/feature_store.yaml`` (mode 0600) and return its path.

    The folder and the data folder are made (0700 and 0750) when missing.
    """
    repo = settings.repo
    repo.mkdir(parents=True, exist_ok=True, mode=0o700)
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o750)
    path = repo / CONFIG_FILE
    text = (
        "# Written by the platform service (nbplatform_features.repo); edits are replaced.\n"
        + yaml.safe_dump(store_config(settings), sort_keys=False)
    )
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)
    return path


class FeatureRepo:
    """The platform's Feast ``FeatureStore``, opened once, and the lock its writers share.

    Feast's file registry is rewritten whole on every commit, so changes
    (apply, delete, materialize) take :attr:`write_lock` in this process; online
    lookups only read.
    """

    def __init__(self, settings: FeaturesSettings) -> None:
        self.settings = settings
        self.write_lock = threading.Lock()
        self._store: Any = None
        self._open_lock = threading.Lock()

    @property
    def store(self) -> Any:
        """The ``feast.FeatureStore`` (opened on first use: Feast imports slowly)."""
        if self._store is None:
            with self._open_lock:
                if self._store is None:
                    from feast import FeatureStore

                    path = write_config(self.settings)
                    # Named, so that a client config in FEAST_FS_YAML_FILE_PATH is never read.
                    self._store = FeatureStore(repo_path=str(self.settings.repo), fs_yaml_file=path)
        return self._store

    def reset(self) -> None:
        """Drop the opened store (after a failed write: its cached registry may be dirty)."""
        with self._open_lock:
            self._store = None

    def registry_proto(self) -> Any:
        """The registry as Feast's ``RegistryProto``, fresh from its file."""
        self.store.registry.refresh(PROJECT)
        return self.store.registry.proto()
