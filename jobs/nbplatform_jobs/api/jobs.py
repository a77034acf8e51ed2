"""``api/jobs``: job definitions (list, create, get, update/pause/resume, delete)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from typing import Any

from nbplatform.errors import ConflictError, InvalidParameterError, PermissionDeniedError

from .. import gate, store
from ..definitions import validate
from ..models import JobCreate, JobUpdate
from ..triggers import next_fire_time
from .common import ID_PATTERN, READ, WRITE, JobsAPIHandler

__all__ = ["routes"]


#: How many of its newest runs each job in an answer carries (``recent_runs``).
RECENT_RUNS = 5
#: The longest ``owner`` the list takes (JupyterHub's user names are shorter).
MAX_OWNER = 255


def job_models(
    conn: Any,
    rows: list[dict[str, Any]],
    permissions: Callable[[dict[str, Any]], dict[str, Any]],
) -> list[dict[str, Any]]:
    """API models of ``rows``: next run time, last and recent runs, the caller's permissions.

    Two queries whatever the number of jobs: the next run times APScheduler
    stored and the newest runs of every job. A job the scheduler has not
    stored yet gets the next run time the scheduler's trigger computes.
    """
    ids = [r["id"] for r in rows]
    nexts = store.next_run_times(conn, ids)
    recent = store.recent_runs(conn, ids, RECENT_RUNS)
    models = []
    for row in rows:
        next_run = nexts.get(row["id"]) or next_fire_time(row)
        model = store.job_model(row, next_run)
        runs = recent.get(row["id"], [])
        model["last_run"] = store.run_model(runs[0]) if runs else None
        model["recent_runs"] = [store.run_summary(run) for run in runs]
        model["permissions"] = permissions(row)
        models.append(model)
    return models


def owner_argument(raw: str | None) -> str | None:
    """The ``owner`` filter of the list: a user name, or None for every job.

    Raises:
        InvalidParameterError: Empty, over-long, or holding control characters.
    """
    if raw is None:
        return None
    if not raw or len(raw) > MAX_OWNER or not raw.isprintable():
        raise InvalidParameterError(
            f"owner: {raw[:40]!r} is not a user name; leave owner out for every job "
            f"you may read, or give one user's name (at most {MAX_OWNER} characters)."
        )
    return raw


def with_secret(model: dict[str, Any], job: dict[str, Any]) -> dict[str, Any]:
    """``model`` with the job's ``webhook_secret`` (for its owner and admins only)."""
    return {**model, "webhook_secret": job.get("webhook_secret")}


class GatedJobHandler(JobsAPIHandler):
    """A handler that creates or changes definitions, whose activation tests gate."""

    def activate(self, conn: Any, job: dict[str, Any], action: str | None) -> dict[str, Any]:
        """Start or drop the test that gates ``job``'s schedule (:func:`gate.decide`).

        The request's audit entry says so (``activation: testing (run <id>)``).
        """
        job = gate.apply(conn, job, action, self.user["name"])
        if action == gate.TEST:
            self.audit_detail = f"activation: testing (run {job['activation_run_id']})"
        elif action == gate.CLEAR:
            self.audit_detail = "activation: pending test dropped"
        return job


