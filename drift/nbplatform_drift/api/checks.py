"""``api/drift/monitors/<name>/checks`` and ``api/drift/checks/<id>``: record and read checks.

A check's body carries the columns' results and, optionally, Evidently's HTML
report, which may be far larger than the 1 MiB JSON bodies of other resources:
this resource reads up to ``NBP_DRIFT_MAX_REPORT_BYTES`` of report (64 MiB by
default) and the rest of the check.
"""

from __future__ import annotations

import contextlib
from typing import Any

from nbplatform.errors import InvalidParameterError
from nbplatform_hub import host

from .. import notices, store
from ..models import CheckCreate
from ..status import Transition, check_status, transition
from .common import CHECK_ID, NAME, READ, DriftAPIHandler

__all__ = ["routes"]


class BodyTooLarge(InvalidParameterError):
    """A check's body is larger than this service accepts."""


def record(
    handler: DriftAPIHandler, name: str, body: CheckCreate, origin: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], Transition]:
    """Store a check, its report and the monitor's new status in one transaction (blocking).

    Returns:
        ``(check, monitor, transition)`` rows as committed.
    """
    folder = handler.drift.settings.reports_dir
    columns = [c.model_dump() for c in body.columns]
    status = check_status(body.dataset_drift, columns)
    now = store.utcnow()
    written = None
    try:
        with handler.context.engine.begin() as conn:
            monitor = store.get_monitor(conn, name)
            check = store.insert_check(
                conn,
                monitor["id"],
                {
                    "created_at": now,
                    "created_by": handler.user["name"],
                    "status": status,
                    "dataset_drift": body.dataset_drift,
                    "drift_share": body.drift_share,
                    "threshold_share": body.threshold_share,
                    "n_columns": len(columns),
                    "n_drifted": sum(1 for c in columns if c["drifted"]),
                    "reference_rows": body.reference_rows,
                    "current_rows": body.current_rows,
                    "sampled_rows": body.sampled_rows,
                    "window_start": store.naive(body.window_start),
                    "window_end": store.naive(body.window_end),
                    "columns": columns,
                    "importance": body.importance,
                    "model_version": body.model_version,
                    "has_report": body.report_html is not None,
                    "job_id": origin.get("job_id"),
                    "job_run_id": origin.get("run_id"),
                },
            )
            if body.report_html is not None:
                written = store.write_report(folder, check["id"], body.report_html)
            change = transition(monitor, status, check["id"], now)
            monitor = store.set_values(conn, monitor, **change.values)
    except BaseException:
        if written is not None:
            with contextlib.suppress(OSError):
                written.unlink()
        raise
    return check, monitor, change


