"""Serving a check's Evidently report: HTML that runs sandboxed, in no origin of the platform.

Evidently's report needs its inline scripts (the plots), so the sandbox allows
scripts but not ``allow-same-origin``: the page runs in an opaque origin, can
reach nothing (``connect-src 'none'``, ``default-src 'none'``), send no form,
and may be framed only by the platform's own pages.
"""

from __future__ import annotations

from pathlib import Path

from nbplatform.errors import NotFoundError

from .store import report_path

#: The ``Content-Security-Policy`` of a report (the lab handler passes the same on).
REPORT_CSP = (
    "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'unsafe-inline'; img-src data:; font-src data:; connect-src 'none'; "
    "form-action 'none'; frame-ancestors 'self'"
)
#: Every header of a report's answer.
REPORT_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": REPORT_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def read_report(folder: Path, check_id: int) -> bytes:
    """The report of a check.

    Raises:
        NotFoundError: The check has no report.
    """
    try:
        return report_path(folder, check_id).read_bytes()
    except FileNotFoundError:
        raise NotFoundError(
            f"Drift check {check_id} has no report (it was recorded with report=False)."
        ) from None