class JobListHandler(GatedJobHandler):
    """``GET`` lists definitions; ``POST`` creates one."""

    async def get(self) -> None:
        """Return ``{"jobs": [...], "next_page_token"}``; filter with ``owner``.

        Without ``owner``: every job (every jobs reader may read every definition).
        """
        self.require_scope(READ)
        max_results, token = self.paging()
        owner = owner_argument(self.get_query_argument("owner", None))
        with self.context.engine.connect() as conn:
            rows, next_token = store.list_jobs(conn, owner, max_results, token)
            models = job_models(conn, rows, self.job_permissions)
        self.write_json({"jobs": models, "next_page_token": next_token})

    async def post(self) -> None:
        """Create a definition for the caller (admins: for ``owner``); 201 with the job."""
        self.require_scope(WRITE)
        body = self.json_body(JobCreate)
        owner = body.owner or self.user["name"]
        if owner != self.user["name"] and not self.is_admin():
            raise PermissionDeniedError(
                f"owner: {self.user['name']} may not create jobs for {owner}; "
                "only platform admins may."
            )
        token = body.idempotency_token
        if token and self.replay(owner, token, body):
            return
        groups = (await self.context.hub.get_user(owner)).get("groups", [])
        values = validate(
            self.context.home,
            owner,
            groups,
            body,
            webhook_allow=self.jobs_settings.webhook_destinations,
        )
        values, action = gate.decide(None, values, self.jobs_settings.test_gate)
        try:
            with self.context.engine.begin() as conn:
                row = {**values, "source": "api", "idempotency_token": token}
                job = store.insert_job(conn, row)
                job = self.activate(conn, job, action)
                (model,) = job_models(conn, [job], self.job_permissions)
        except ConflictError:
            if token and self.replay(owner, token, body):  # the same request, at once
                return
            raise
        self.write_json(with_secret(model, job), status=201)

    def replay(self, owner: str, token: str, body: JobCreate) -> bool:
        """Answer a retried create (same idempotency token) with the job it made.

        Returns:
            Whether the token had made a job (then answered, 200).

        Raises:
            ConflictError: The token made a job of another name or notebook.
        """
        with self.context.engine.connect() as conn:
            job = store.job_by_token(conn, owner, token)
            if job is None:
                return False
            (model,) = job_models(conn, [job], self.job_permissions)
        if (job["name"], job["notebook"]) != (body.name, body.notebook):
            raise ConflictError(
                f"idempotency_token: {token!r} already made {owner}'s job {job['name']!r} "
                f"({job['notebook']}); a new request needs a new token."
            )
        self.set_header("Idempotent-Replayed", "true")
        self.write_json(with_secret(model, job), status=200)
        return True


class JobHandler(GatedJobHandler):
    """One definition."""

    async def get(self, job_id: str) -> None:
        """Return the job with its next run time and last run."""
        self.require_scope(READ)
        with self.context.engine.connect() as conn:
            job = store.get_job(conn, job_id)
            (model,) = job_models(conn, [job], self.job_permissions)
        manages = self.is_admin() or self.user["name"] == job["owner"]
        self.write_json(with_secret(model, job) if manages else model)

    async def patch(self, job_id: str) -> None:
        """Update fields; ``{"active": false}`` pauses, ``{"active": true}`` resumes.

        Resuming a scheduled job, or changing the notebook of an active one, first
        tests it (:mod:`..gate`): it answers ``active: false`` with
        ``activation.state = "testing"`` until the test run passes.
        """
        with self.context.engine.connect() as conn:
            current = store.get_job(conn, job_id)
        self.require_manage(current["owner"])
        body = self.json_body(JobUpdate)
        groups: list[str] = []
        if body.profile is not None:
            groups = (await self.context.hub.get_user(current["owner"])).get("groups", [])
        values = validate(
            self.context.home,
            current["owner"],
            groups,
            body,
            current,
            webhook_allow=self.jobs_settings.webhook_destinations,
        )
        values, action = gate.decide(current, values, self.jobs_settings.test_gate)
        with self.context.engine.begin() as conn:
            job = store.update_job(conn, job_id, values) if values else current
            job = self.activate(conn, job, action)
            (model,) = job_models(conn, [job], self.job_permissions)
        self.write_json(with_secret(model, job))

    async def delete(self, job_id: str) -> None:
        """Delete the definition, its runs and their files (running ones are cancelled)."""
        with self.context.engine.connect() as conn:
            job = store.get_job(conn, job_id)
        self.require_manage(job["owner"])
        self.no_body()
        with self.context.engine.begin() as conn:
            running, _ = store.list_runs(conn, job_id, status="running", max_results=1000)
            store.delete_job(conn, job_id)
        # Running runs are stopped by the scheduler, which then removes their folders.
        keep = {run["id"] for run in running}
        job_dir = self.jobs_settings.jobs_dir / job_id
        for run_dir in job_dir.iterdir() if job_dir.is_dir() else []:
            if run_dir.name not in keep:
                shutil.rmtree(run_dir, ignore_errors=True)
        if not keep:
            shutil.rmtree(job_dir, ignore_errors=True)
        self.set_status(204)
        self.finish()


routes = [
    (r"api/jobs", JobListHandler),
    (rf"api/jobs/(?P<job_id>{ID_PATTERN})", JobHandler),
]
