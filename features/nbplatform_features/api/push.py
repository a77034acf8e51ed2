"""``api/features/push``: write rows through a push source (online, offline or both)."""

from __future__ import annotations

from ..models import PushRequest
from ..push import push_rows
from .common import WRITE, FeaturesAPIHandler

__all__ = ["routes"]


class PushHandler(FeaturesAPIHandler):
    """``POST`` pushes rows; answers ``{"rows": n}``."""

    async def post(self) -> None:
        """Push the rows of the body to its push source."""
        self.require_scope(WRITE)
        body = self.json_body(PushRequest)
        self.audit_resource = f"features/push: {body.push_source} ({len(body.rows)} rows)"
        count = await self.blocking(
            push_rows, self.features.repo, body.push_source, body.rows, body.to
        )
        self.write_json({"rows": count})


routes = [(r"api/features/push", PushHandler)]
