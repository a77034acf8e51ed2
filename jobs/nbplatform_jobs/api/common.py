"""What the jobs and runs handlers share: scopes, ownership checks, paging arguments."""

from __future__ import annotations

import json
from typing import Any

from nbplatform.errors import InvalidParameterError, PermissionDeniedError
from nbplatform_hub.service.audited import AuditedAPIHandler

from ..db import upgrade
from ..settings import JobsSettings

READ = "custom:nbplatform:jobs:read"
WRITE = "custom:nbplatform:jobs:write"
ADMIN = "custom:nbplatform:jobs:admin"

_migrated: set[int] = set()


def setup(context: Any) -> None:
    """Migrate the jobs tables (once per engine) when the service starts."""
    if id(context.engine) not in _migrated:
        upgrade(context.engine, context.home)
        _migrated.add(id(context.engine))


class JobsAPIHandler(AuditedAPIHandler):
    """Base of the jobs handlers; every write (allowed or refused) is audited."""

    @property
    def audit_action(self) -> str:  # type: ignore[override]
        """``jobs:<verb>`` or ``runs:<verb>``, from the resource the path names."""
        resource = "runs" if "/api/runs" in self.request.path else "jobs"
        return f"{resource}:{(self.request.method or '').lower()}"

    @property
    def audit_resource(self) -> str:  # type: ignore[override]
        """The path below ``api/``, e.g. ``jobs/12/runs``."""
        return self.request.path.split("/api/", 1)[-1]

    async def prepare(self) -> None:
        """Authenticate (see :class:`APIHandler`), then make sure the tables exist."""
        await super().prepare()
        setup(self.context)

    @property
    def jobs_settings(self) -> JobsSettings:
        """Where runs are kept (``NBP_HOME/jobs``)."""
        return JobsSettings(home=self.context.home)

    def is_admin(self) -> bool:
        """Whether the caller may manage every job."""
        return ADMIN in self.user.get("scopes", [])

    def require_manage(self, owner: str) -> None:
        """Refuse unless the caller owns the job (with the write scope) or is a jobs admin.

        Raises:
            PermissionDeniedError: Naming the owner.
        """
        if self.is_admin():
            return
        self.require_scope(WRITE)
        if self.user["name"] != owner:
            raise PermissionDeniedError(
                f"{self.user['name']} may not manage {owner}'s jobs: only their owner "
                "and platform admins may."
            )

    def json_body(self) -> dict[str, Any]:
        """The request body as a JSON object (empty body: ``{}``).

        Raises:
            InvalidParameterError: Not a JSON object.
        """
        if not self.request.body:
            return {}
        try:
            body = json.loads(self.request.body)
        except ValueError:
            raise InvalidParameterError("body: not valid JSON.") from None
        if not isinstance(body, dict):
            raise InvalidParameterError("body: must be a JSON object.")
        return body

    def paging(self) -> tuple[int, str | None]:
        """``max_results`` (1-1000, default 100) and ``page_token`` from the query.

        Raises:
            InvalidParameterError: ``max_results`` out of range.
        """
        raw = self.get_query_argument("max_results", "100")
        try:
            max_results = int(raw)
        except ValueError:
            raise InvalidParameterError(f"max_results: {raw!r} is not a number.") from None
        if not 1 <= max_results <= 1000:
            raise InvalidParameterError("max_results: must be between 1 and 1000.")
        return max_results, self.get_query_argument("page_token", None) or None
