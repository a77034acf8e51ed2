"""The one place where errors become HTTP responses.

Domain errors (:class:`nbplatform.errors.NbplatformError`) carry their HTTP
status; tornado's ``HTTPError`` keeps its own; pydantic validation errors are bad
input (400); anything else is a 500 whose traceback is logged, never sent.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from tornado.web import HTTPError

from nbplatform.errors import NbplatformError

_CODES = {
    400: "INVALID_PARAMETER_VALUE",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "RESOURCE_DOES_NOT_EXIST",
    405: "METHOD_NOT_ALLOWED",
    409: "RESOURCE_CONFLICT",
    503: "TEMPORARILY_UNAVAILABLE",
}


def error_body(error: BaseException | None, status: int) -> dict[str, Any]:
    """Return ``(body)`` for an error: ``{"message", "error_code", "status"}``.

    Args:
        error: The exception that ended the request, if any.
        status: The status tornado chose (used for errors it raised itself).

    Returns:
        The JSON body.
    """
    if isinstance(error, NbplatformError):
        return {"message": error.message, "error_code": error.error_code, "status": status}
    if isinstance(error, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in error.errors()
        )
        return {"message": problems, "error_code": _CODES[400], "status": status}
    if isinstance(error, HTTPError):
        message = error.log_message or error.reason or "error"
        if error.args and error.log_message:
            message = error.log_message % error.args
        return {"message": message, "error_code": _CODES.get(status, "ERROR"), "status": status}
    return {
        "message": "Internal error: the platform service logged the details.",
        "error_code": "INTERNAL_ERROR",
        "status": status,
    }


def status_for(error: BaseException | None, default: int) -> int:
    """Return the HTTP status for ``error``.

    Args:
        error: The exception that ended the request, if any.
        default: The status to use when the error does not say.

    Returns:
        An HTTP status code.
    """
    if isinstance(error, NbplatformError):
        return error.http_status
    if isinstance(error, ValidationError):
        return 400
    if isinstance(error, HTTPError):
        return error.status_code
    return default
