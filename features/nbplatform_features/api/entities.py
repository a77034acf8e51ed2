"""``api/features/entities``: entities (list)."""

from __future__ import annotations

from ..describe import entity_model
from .common import READ, FeaturesAPIHandler, page_of, registry_objects

__all__ = ["routes"]


class EntityListHandler(FeaturesAPIHandler):
    """``GET`` lists entities and their join keys."""

    async def get(self) -> None:
        """Return ``{"entities": [...], "next_page_token"}``."""
        self.require_scope(READ)
        entities = await self.blocking(registry_objects, self, "list_entities")
        page, token = page_of(self, entities)
        self.write_json({"entities": [entity_model(e) for e in page], "next_page_token": token})


routes = [(r"api/features/entities", EntityListHandler)]
