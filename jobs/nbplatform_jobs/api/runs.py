"""``api/jobs/<id>/runs`` and ``api/runs``: run now, history, cancel, re-run, output, log."""

from __future__ import annotations

import json
import re
from typing import Any

from nbplatform.errors import ConflictError, InvalidParameterError, NotFoundError

from .. import store
from ..definitions import validate
from ..models import JobUpdate, RunRequest
from ..runlog import DEFAULT_PAGE, MAX_PAGE, read_page
from ..schema import FINAL_STATUSES, RUN_STATUSES
from .common import ID_PATTERN, READ, JobsAPIHandler, parent_run

__all__ = ["routes"]


class RunsMixin(JobsAPIHandler):
    """Run lookups shared by the run handlers."""

    def run_model(self, run: dict[str, Any]) -> dict[str, Any]:
        """The API model of ``run`` with live progress."""
        run_dir = self.jobs_settings.run_dir(run["job_id"], run["id"])
        model = store.run_model(run, run_dir)
        if "job_name" in run:
            model["job_name"], model["owner"] = run["job_name"], run["owner"]
        return model

    def load(self, run_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Return ``(run, job)``."""
        with self.context.engine.connect() as conn:
            run = store.get_run(conn, run_id)
            job = store.get_job(conn, run["job_id"])
        run["job_name"], run["owner"] = job["name"], job["owner"]
        return run, job


class JobRunsHandler(RunsMixin):
    """``GET`` a job's runs (newest first); ``POST`` runs it now."""

    async def get(self, job_id: str) -> None:
        """Return ``{"runs": [...], "next_page_token"}``."""
        self.require_scope(READ)
        max_results, token = self.paging()
        with self.context.engine.connect() as conn:
            store.get_job(conn, job_id)
            rows, next_token = store.list_runs(conn, job_id, None, None, max_results, token)
        self.write_json({"runs": [self.run_model(r) for r in rows], "next_page_token": next_token})

    async def post(self, job_id: str) -> None:
        """Queue a run now (parameters may be overridden for this run); 201 with it."""
        with self.context.engine.connect() as conn:
            job = store.get_job(conn, job_id)
        self.require_manage(job["owner"])
        body = self.json_body(RunRequest)
        token = body.idempotency_token
        if token and self.replay(job_id, token):
            return
        parameters = job["parameters"]
        if body.parameters is not None:
            parameters = {**job["parameters"], **body.parameters}
            check = JobUpdate(parameters=parameters)
            values = validate(self.context.home, job["owner"], [], check, job)
            parameters = values.get("parameters", parameters)
        with self.context.engine.begin() as conn:
            parent = parent_run(conn, job_id, self.user.get("token_id"))
            run = store.insert_run(
                conn,
                job,
                "manual",
                parameters,
                self.user["name"],
                idempotency_token=token,
                parent_run_id=parent,
            )
        if run is None and token and self.replay(job_id, token):  # the same request, at once
            return
        assert run is not None
        run["job_name"], run["owner"] = job["name"], job["owner"]
        self.write_json(self.run_model(run), status=201)

    def replay(self, job_id: str, token: str) -> bool:
        """Answer a retried "run now" (same idempotency token) with the run it made."""
        with self.context.engine.connect() as conn:
            run = store.run_by_token(conn, job_id, token)
            if run is None:
                return False
            job = store.get_job(conn, job_id)
        run["job_name"], run["owner"] = job["name"], job["owner"]
        self.set_header("Idempotent-Replayed", "true")
        self.write_json(self.run_model(run), status=200)
        return True


class RunListHandler(RunsMixin):
    """``GET api/runs``: runs of every job, filtered by ``owner``, ``status``, ``job_id``."""

    async def get(self) -> None:
        """Return ``{"runs": [...], "next_page_token"}`` (newest first)."""
        self.require_scope(READ)
        max_results, token = self.paging()
        status = self.get_query_argument("status", None)
        if status and status not in RUN_STATUSES:
            raise InvalidParameterError(
                f"status: {status[:40]!r} is not one of {', '.join(RUN_STATUSES)}."
            )
        with self.context.engine.connect() as conn:
            rows, next_token = store.list_runs(
                conn,
                self.get_query_argument("job_id", None),
                self.get_query_argument("owner", None),
                status,
                max_results,
                token,
            )
        self.write_json({"runs": [self.run_model(r) for r in rows], "next_page_token": next_token})


class RunHandler(RunsMixin):
    """``GET api/runs/<id>``: one run with its live progress."""

    async def get(self, run_id: str) -> None:
        """Return the run."""
        self.require_scope(READ)
        run, _ = self.load(run_id)
        self.write_json(self.run_model(run))


class RunCancelHandler(RunsMixin):
    """``POST api/runs/<id>/cancel``: stop a queued or running run.

    A queued run is cancelled at once; a running one is stopped by the scheduler
    (its kernel with it) within a second.
    """

    async def post(self, run_id: str) -> None:
        """Return the run (status ``cancelled``, or ``running`` with ``cancel_requested``)."""
        run, job = self.load(run_id)
        self.require_manage(job["owner"])
        self.no_body()
        if run["status"] in FINAL_STATUSES:
            raise ConflictError(f"Run {run_id} has already ended ({run['status']}).")
        with self.context.engine.begin() as conn:
            store.cancel_run(conn, run_id)
        run, _ = self.load(run_id)
        self.write_json(self.run_model(run))


class RunRerunHandler(RunsMixin):
    """``POST api/runs/<id>/rerun``: a new run with the same input snapshot and parameters."""

    async def post(self, run_id: str) -> None:
        """Return the new run (201)."""
        run, job = self.load(run_id)
        self.require_manage(job["owner"])
        self.no_body()
        source = run["source_run_id"] or run["id"]
        snapshot = self.jobs_settings.run_dir(run["job_id"], source) / "input.ipynb"
        if run["started_at"] is not None and not snapshot.is_file():
            # A re-run repeats exactly what ran, and the workspace's notebook may have
            # changed since (a run that never started takes it from there, as it would have).
            raise ConflictError(
                f"Run {run_id} cannot be re-run: its input snapshot was removed "
                "(run the job again instead)."
            )
        with self.context.engine.begin() as conn:
            new = store.insert_run(
                conn,
                job,
                "rerun",
                run["parameters"],
                self.user["name"],
                source_run_id=source,
                parent_run_id=parent_run(conn, job["id"], self.user.get("token_id")),
            )
        assert new is not None
        new["job_name"], new["owner"] = job["name"], job["owner"]
        self.write_json(self.run_model(new), status=201)


class RunOutputHandler(RunsMixin):
    """``GET api/runs/<id>/output``: the executed notebook (JSON), also of failed runs."""

    async def get(self, run_id: str) -> None:
        """Return the output notebook as JSON (404 before the run wrote one)."""
        self.require_scope(READ)
        run, job = self.load(run_id)
        self.require_read_outputs(job)
        path = self.jobs_settings.run_dir(run["job_id"], run_id) / "output.ipynb"
        try:
            notebook = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise NotFoundError(
                f"Run {run_id} has no output notebook yet ({run['status']})."
            ) from None
        except (OSError, ValueError):
            raise NotFoundError(
                f"Run {run_id}'s output notebook is being written or is damaged "
                f"({run['status']}); try again when the run has ended."
            ) from None
        self.write_json(notebook)


#: Headers of a rendered output: the owner's HTML runs nowhere (no scripts, its own
#: origin), whoever opens it.
_HTML_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": "sandbox; default-src 'none'; style-src 'unsafe-inline'; "
    "img-src data:; font-src data:",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class RunHtmlHandler(RunsMixin):
    """``GET api/runs/<id>/html``: the output notebook rendered as HTML (nbconvert)."""

    async def get(self, run_id: str) -> None:
        """``{"run_id", "html"}``; ``?download=1``: the file itself, as an attachment.

        The file is served sandboxed (``Content-Security-Policy: sandbox``): a
        notebook's HTML and scripts cannot act in the platform's origin.
        """
        self.require_scope(READ)
        run, job = self.load(run_id)
        self.require_read_outputs(job)
        download = self.get_query_argument("download", "0")
        if download not in ("0", "1"):
            raise InvalidParameterError(f"download: {download[:20]!r} is not 0 or 1.")
        path = self.jobs_settings.run_dir(run["job_id"], run_id) / "output.html"
        try:
            html = path.read_bytes()
        except FileNotFoundError:
            raise NotFoundError(
                f"Run {run_id} has no HTML rendering ({run['status']}): it is written "
                "when the run ends."
            ) from None
        if download == "0":
            self.write_json({"run_id": run_id, "html": html.decode("utf-8", "replace")})
            return
        for name, value in _HTML_HEADERS.items():
            self.set_header(name, value)
        stem = re.sub(r"[^A-Za-z0-9._-]+", "-", job["name"]).strip("-") or "job"
        self.set_header("Content-Disposition", f'attachment; filename="{stem}-{run_id[:12]}.html"')
        self.finish(html)


def _bytes_argument(name: str, raw: str | None, default: int | None) -> int | None:
    """A whole number of bytes from the query (0 to :data:`MAX_PAGE` for sizes).

    Raises:
        InvalidParameterError: Not such a number.
    """
    if raw is None:
        return default
    limit = MAX_PAGE if name != "offset" else 2**62
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or int(raw) > limit:
        raise InvalidParameterError(
            f"{name}: {raw[:40]!r} is not a number of bytes between 0 and {limit}."
        )
    return int(raw)


class RunLogHandler(RunsMixin):
    """``GET api/runs/<id>/log``: the run's log (papermill and kernel output), in pages."""

    async def get(self, run_id: str) -> None:
        """Return a page of the log and where it lies in the whole.

        ``?tail=N`` (default 1 MiB): the last N bytes. ``?offset=N&length=M``: M
        bytes (default 1 MiB, at most 16 MiB) from byte N; follow ``next_offset``
        until it reaches ``size`` to read the whole log. ``truncated`` says the
        log holds more than this page.
        """
        self.require_scope(READ)
        run, job = self.load(run_id)
        self.require_read_outputs(job)
        path = self.jobs_settings.run_dir(run["job_id"], run_id) / "log.txt"
        offset = _bytes_argument("offset", self.get_query_argument("offset", None), None)
        if offset is None:
            length = _bytes_argument("tail", self.get_query_argument("tail", None), DEFAULT_PAGE)
            if self.get_query_argument("length", None) is not None:
                raise InvalidParameterError("length: goes with offset; use tail for the end.")
        else:
            if self.get_query_argument("tail", None) is not None:
                raise InvalidParameterError("tail: give either offset (and length) or tail.")
            length = _bytes_argument(
                "length", self.get_query_argument("length", None), DEFAULT_PAGE
            )
        assert length is not None
        page = read_page(path, offset, length)
        self.write_json(
            {
                "run_id": run_id,
                "status": run["status"],
                "log": page.text,
                "offset": page.offset,
                "next_offset": page.next_offset,
                "size": page.size,
                "truncated": page.truncated,
            }
        )


_ID = rf"(?P<run_id>{ID_PATTERN})"
routes = [
    (rf"api/jobs/(?P<job_id>{ID_PATTERN})/runs", JobRunsHandler),
    (r"api/runs", RunListHandler),
    (rf"api/runs/{_ID}", RunHandler),
    (rf"api/runs/{_ID}/cancel", RunCancelHandler),
    (rf"api/runs/{_ID}/rerun", RunRerunHandler),
    (rf"api/runs/{_ID}/output", RunOutputHandler),
    (rf"api/runs/{_ID}/html", RunHtmlHandler),
    (rf"api/runs/{_ID}/log", RunLogHandler),
]
