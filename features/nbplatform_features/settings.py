"""Settings of the feature store, read once from ``NBP_FEATURES_*`` variables.

The defaults are the embedded ones: Feast's file registry, a SQLite online store
and the DuckDB offline store, all under ``NBP_HOME/features``. A Redis online
store and a warehouse offline store are chosen by configuration:

- ``NBP_FEATURES_ONLINE_STORE``: ``sqlite`` (default) or a ``redis://host:port``
  address (Feast's Redis online store).
- ``NBP_FEATURES_OFFLINE_STORE``: ``duckdb`` (default) or a path to a YAML file
  holding a Feast ``offline_store`` block (a warehouse: Snowflake, BigQuery,
  PostgreSQL...), written into the platform's ``feature_store.yaml`` as it is.
- ``NBP_FEATURES_DATA_ROOTS``: folders (``os.pathsep`` separated) besides
  ``NBP_HOME/features/data`` that file sources may read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from nbplatform.errors import ConfigurationError

#: The Feast project every definition belongs to.
PROJECT = "nbplatform"
#: The largest Arrow entity frame ``api/features/training-frames`` accepts (bytes).
DEFAULT_MAX_FRAME_BYTES = 1 << 30


@dataclass(frozen=True)
class FeaturesSettings:
    """Where the feature store keeps its state and which stores it uses.

    Attributes:
        home: ``NBP_HOME``.
        online_store: ``NBP_FEATURES_ONLINE_STORE``: ``sqlite`` or ``redis://...``.
        offline_store: The Feast ``offline_store`` block (DuckDB by default).
        data_roots: Folders file sources may read (``NBP_HOME/features/data`` first).
        max_frame_bytes: ``NBP_FEATURES_MAX_FRAME_BYTES``: the largest entity frame.
        registry_ttl_seconds: How long a process trusts its cached registry.
    """

    home: Path
    online_store: str = "sqlite"
    offline_store: Mapping[str, Any] = field(default_factory=dict)
    data_roots: tuple[Path, ...] = ()
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
    registry_ttl_seconds: int = 2

    @property
    def repo(self) -> Path:
        """The platform's Feast repository (``NBP_HOME/features``)."""
        return self.home / "features"

    @property
    def data_dir(self) -> Path:
        """The default folder of file sources' data (``NBP_HOME/features/data``)."""
        return self.repo / "data"

    @classmethod
    def from_env(cls, home: Path, env: Mapping[str, str] | None = None) -> FeaturesSettings:
        """Read the settings from ``env`` (default: the process environment).

        Raises:
            ConfigurationError: A value is not one the platform understands.
        """
        env = os.environ if env is None else env
        home = Path(home)
        online = env.get("NBP_FEATURES_ONLINE_STORE", "").strip() or "sqlite"
        if online != "sqlite" and not online.startswith(("redis://", "rediss://")):
            raise ConfigurationError(
                f"NBP_FEATURES_ONLINE_STORE={online!r}: use 'sqlite' or a redis:// address."
            )
        offline_raw = env.get("NBP_FEATURES_OFFLINE_STORE", "").strip() or "duckdb"
        offline: dict[str, Any] = {"type": "nbplatform_features.offline.DuckDBOfflineStore"}
        if offline_raw != "duckdb":
            try:
                offline = yaml.safe_load(Path(offline_raw).read_text())
            except (OSError, yaml.YAMLError) as e:
                raise ConfigurationError(
                    f"NBP_FEATURES_OFFLINE_STORE={offline_raw!r}: not a readable YAML file ({e})."
                ) from e
            if not isinstance(offline, dict) or "type" not in offline:
                raise ConfigurationError(
                    f"NBP_FEATURES_OFFLINE_STORE={offline_raw!r}: the file must hold a Feast "
                    "offline_store block (a mapping with a 'type')."
                )
        roots = [home / "features" / "data"]
        for part in env.get("NBP_FEATURES_DATA_ROOTS", "").split(os.pathsep):
            if part.strip():
                path = Path(part.strip())
                if not path.is_absolute():
                    raise ConfigurationError(
                        f"NBP_FEATURES_DATA_ROOTS: {part!r} is not an absolute path."
                    )
                roots.append(path)
        max_frame = env.get("NBP_FEATURES_MAX_FRAME_BYTES", "").strip()
        try:
            max_frame_bytes = int(max_frame) if max_frame else DEFAULT_MAX_FRAME_BYTES
        except ValueError:
            raise ConfigurationError(
                f"NBP_FEATURES_MAX_FRAME_BYTES={max_frame!r} is not a number of bytes."
            ) from None
        return cls(
            home=home,
            online_store=online,
            offline_store=offline,
            data_roots=tuple(roots),
            max_frame_bytes=max_frame_bytes,
        )
