"""``api/drift/alerts``: the caller's open alerts (JupyterLab's badge and notifications)."""

from __future__ import annotations

from typing import Any

from .. import store
from .common import READ, DriftAPIHandler

__all__ = ["routes"]


class AlertsHandler(DriftAPIHandler):
    """``GET``: warnings and drifts, not acknowledged, of monitors the caller owns or watches."""

    async def get(self) -> None:
        """Return ``{"alerts": [...]}``, by monitor name."""
        self.require_scope(READ)

        def load() -> list[dict[str, Any]]:
            with self.context.engine.connect() as conn:
                return store.alerts(conn, self.user["name"])

        self.write_json({"alerts": await self.blocking(load)})


routes: list[tuple[str, Any]] = [(r"api/drift/alerts", AlertsHandler)]
