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
