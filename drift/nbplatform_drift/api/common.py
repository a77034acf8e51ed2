"""What the drift handlers share: scopes, ownership, paging, blocking work off the loop."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from tornado.ioloop import IOLoop

from nbplatform.errors import InvalidParameterError, PermissionDeniedError
from nbplatform_hub import host
from nbplatform_hub.host import AuditedAPIHandler

from ..models import NAME_PATTERN
from ..state import DriftState

READ, WRITE, ADMIN = host.DRIFT_READ, host.DRIFT_WRITE, host.DRIFT_ADMIN
#: A monitor's name in a route.
NAME = rf"(?P<name>{NAME_PATTERN})"
#: A check's id in a route (longer numbers match no route: 404).
CHECK_ID = r"(?P<check_id>[0-9]{1,18})"
#: Path segments after a monitor's name that name an action (for the audit).
ACTIONS = ("checks", "acknowledge", "mute", "watch", "retrain")

T = TypeVar("T")


class DriftAPIHandler(AuditedAPIHandler):
    """Base of the drift handlers; every write (allowed or refused) is audited."""

    @property
    def audit_action(self) -> str:  # type: ignore[override]
        """``drift:<resource>:<verb>``: ``drift:monitors:post``, ``drift:mute:delete``..."""
        parts = self.request.path.split("/api/drift/", 1)[-1].split("/")
        resource = parts[0] or "drift"
        if resource == "monitors" and len(parts) > 2 and parts[2] in ACTIONS:
            resource = parts[2]
        return f"drift:{resource}:{(self.request.method or '').lower()}"

    @property
    def drift(self) -> DriftState:
        """Drift monitoring's state in this service (:mod:`..capability`)."""
        return self.context.state["drift"]

    def is_admin(self) -> bool:
        """Whether the caller may change, mute, acknowledge and delete every monitor."""
        return ADMIN in self.user.get("scopes", [])

    def require_writer(self) -> None:
        """Refuse unless the caller may change monitors at all (write scope, or drift admin).

        Checked before the body is read; :meth:`require_owner` follows once the
        monitor is loaded.

        Raises:
            PermissionDeniedError: The write scope is missing.
        """
        if not self.is_admin():
            self.require_scope(WRITE)

    def require_owner(self, monitor: Mapping[str, Any]) -> None:
        """Refuse unless the caller owns ``monitor`` (with the write scope) or is a drift admin.

        Raises:
            PermissionDeniedError: Saying who may.
        """
        if self.is_admin():
            return
        self.require_scope(WRITE)
        if self.user["name"] != monitor["owner"]:
            raise PermissionDeniedError(
                f"{self.user['name']} may not change {monitor['owner']}'s drift monitor "
                f"{monitor['name']!r}: only its owner ({monitor['owner']}) and drift admins "
                "(platform admins) may."
            )

    async def blocking(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``function`` (database work, name resolution) on the capability's threads."""
        call = functools.partial(function, *args, **kwargs)
        return await IOLoop.current().run_in_executor(self.drift.executor, call)

    def paging(self) -> tuple[int, int]:
        """``(max_results, offset)`` of a list request.

        Raises:
            InvalidParameterError: Not a ``page_token`` these resources hand out.
        """
        max_results = host.page_size(self)
        token = host.page_token(self)
        if token is None:
            return max_results, 0
        if not (token.isascii() and token.isdigit()) or len(token) > 12:
            raise InvalidParameterError("page_token: not a token from a previous page.")
        return max_results, int(token)

    def flag(self, name: str) -> bool:
        """A boolean query argument (``1``/``0``/``true``/``false``, default false).

        Raises:
            InvalidParameterError: Another value.
        """
        raw = self.get_query_argument(name, "0").lower()
        if raw not in ("1", "0", "true", "false"):
            raise InvalidParameterError(f"{name}: {raw[:20]!r} is not 1 or 0.")
        return raw in ("1", "true")
