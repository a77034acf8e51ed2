"""The features capability of the platform service (entry point ``nbplatform.capabilities``).

It mounts ``api/features/*`` and ``features/server/get-online-features`` (Feast's
feature-server route for online lookups, answered in the service), migrates its
table once when the service starts and writes the platform's ``feature_store.yaml``.
It runs no process of its own: Feast works inside the platform service.
"""

from __future__ import annotations

import logging
from typing import Any

from nbplatform_hub import host

from .db import MIGRATIONS
from .repo import FeatureRepo, write_config
from .settings import FeaturesSettings
from .state import FeaturesState


def setup(context: Any) -> FeaturesState:
    """Read the settings, write the repository's config (kept as ``context.state["features"]``)."""
    # Feast logs every registry refresh (each 2 s) at INFO.
    logging.getLogger("feast").setLevel(logging.WARNING)
    settings = FeaturesSettings.from_env(context.home)
    write_config(settings)
    return FeaturesState(settings=settings, repo=FeatureRepo(settings))


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
    env_prefixes=("NBP_FEATURES_",),
)
