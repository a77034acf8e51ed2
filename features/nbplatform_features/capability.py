"""The features capability of the platform service (entry point ``nbplatform.capabilities``).

It mounts ``api/features/*`` and the gateway ``features/server/`` to Feast's
feature server, migrates its table once when the service starts, writes the
platform's ``feature_store.yaml`` and asks the hub to run Feast's feature server
(:mod:`.server`) as a service next to the platform service.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from nbplatform_hub import host

from .db import MIGRATIONS
from .repo import FeatureRepo, write_config
from .settings import FeaturesSettings
from .state import FeaturesState

#: The hub service that runs Feast's feature server.
SERVER_SERVICE = "feast"


def setup(context: Any) -> FeaturesState:
    """Read the settings, write the repository's config (kept as ``context.state["features"]``)."""
    # Feast logs every registry refresh (each 2 s) at INFO.
    logging.getLogger("feast").setLevel(logging.WARNING)
    settings = FeaturesSettings.from_env(context.home)
    write_config(settings)
    return FeaturesState(settings=settings, repo=FeatureRepo(settings))


def hub_services(python: str, environment: Mapping[str, str]) -> list[dict[str, Any]]:
    """Feast's feature server as a hub-managed service: no route, a Unix socket only.

    Args:
        python: The platform's interpreter.
        environment: What every platform process is told (``NBP_HOME``...).

    Returns:
        ``c.JupyterHub.services`` entries.
    """
    return [
        {
            "name": SERVER_SERVICE,
            "command": [python, "-m", "nbplatform_features.server"],
            "environment": dict(environment),
        }
    ]


capability = host.Capability(
    name="features",
    resources=(
        "nbplatform_features.api.views",
        "nbplatform_features.api.windows",
        "nbplatform_features.api.services",
        "nbplatform_features.api.entities",
        "nbplatform_features.api.apply",
        "nbplatform_features.api.materializations",
        "nbplatform_features.api.training_frames",
        "nbplatform_features.api.push",
        "nbplatform_features.api.registry",
        "nbplatform_features.api.server",
    ),
    migrations=MIGRATIONS,
    setup=setup,
    scopes=(host.FEATURES_READ, host.FEATURES_WRITE, host.FEATURES_ADMIN),
    services=hub_services,
    env_prefixes=("NBP_FEATURES_",),
)
