"""A REST handler whose writes are audited, whatever their outcome."""

from __future__ import annotations

from urllib.parse import unquote

from tornado.log import app_log

from . import audit
from .base import JSONAPIHandler


class AuditedAPIHandler(JSONAPIHandler):
    """Audit every non-``GET`` request that got past authentication.

    A verb sets :attr:`audit_action` (e.g. ``promotion:approve``) and
    :attr:`audit_resource` (``churn@champion``) as early as it knows them; until
    it does, the action is ``<resource>:<verb>`` and the resource the path below
    ``api/`` (``jobs/12``), so every entry names what it was about. The entry is
    written when the response is finished, its result from the status
    (:func:`.audit.result_of`: ``refused`` also for bodies refused unread).
    A verb about a registered model also sets :attr:`audit_model` (and
    :attr:`audit_version`, :attr:`audit_alias`).
    """

    audit_action: str | None = None
    audit_resource: str | None = None
    audit_model: str | None = None
    audit_version: str | None = None
    audit_alias: str | None = None

    def default_audit_resource(self) -> str:
        """The request path below ``api/``, decoded (``promotions/3/approve``)."""
        return unquote(self.request.path.split("/api/", 1)[-1])[:1024]

    def default_audit_action(self) -> str:
        """``<first path segment>:<verb>``, e.g. ``promotions:post``."""
        head = self.default_audit_resource().split("/", 1)[0] or "api"
        return f"{head}:{(self.request.method or '').lower()}"

    def on_finish(self) -> None:
        """Write the audit entry."""
        user = getattr(self, "user", None)
        if user is None or self.request.method in ("GET", "HEAD", "OPTIONS"):
            return
        status = self.get_status()
        refused = self.body_refused is not None
        detail = getattr(self, "audit_detail", None) or self.body_refused
        try:
            audit.record(
                self.context.engine,
                audit.request_entry(
                    self.request,
                    user,
                    status,
                    action=self.audit_action or self.default_audit_action(),
                    resource=self.audit_resource or self.default_audit_resource(),
                    result=audit.result_of(status, refused),
                    detail=detail,
                    model=self.audit_model,
                    version=self.audit_version,
                    alias=self.audit_alias,
                ),
            )
        except Exception:
            app_log.exception("could not write the audit entry")
