"""``api/features/materializations``: materialize views now; list past materializations."""

from __future__ import annotations

import re

from nbplatform.errors import InvalidParameterError
from nbplatform_hub import host

from ..materialize import list_records, materialize
from ..models import MaterializeRequest
from .common import NAME_PATTERN, READ, WRITE, FeaturesAPIHandler, paged

__all__ = ["routes"]


class MaterializationListHandler(FeaturesAPIHandler):
    """``GET`` lists materializations; ``POST`` runs one and answers when it is done."""

    async def get(self) -> None:
        """Return ``{"materializations": [...], "next_page_token"}``, newest first."""
        self.require_scope(READ)
        max_results, offset = paged(self)
        view = self.get_query_argument("view", None)
        if view is not None and not re.fullmatch(NAME_PATTERN, view):
            raise InvalidParameterError(f"view: {view[:100]!r} is not a feature view name.")
        records, more = await self.blocking(
            list_records, self.context.engine, view, max_results, offset
        )
        self.write_json(
            {
                "materializations": records,
                "next_page_token": str(offset + max_results) if more else None,
            }
        )

    async def post(self) -> None:
        """Materialize; 201 with the record (``status`` ``succeeded`` or ``failed``)."""
        self.require_scope(WRITE)
        body = self.json_body(MaterializeRequest)
        self.audit_resource = (
            "features/materializations: "
            + (", ".join(body.views) if body.views is not None else "every online view")[:900]
        )
        origin = await self.blocking(
            host.token_origin, self.context.engine, self.user.get("token_id")
        )
        record = await self.blocking(
            materialize,
            self.features.repo,
            self.context.engine,
            self.user["name"],
            origin,
            body.views,
            body.start,
            body.end,
            body.incremental,
        )
        if record["status"] == "failed":
            self.audit_detail = (record["error"] or "")[:1000]
        self.write_json(record, status=201)


routes = [(r"api/features/materializations", MaterializationListHandler)]
