"""The drift capability of the platform service (entry point ``nbplatform.capabilities``).

It mounts ``api/drift/*`` (monitors, checks, their reports, alerts, and the
actions acknowledge, mute, watch and retrain), migrates its tables once when the
service starts and keeps its settings as ``context.state["drift"]``.
"""

from __future__ import annotations

from typing import Any

from nbplatform_hub import host

from .db import MIGRATIONS
from .settings import DriftSettings
from .state import DriftState


def setup(context: Any) -> DriftState:
    """Read the settings and make the reports' folder."""
    settings = DriftSettings.from_env(context.home)
    settings.reports_dir.mkdir(parents=True, exist_ok=True)
    return DriftState(settings=settings)


capability = host.Capability(
    name="drift",
    resources=(
        "nbplatform_drift.api.monitors",
        "nbplatform_drift.api.checks",
        "nbplatform_drift.api.reports",
        "nbplatform_drift.api.alerts",
        "nbplatform_drift.api.actions",
    ),
    migrations=MIGRATIONS,
    setup=setup,
    scopes=(host.DRIFT_READ, host.DRIFT_WRITE, host.DRIFT_ADMIN),
    # NBP_SMTP_*: e-mail notices are sent by the service itself.
    env_prefixes=("NBP_DRIFT_", "NBP_SMTP_"),
)
