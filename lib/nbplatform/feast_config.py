"""The stock Feast SDK and CLI on the platform: the client ``feature_store.yaml``.

The kernels' Feast client config points the registry at the platform's API (read
only, :class:`nbplatform.feast_registry.PlatformRegistryStore`) and the online
store at the platform's route of Feast's feature-server API, with the hub token
read from the environment at each request (never written down). The kernel
extension writes it to ``~/.nbplatform/feature_store.yaml`` and sets
``FEAST_FS_YAML_FILE_PATH``. Nothing here imports Feast until :func:`store`.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from . import config as _config
from ._extras import require
from .errors import ConfigurationError

__all__ = ["client_config", "store", "write_client_config"]


def _token_env_var() -> str:
    """The variable holding the hub token: ``JUPYTERHUB_API_TOKEN`` on the platform, else NBP's."""
    if os.environ.get("JUPYTERHUB_API_TOKEN") or not os.environ.get("NBP_TOKEN"):
        return "JUPYTERHUB_API_TOKEN"
    return "NBP_TOKEN"


def client_config(platform_url: str | None = None, token_env_var: str | None = None) -> str:
    """The ``feature_store.yaml`` that points the stock Feast SDK at the platform.

    The registry is read (only) from the platform's API through
    :class:`nbplatform.feast_registry.PlatformRegistryStore`, online reads go to the
    platform's route of Feast's feature-server API; the token is read from
    ``token_env_var`` at each request, never written down.

    Args:
        platform_url: The platform service (default: ``NBP_PLATFORM_URL``).
        token_env_var: The variable holding the token (default: ``JUPYTERHUB_API_TOKEN``,
            or ``NBP_TOKEN`` where only that is set).

    Raises:
        ConfigurationError: No platform URL.
    """
    url = _config.load(platform_url=platform_url).platform_url
    if not url:
        raise ConfigurationError(
            "No platform URL: set NBP_PLATFORM_URL to the platform service "
            "(set for you on the platform's servers)."
        )
    var = token_env_var or _token_env_var()
    q = json.dumps  # a JSON string is a YAML scalar
    return (
        "# The platform's feature store, for the stock Feast SDK and CLI (read-only registry).\n"
        "# Written by nbplatform; change definitions with `nbplatform features apply`.\n"
        "project: nbplatform\n"
        "provider: local\n"
        "registry:\n"
        "  registry_type: file\n"
        "  registry_store_type: nbplatform.feast_registry.PlatformRegistryStore\n"
        f"  path: {q(url + 'api/features/registry')}\n"
        "  cache_ttl_seconds: 5\n"
        f"  token_env_var: {q(var)}\n"
        "online_store:\n"
        "  type: remote\n"
        f"  path: {q(url + 'features/server')}\n"
        "auth:\n"
        "  type: oidc\n"
        f"  token_env_var: {q(var)}\n"
        "entity_key_serialization_version: 3\n"
    )


def write_client_config(
    path: str | os.PathLike[str] | None = None, platform_url: str | None = None
) -> Path:
    """Write :func:`client_config` to ``path`` (default ``~/.nbplatform/feature_store.yaml``).

    Point Feast at it with ``FEAST_FS_YAML_FILE_PATH=<the file>`` (then ``feast
    feature-views list`` works from any folder) or ``feast -f <the file> ...``.

    Returns:
        The file (mode 0600).
    """
    target = Path(path) if path is not None else Path.home() / ".nbplatform/feature_store.yaml"
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = client_config(platform_url)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".feature_store.", suffix=".yaml")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def store(platform_url: str | None = None) -> Any:
    """A stock ``feast.FeatureStore`` on the platform's feature store (read-only registry).

    Example:
        >>> nbp.features.store().list_feature_views()
    """
    feast = require("feast", "features", "nbp.features.store", "Feast")
    import yaml
    from feast.repo_config import RepoConfig

    return feast.FeatureStore(config=RepoConfig(**yaml.safe_load(client_config(platform_url))))
