"""``api/features/views``: feature views (list, describe, delete)."""

from __future__ import annotations

from typing import Any

from nbplatform.errors import NotFoundError, PermissionDeniedError

from ..changes import delete_view
from ..describe import view_model
from ..materialize import last_runs
from .common import NAME_PATTERN, READ, FeaturesAPIHandler, page_of, registry_objects

__all__ = ["routes"]


def _views(handler: FeaturesAPIHandler) -> tuple[list[Any], dict[str, Any]]:
    views = registry_objects(handler, "list_feature_views")
    entities = {e.name: e for e in registry_objects(handler, "list_entities")}
    return views, entities


class ViewListHandler(FeaturesAPIHandler):
    """``GET`` lists feature views with their freshness and last materialization."""

    async def get(self) -> None:
        """Return ``{"feature_views": [...], "next_page_token"}``."""
        self.require_scope(READ)
        views, entities = await self.blocking(_views, self)
        runs = last_runs(self.context.engine)
        page, token = page_of(self, views)
        self.write_json(
            {
                "feature_views": [view_model(v, entities, runs.get(v.name)) for v in page],
                "next_page_token": token,
            }
        )


def _describe(handler: FeaturesAPIHandler, name: str) -> dict[str, Any]:
    views, entities = _views(handler)
    view = next((v for v in views if v.name == name), None)
    if view is None:
        raise NotFoundError(f"No feature view named {name!r}.")
    runs = last_runs(handler.context.engine)
    model = view_model(view, entities, runs.get(name))
    model["stats"] = handler.features.statistics.of(view)
    return model


class ViewHandler(FeaturesAPIHandler):
    """One feature view: ``GET`` describes it (with statistics), ``DELETE`` removes it."""

    async def get(self, name: str) -> None:
        """Return the view, its freshness and statistics of its source."""
        self.require_scope(READ)
        self.write_json(await self.blocking(_describe, self, name))

    async def delete(self, name: str) -> None:
        """Delete the view (platform admins only); 204."""
        self.no_body()
        self.audit_resource = f"features/views/{name}"
        if not self.is_admin():
            raise PermissionDeniedError(
                f"{self.user['name']} may not delete feature views: only platform admins may."
            )
        await self.blocking(delete_view, self.features.repo, name)
        self.set_status(204)
        self.finish()


routes = [
    (r"api/features/views", ViewListHandler),
    (rf"api/features/views/(?P<name>{NAME_PATTERN})", ViewHandler),
]
