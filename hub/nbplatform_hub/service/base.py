"""Base handlers of the platform service: hub authentication, scopes, JSON errors."""

from __future__ import annotations

import json
from typing import Any

from jupyterhub.services.auth import HubOAuthenticated, UserNotAllowed
from tornado.log import app_log
from tornado.web import HTTPError, RequestHandler

from nbplatform.errors import NbplatformError, PermissionDeniedError, UnauthenticatedError

from ..roles import nbplatform_scopes
from .errors import error_body, status_for


class PlatformHandler(HubOAuthenticated, RequestHandler):
    """A handler of the platform service; errors are written as JSON in one place."""

    @property
    def context(self) -> Any:
        """The service's shared objects (database engine, hub client, settings)."""
        return self.settings["nbp_context"]

    def write_json(self, data: Any, status: int = 200) -> None:
        """Send ``data`` as a JSON response."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps(data, default=str))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Write every error as ``{"message", "error_code", "status"}``."""
        error = kwargs["exc_info"][1] if "exc_info" in kwargs else None
        status = status_for(error, status_code)
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps(error_body(error, status)))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Log domain errors in one line; anything else with its traceback."""
        if isinstance(value, NbplatformError):
            app_log.warning("%s %s: %s", self.request.method, self.request.path, value.message)
        else:
            super().log_exception(typ, value, tb)


class APIHandler(PlatformHandler):
    """A REST handler: every request must carry a valid hub token or login cookie."""

    user: dict[str, Any]

    async def prepare(self) -> None:
        """Identify the caller; refuse with 401 (no valid token) or 403 (not allowed)."""
        model = await self.hub_auth.get_user(self, sync=False)
        if not model:
            raise UnauthenticatedError(
                "A valid JupyterHub token is required: send 'Authorization: token <token>' "
                "or log in to the hub."
            )
        try:
            allowed = self.check_hub_user(model)
        except UserNotAllowed:
            allowed = None
        if not allowed:
            raise PermissionDeniedError(
                f"{model.get('kind', 'user')} {model['name']} may not use the platform service: "
                "the token lacks the 'access:services!service=platform' scope."
            )
        self.user = allowed
        self._hub_auth_user_cache = allowed

    def get_current_user(self) -> dict[str, Any] | None:
        """Return the caller identified in :meth:`prepare`."""
        return getattr(self, "user", None)

    @property
    def scopes(self) -> list[str]:
        """The platform scopes of the caller's token."""
        return nbplatform_scopes(self.user.get("scopes", []))

    def require_scope(self, scope: str) -> None:
        """Refuse the request unless the caller's token has ``scope``.

        Raises:
            PermissionDeniedError: The scope is missing.
        """
        if scope not in self.user.get("scopes", []):
            raise PermissionDeniedError(
                f"{self.user['name']} lacks the scope {scope}: ask a platform admin to put "
                "you in a group that grants it."
            )

    def check_xsrf_cookie(self) -> None:
        """Token-authenticated API calls need no XSRF token; cookie ones do."""
        if getattr(self, "_token_authenticated", False):
            return
        super().check_xsrf_cookie()


class NotFoundHandler(PlatformHandler):
    """Any other path under the service: 404 as JSON (after authentication)."""

    async def prepare(self) -> None:  # noqa: D102
        model = await self.hub_auth.get_user(self, sync=False)
        if not model:
            raise UnauthenticatedError("A valid JupyterHub token is required.")
        raise HTTPError(404, "No such platform API resource: %s", self.request.path)
