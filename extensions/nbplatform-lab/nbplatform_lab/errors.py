"""Errors of the nbplatform_lab server extension, on top of :mod:`nbplatform.errors`."""

from __future__ import annotations

from nbplatform.errors import NbplatformError


class UpstreamError(NbplatformError):
    """A service this server calls (the platform service) is unreachable or failed.

    Answered to the browser as ``502 Bad Gateway``: the request was fine, the
    service behind this server was not.
    """

    error_code = "UPSTREAM_UNAVAILABLE"
    http_status = 502


class PlatformRefusal(NbplatformError):
    """The platform service refused the request with a 4xx no other error stands for.

    A 405, 413, 414 or 431, say: answered with the service's own status and
    message, since the request was wrong, not the service (never a 502).
    """

    error_code = "INVALID_REQUEST"

    def __init__(self, message: str, error_code: str | None, status: int) -> None:
        super().__init__(message, error_code)
        self.http_status = status
