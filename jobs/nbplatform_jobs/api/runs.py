"""``api/jobs/<id>/runs`` and ``api/runs``: run now, history, cancel, re-run, output, log."""

from __future__ import annotations

import json
from typing import Any

from nbplatform.errors import ConflictError, InvalidParameterError, NotFoundError

from .. import store
from ..definitions import validate
from ..models import JobUpdate, RunRequest
from ..schema import FINAL_STATUSES, RUN_STATUSES, job_runs
from .common import ID_PATTERN, READ, JobsAPIHandler, setup

__all__ = ["routes", "setup"]


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
        parameters = job["parameters"]
        if body.parameters is not None:
            parameters = {**job["parameters"], **body.parameters}
            check = JobUpdate(parameters=parameters)
            values = validate(self.context.home, job["owner"], [], check, job)
            parameters = values.get("parameters", parameters)
        with self.context.engine.begin() as conn:
            run = store.insert_run(conn, job, "manual", parameters, self.user["name"])
        assert run is not None
        run["job_name"], run["owner"] = job["name"], job["owner"]
        self.write_json(self.run_model(run), status=201)


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
            # One statement each: a run a scheduler claims meanwhile is not marked
            # cancelled while it starts; it gets cancel_requested and is stopped.
            queued = conn.execute(
                job_runs.update()
                .where(job_runs.c.id == run_id, job_runs.c.status == "queued")
                .values(status="cancelled", ended_at=store.utcnow(), cancel_requested=True)
            ).rowcount
            if not queued:
                conn.execute(
                    job_runs.update()
                    .where(job_runs.c.id == run_id, job_runs.c.status == "running")
                    .values(cancel_requested=True)
                )
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
        with self.context.engine.begin() as conn:
            new = store.insert_run(
                conn, job, "rerun", run["parameters"], self.user["name"], source_run_id=source
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


#: The most of a log one request returns; ``tail`` defaults to :data:`DEFAULT_TAIL`.
MAX_TAIL = 16 << 20
DEFAULT_TAIL = 1 << 20


def log_tail(raw: str) -> int:
    """The ``tail`` query argument: a number of bytes, 0 to :data:`MAX_TAIL`.

    Raises:
        InvalidParameterError: Not such a number.
    """
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 8 or int(raw) > MAX_TAIL:
        raise InvalidParameterError(
            f"tail: {raw[:40]!r} is not a number of bytes between 0 and {MAX_TAIL}."
        )
    return int(raw)


class RunLogHandler(RunsMixin):
    """``GET api/runs/<id>/log``: the run's log (papermill and kernel output)."""

    async def get(self, run_id: str) -> None:
        """Return ``{"run_id", "status", "log"}`` (the last ``tail`` bytes, default 1 MB)."""
        self.require_scope(READ)
        run, job = self.load(run_id)
        self.require_read_outputs(job)
        path = self.jobs_settings.run_dir(run["job_id"], run_id) / "log.txt"
        tail = log_tail(self.get_query_argument("tail", str(DEFAULT_TAIL)))
        text = ""
        if path.is_file():
            with path.open("rb") as f:
                size = f.seek(0, 2)
                f.seek(max(0, size - tail))
                text = f.read().decode("utf-8", errors="replace")
        self.write_json({"run_id": run_id, "status": run["status"], "log": text})


_ID = rf"(?P<run_id>{ID_PATTERN})"
routes = [
    (rf"api/jobs/(?P<job_id>{ID_PATTERN})/runs", JobRunsHandler),
    (r"api/runs", RunListHandler),
    (rf"api/runs/{_ID}", RunHandler),
    (rf"api/runs/{_ID}/cancel", RunCancelHandler),
    (rf"api/runs/{_ID}/rerun", RunRerunHandler),
    (rf"api/runs/{_ID}/output", RunOutputHandler),
    (rf"api/runs/{_ID}/log", RunLogHandler),
]