class CheckListHandler(DriftAPIHandler):
    """``GET`` a monitor's checks (newest first); ``POST`` records one (owner or drift admin)."""

    def check_declared_body(self) -> None:  # type: ignore[override]
        """Accept JSON up to the checks' limit (a report and the rest).

        Raises:
            InvalidParameterError: Another content type, or a size over the limit.
        """
        self._body_bytes = bytearray()
        limit = self.drift.settings.max_check_bytes
        # tornado's own limit (100 MB by default) would cut a large report short.
        self.request.connection.set_max_body_size(limit + 1)
        headers = self.request.headers
        declared = headers.get("Content-Length")
        if declared is not None:
            if not declared.strip().isdigit() or not declared.isascii():
                raise InvalidParameterError("Content-Length: not a number of bytes.")
            if int(declared) > limit:
                self.body_refused = f"body of {declared} bytes over {limit}"
                raise BodyTooLarge(
                    f"body: {declared} bytes is larger than the {limit} bytes a check may be "
                    "(NBP_DRIFT_MAX_REPORT_BYTES); make the report on fewer rows."
                )
        kind, _, params = headers.get("Content-Type", "").partition(";")
        charset = params.strip().lower().removeprefix("charset=").strip('"')
        has_body = int(declared or 0) > 0 or "Transfer-Encoding" in headers
        not_json = kind.strip().lower() != "application/json" or charset not in ("", "utf-8")
        if has_body and headers.get("Content-Type") is not None and not_json:
            raise InvalidParameterError(
                f"Content-Type: {headers.get('Content-Type', '')[:100]!r} is not accepted; "
                "send the check as 'application/json' (UTF-8)."
            )

    def data_received(self, chunk: bytes) -> None:  # type: ignore[override]
        """Keep the body up to the checks' limit; past it, drop it and answer 400."""
        if self._body_bytes is None:
            return
        if len(self._body_bytes) + len(chunk) > self.drift.settings.max_check_bytes:
            self._body_bytes = None
            self.body_refused = "body over the checks' limit"
            self._body_error = BodyTooLarge(
                "body: larger than a check may be (NBP_DRIFT_MAX_REPORT_BYTES); "
                "make the report on fewer rows."
            )
            return
        self._body_bytes += chunk

    def check_body(self) -> CheckCreate:
        """The body as a check (strict JSON, up to the checks' limit).

        Raises:
            InvalidParameterError: Not a JSON object, or the report is too large.
            pydantic.ValidationError: Not a check (400).
        """
        value = host.parse_json(self._received(), max_bytes=self.drift.settings.max_check_bytes)
        if not isinstance(value, dict):
            raise InvalidParameterError(f"body: must be a JSON object, not {type(value).__name__}.")
        body = CheckCreate.model_validate(value)
        limit = self.drift.settings.max_report_bytes
        if body.report_html is not None and len(body.report_html.encode("utf-8")) > limit:
            raise BodyTooLarge(
                f"report_html: larger than {limit} bytes (NBP_DRIFT_MAX_REPORT_BYTES); "
                "make the report on fewer rows."
            )
        return body

    async def get(self, name: str) -> None:
        """Return ``{"checks": [CheckSummary], "next_page_token"}``."""
        self.require_scope(READ)
        max_results, offset = self.paging()

        def page() -> tuple[list[dict[str, Any]], bool]:
            with self.context.engine.connect() as conn:
                monitor = store.get_monitor(conn, name)
                rows, more = store.list_checks(conn, monitor["id"], max_results, offset)
            return [store.check_summary(r, name) for r in rows], more

        summaries, more = await self.blocking(page)
        token = str(offset + max_results) if more else None
        self.write_json({"checks": summaries, "next_page_token": token})

    async def post(self, name: str) -> None:
        """Record a check: 201 with it; a change of status notifies, after the commit."""
        self.require_writer()
        body = self.check_body()  # a hostile body is refused before any lookup
        with self.context.engine.connect() as conn:
            monitor = store.get_monitor(conn, name)
        self.require_owner(monitor)
        origin = await self.blocking(
            host.token_origin, self.context.engine, self.user.get("token_id")
        )
        check, monitor, change = await self.blocking(record, self, name, body, origin)
        self.audit_detail = f"check {check['id']}: {change.previous} -> {change.status}"
        if change.notify and (monitor["webhooks"] or monitor["emails"]):
            self.drift.in_background(
                notices.send,
                self.context.engine,
                monitor,
                check,
                change.previous,
                self.drift.settings.platform_url,
            )
        self.write_json(store.check_model(check, name), status=201)


class CheckHandler(DriftAPIHandler):
    """``GET api/drift/checks/<id>``: one check, columns ranked by importance-weighted drift."""

    async def get(self, check_id: str) -> None:
        """Return the check."""
        self.require_scope(READ)

        def load() -> dict[str, Any]:
            with self.context.engine.connect() as conn:
                check, monitor = store.get_check(conn, int(check_id))
            return store.check_model(check, monitor["name"])

        self.write_json(await self.blocking(load))


routes = [
    (rf"api/drift/monitors/{NAME}/checks", CheckListHandler),
    (rf"api/drift/checks/{CHECK_ID}", CheckHandler),
]
