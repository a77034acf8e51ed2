"""``api/features/services``: feature services (list)."""

from __future__ import annotations

from ..describe import service_model
from .common import READ, FeaturesAPIHandler, page_of, registry_objects

__all__ = ["routes"]


class ServiceListHandler(FeaturesAPIHandler):
    """``GET`` lists feature services and the features each serves."""

    async def get(self) -> None:
        """Return ``{"feature_services": [...], "next_page_token"}``."""
        self.require_scope(READ)
        services = await self.blocking(registry_objects, self, "list_feature_services")
        page, token = page_of(self, services)
        self.write_json(
            {"feature_services": [service_model(s) for s in page], "next_page_token": token}
        )


routes = [(r"api/features/services", ServiceListHandler)]
