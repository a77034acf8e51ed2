"""``api/drift/checks/<id>/report``: a check's Evidently HTML report, served sandboxed."""

from __future__ import annotations

from typing import Any

from .. import store
from ..report import REPORT_HEADERS, read_report
from .common import CHECK_ID, READ, DriftAPIHandler

__all__ = ["routes"]


class ReportHandler(DriftAPIHandler):
    """``GET`` the report (``text/html``, :data:`..report.REPORT_CSP`); 404 without one."""

    async def get(self, check_id: str) -> None:
        """Answer the HTML."""
        self.require_scope(READ)

        def load() -> bytes:
            with self.context.engine.connect() as conn:
                store.get_check(conn, int(check_id))
            return read_report(self.drift.settings.reports_dir, int(check_id))

        html = await self.blocking(load)
        for name, value in REPORT_HEADERS.items():
            self.set_header(name, value)
        self.finish(html)


routes: list[tuple[str, Any]] = [(rf"api/drift/checks/{CHECK_ID}/report", ReportHandler)]
