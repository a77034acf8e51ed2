"""``GET api/audit``: the audit log, for platform-admins (``audit:read``)."""

from __future__ import annotations

from datetime import datetime

from nbplatform.errors import InvalidParameterError

from ...roles import AUDIT_READ
from .. import audit
from ..base import JSONAPIHandler
from ..paging import page_size


def _time(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidParameterError(
            f"{name}={value[:40]!r} is not an ISO 8601 time like 2026-11-22T10:00:00Z."
        ) from None


class AuditHandler(JSONAPIHandler):
    """List audit entries, newest first."""

    async def get(self) -> None:
        """Filters: ``user``, ``action`` (prefix), ``result``, ``model``, ``since``, ``until``.

        Paginated with ``max_results`` (default 100) and ``page_token``.
        """
        self.require_scope(AUDIT_READ)
        arg = self.get_query_argument
        self.write_json(
            audit.search(
                self.context.engine,
                user=arg("user", None),
                action=arg("action", None),
                result=arg("result", None),
                model=arg("model", None),
                since=_time(arg("since", None), "since"),
                until=_time(arg("until", None), "until"),
                max_results=page_size(self),
                page_token=arg("page_token", None),
            )
        )


routes = [(r"api/audit", AuditHandler)]
