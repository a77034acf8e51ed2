"""``GET api/health``: the service is up and its database is migrated."""

from __future__ import annotations

from ... import __version__
from ..base import JSONAPIHandler
from ..db import current_revision


class HealthHandler(JSONAPIHandler):
    """Report the service version and database revision."""

    async def get(self) -> None:
        """Return ``{"status": "ok", "version", "database": {"revision", "backend"}}``."""
        engine = self.context.engine
        self.write_json(
            {
                "status": "ok",
                "version": __version__,
                "database": {
                    "backend": engine.dialect.name,
                    "revision": current_revision(engine),
                },
            }
        )


routes = [(r"api/health", HealthHandler)]
