"""``api/features/apply``: check and apply feature definitions (nothing written on error)."""

from __future__ import annotations

from ..changes import apply_definitions
from ..definitions import decode
from ..models import ApplyRequest
from .common import WRITE, FeaturesAPIHandler

__all__ = ["routes"]


class ApplyHandler(FeaturesAPIHandler):
    """``POST`` applies definitions sent as Feast protobufs (``nbplatform features apply``)."""

    async def post(self) -> None:
        """Return what was created, updated and left unchanged (or would be, with ``dry_run``)."""
        self.require_scope(WRITE)
        body = self.json_body(ApplyRequest)
        definitions = await self.blocking(decode, [o.model_dump() for o in body.objects])
        self.audit_resource = (
            "features/apply: " + ", ".join(f"{d.kind}:{d.name}" for d in definitions)[:900]
        )
        result = await self.blocking(
            apply_definitions,
            self.features.repo,
            definitions,
            self.user["name"],
            self.is_admin(),
            body.dry_run,
        )
        self.write_json(result)


routes = [(r"api/features/apply", ApplyHandler)]
