"""The one place where errors become HTTP responses.

Domain errors (:class:`nbplatform.errors.NbplatformError`) carry their HTTP
status; tornado's ``HTTPError`` keeps its own; pydantic validation errors are bad
input (400); database errors get a status by kind (conflict 409, bad value 400,
busy 503) and a fixed message, never the SQL statement; anything else is a 500
whose traceback is logged, never sent. An upstream failure that nobody
classified (e.g. MLflow answering 500) is a 502: the platform itself did not fail.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, SQLAlchemyError
from tornado.web import HTTPError

from nbplatform.errors import NbplatformError

_CODES = {
    400: "INVALID_PARAMETER_VALUE",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "RESOURCE_DOES_NOT_EXIST",
    405: "METHOD_NOT_ALLOWED",
    409: "RESOURCE_CONFLICT",
    502: "BAD_GATEWAY",
    503: "TEMPORARILY_UNAVAILABLE",
}

#: Database errors: (kind, status, message). The first match wins.
_DATABASE = (
    (IntegrityError, 409, "The change conflicts with what is stored (it exists already?)."),
    (DataError, 400, "A value does not fit what the database stores (too long, out of range)."),
    (OperationalError, 503, "The platform database is busy or unreachable; try again shortly."),
    (SQLAlchemyError, 500, "Internal error: the platform service logged the details."),
)

#: Where a message starts to quote SQL or driver internals (SQLAlchemy's wording).
_SQL = re.compile(r"\s*(\[SQL:|\(Background on this error|\(sqlite3\.|\(psycopg)", re.DOTALL)

#: The most of a message sent to the client.
MAX_MESSAGE = 2000


def scrub(message: str) -> str:
    """Cut a message where it starts quoting SQL, and keep it short.

    Args:
        message: A message about to be sent to a client.

    Returns:
        The message without SQL statements or parameters.
    """
    match = _SQL.search(message)
    if match:
        message = message[: match.start()].rstrip() or "The database refused the request."
    return message if len(message) <= MAX_MESSAGE else message[:MAX_MESSAGE] + "..."


def _database(error: BaseException) -> tuple[int, str] | None:
    for kind, status, message in _DATABASE:
        if isinstance(error, kind):
            return status, message
    return None


def error_body(error: BaseException | None, status: int) -> dict[str, Any]:
    """Return the JSON body for an error: ``{"message", "error_code", "status"}``.

    Args:
        error: The exception that ended the request, if any.
        status: The status tornado chose (used for errors it raised itself).

    Returns:
        The JSON body.
    """
    if isinstance(error, NbplatformError):
        code = _CODES[502] if status == 502 else error.error_code
        return {"message": scrub(error.message), "error_code": code, "status": status}
    if isinstance(error, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in error.errors()
        )
        return {"message": scrub(problems), "error_code": _CODES[400], "status": status}
    database = _database(error) if error is not None else None
    if database is not None:
        code = _CODES.get(database[0], "INTERNAL_ERROR")
        return {"message": database[1], "error_code": code, "status": status}
    if isinstance(error, HTTPError):
        message = error.log_message or error.reason or "error"
        if error.args and error.log_message:
            message = error.log_message % error.args
        return {
            "message": scrub(message),
            "error_code": _CODES.get(status, "ERROR"),
            "status": status,
        }
    if error is None and status < 500:
        # tornado's own refusals (405, a malformed request) carry no exception here
        return {
            "message": f"HTTP {status}",
            "error_code": _CODES.get(status, "ERROR"),
            "status": status,
        }
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
        if error.http_status >= 500 and type(error) is NbplatformError:
            return 502  # an upstream's failure passed on unclassified
        return error.http_status
    if isinstance(error, ValidationError):
        return 400
    database = _database(error) if error is not None else None
    if database is not None:
        return database[0]
    if isinstance(error, HTTPError):
        return error.status_code
    return default
