"""A REST handler whose writes are audited, whatever their outcome."""

from __future__ import annotations

from tornado.log import app_log

from . import audit
from .base import APIHandler


class AuditedAPIHandler(APIHandler):
    """Audit every non-``GET`` request that got past authentication.

    A verb sets :attr:`audit_action` (e.g. ``promotion:approve``) and
    :attr:`audit_resource` (``churn@champion``) as early as it knows them; the
    entry is written when the response is finished, with ``refused`` for 403
    answers and ``allowed`` otherwise (the status tells success from failure).
    """

    audit_action: str | None = None
    audit_resource: str | None = None

    def on_finish(self) -> None:
        """Write the audit entry."""
        user = getattr(self, "user", None)
        if user is None or self.request.method in ("GET", "HEAD", "OPTIONS"):
            return
        status = self.get_status()
        try:
            audit.record(
                self.context.engine,
                audit.AuditEntry(
                    user=user["name"],
                    kind=user.get("kind", "user"),
                    action=self.audit_action or f"api:{self.request.method}",
                    method=self.request.method or "",
                    path=self.request.path,
                    resource=self.audit_resource,
                    result="refused" if status == 403 else "allowed",
                    status=status,
                    token_id=user.get("token_id"),
                    origin=audit.origin_from(self.request.headers, self.request.remote_ip),
                    detail=getattr(self, "audit_detail", None),
                ),
            )
        except Exception:
            app_log.exception("could not write the audit entry")
