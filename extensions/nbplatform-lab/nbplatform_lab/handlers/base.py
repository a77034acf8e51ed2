"""The base of every handler: where domain errors become HTTP answers, in one place."""

from __future__ import annotations

import json
import os
from types import TracebackType
from typing import Any

from jupyter_server.base.handlers import APIHandler
from tornado.web import HTTPError

from nbplatform.errors import (
    ConfigurationError,
    ConflictError,
    InvalidParameterError,
    NbplatformError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
    UnavailableError,
)

from ..errors import PlatformRefusal, UpstreamError
from ..platform_client import PlatformServiceClient

#: The settings key under which the extension keeps its platform client.
PLATFORM_CLIENT_KEY = "nbplatform_lab_platform"

#: Domain error -> HTTP status. The first match wins, so subclasses come first.
_STATUS_BY_ERROR: tuple[tuple[type[NbplatformError], int], ...] = (
    (InvalidParameterError, 400),
    (ConfigurationError, 400),
    (UnauthenticatedError, 403),  # the browser is signed in; the platform refused
    (PermissionDeniedError, 403),
    (NotFoundError, 404),
    (ConflictError, 409),
    (UpstreamError, 502),
    (UnavailableError, 503),
)

_CODE_BY_STATUS: dict[int, str] = {
    400: "INVALID_PARAMETER_VALUE",
    403: "PERMISSION_DENIED",
    404: "RESOURCE_DOES_NOT_EXIST",
    405: "METHOD_NOT_ALLOWED",
    409: "RESOURCE_CONFLICT",
}

INTERNAL_ERROR_MESSAGE = (
    "The nbplatform server extension failed unexpectedly; the Jupyter server's log has the "
    "details. Please report it to a platform admin."
)


def http_status_for(error: BaseException) -> int:
    """Return the HTTP status that answers ``error``.

    Args:
        error: An exception raised while handling a request.

    Returns:
        400 bad input, 403 not allowed, 404 missing, 409 conflict, 502 upstream
        unreachable, 503 platform not configured, the status of a tornado
        ``HTTPError``, else 500.
    """
    if isinstance(error, HTTPError):
        return error.status_code
    if isinstance(error, PlatformRefusal):
        return error.http_status
    for error_type, status in _STATUS_BY_ERROR:
        if isinstance(error, error_type):
            return status
    return 500


def error_body(error: BaseException | None, status: int, reason: str) -> dict[str, str]:
    """Return the JSON body ``{"message", "error_code"}`` that answers ``error``.

    Args:
        error: The exception, or ``None`` when an error status was sent without one.
        status: The HTTP status being answered.
        reason: The HTTP reason phrase, used when there is nothing better to say.

    Returns:
        The body; unexpected errors get a generic message (their traceback goes to
        the log, never to the browser).
    """
    if isinstance(error, NbplatformError):
        return {"message": error.message, "error_code": error.error_code}
    if status >= 500:
        return {"message": INTERNAL_ERROR_MESSAGE, "error_code": "INTERNAL_ERROR"}
    message = reason
    if isinstance(error, HTTPError) and error.log_message:
        message = error.log_message % error.args if error.args else error.log_message
    return {"message": message, "error_code": _CODE_BY_STATUS.get(status, "HTTP_ERROR")}


class PlatformAPIHandler(APIHandler):
    """An API handler of the extension: JSON in and out, domain errors mapped to HTTP.

    Subclasses implement ``async`` verbs decorated with ``@tornado.web.authenticated``
    and raise :class:`~nbplatform.errors.NbplatformError` subclasses; this class
    turns them into the right status with a ``{"message", "error_code"}`` body.
    """

    def platform(self) -> PlatformServiceClient:
        """Return the platform client, for the owner of this server only.

        The client calls the platform with this server's own hub token, that is as
        the server's owner; a user the server is shared with must not act as them.

        Raises:
            PermissionDeniedError: The signed-in user is not this server's owner.
        """
        owner = os.environ.get("JUPYTERHUB_USER")
        user = self.current_user
        username = getattr(user, "username", None)
        if owner and username != owner:
            raise PermissionDeniedError(
                f"This server belongs to {owner} and calls the platform as {owner}; "
                f"only {owner} can use its platform panel. Use your own server instead."
            )
        return self.settings[PLATFORM_CLIENT_KEY]

    def write_json(self, data: Any) -> None:
        """Finish the request with ``data`` as its JSON body."""
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))

    def log_exception(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Log domain errors in one line; anything unexpected with its traceback."""
        if isinstance(value, NbplatformError):
            self.log.warning(
                "%s %s -> %s %s: %s",
                self.request.method,
                self.request.uri,
                http_status_for(value),
                value.error_code,
                value.message,
            )
            return
        super().log_exception(typ, value, tb)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Answer an error as ``{"message", "error_code"}`` with its mapped status."""
        exc_info = kwargs.get("exc_info")
        error = exc_info[1] if exc_info else None
        status = http_status_for(error) if error is not None else status_code
        if status != status_code:
            self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(error_body(error, status, self._reason)))
