"""The platform service asking its own REST API over loopback, with the caller's token.

One capability does not import another: when the models resources need a job
run (a replay re-runs the job run that made a version), they ask the jobs API
of this same service over loopback HTTP with the caller's own token, so the
jobs capability decides what the caller may do (its 403 is the answer), and
audits it as theirs. The drift capability's retraining does the same
(:mod:`nbplatform_drift.retrain`).
"""

from __future__ import annotations

import json
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from nbplatform.errors import NbplatformError, UnauthenticatedError, UnavailableError

#: Seconds a loopback call may take.
TIMEOUT = 60


class PassedOnError(NbplatformError):
    """Another resource of the service refused: its status, message and code, passed on."""

    def __init__(self, status: int, message: str, error_code: str | None = None) -> None:
        super().__init__(message, error_code)
        self.http_status = status


def service_url(settings: Any, fallback: str | None = None) -> str:
    """The service's own base URL on loopback (ends with ``/``).

    Args:
        settings: The service's settings (``host``, ``port``, ``prefix``), or ``None``.
        fallback: The URL to use when the service has no settings (``NBP_PLATFORM_URL``
            of a service built in a test).

    Raises:
        UnavailableError: The service was built without settings and no fallback.
    """
    if settings is None:
        if fallback:
            return fallback if fallback.endswith("/") else fallback + "/"
        raise UnavailableError("The platform service has no settings: it cannot call itself.")
    host = settings.host or "127.0.0.1"
    if host in ("0.0.0.0", "*"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    prefix = settings.prefix if settings.prefix.endswith("/") else settings.prefix + "/"
    return f"http://{host}:{settings.port}{prefix}"


def decode(body: bytes | None) -> tuple[Any, str, str | None]:
    """``(value, message, error_code)`` of an answer's JSON body (``{}`` when it is none)."""
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        return {}, "", None
    if not isinstance(value, dict):
        return value, "", None
    code = value.get("error_code")
    return value, str(value.get("message") or ""), code if isinstance(code, str) else None


def refusal(status: int, body: bytes | None, what: str) -> NbplatformError:
    """The error for an answer that is not a success: 4xx passed on, anything else 502.

    Args:
        status: The answer's status.
        body: Its body (``{"message", "error_code"}``).
        what: What was asked, for the message (``the jobs API``).
    """
    _, message, code = decode(body)
    if 400 <= status < 500:
        return PassedOnError(status, message or f"{what} answered {status}.", code)
    return NbplatformError(f"{what} failed (HTTP {status}): {message}"[:2000])


async def call(
    handler: Any, method: str, path: str, body: Any = None, agent: str = "nbplatform"
) -> tuple[int, Any, bytes]:
    """Call ``<service>/<path>`` as the caller of ``handler`` (their token).

    Args:
        handler: The request being answered (an ``APIHandler``).
        method: ``GET`` or ``POST``.
        path: Below the service prefix, e.g. ``api/runs/<id>/rerun`` (percent-encoded).
        body: JSON body of a ``POST``.
        agent: ``User-Agent``, naming who asks in the audit log.

    Returns:
        ``(status, decoded JSON, raw body)``.

    Raises:
        UnauthenticatedError: The caller's token cannot be passed on.
        NbplatformError: The service could not be reached (502).
    """
    token = handler.hub_auth.get_token(handler)
    if not token:
        raise UnauthenticatedError(
            "This action calls the platform with your own token: send "
            "'Authorization: token <token>'."
        )
    headers = {"Authorization": f"token {token}", "User-Agent": agent}
    forwarded = handler.request.headers.get("X-Forwarded-For")
    if forwarded:  # the other resource's audit sees the caller's address, as this one did
        headers["X-Forwarded-For"] = forwarded
    kwargs: dict[str, Any] = {}
    if method != "GET":
        headers["Content-Type"] = "application/json"
        kwargs["body"] = json.dumps(body if body is not None else {})
    request = HTTPRequest(
        service_url(handler.context.settings) + path,
        method=method,
        headers=headers,
        request_timeout=TIMEOUT,
        follow_redirects=False,
        **kwargs,
    )
    response = await AsyncHTTPClient().fetch(request, raise_error=False)
    if response.code == 599:
        raise NbplatformError(f"The platform service could not reach itself: {response.error}")
    value, _, _ = decode(response.body)
    return response.code, value, response.body or b""
