"""The scheduler: triggers, dispatch, outcomes, retries, notices, crash recovery.

Triggers are APScheduler's, persisted in the platform database; queued runs go
to a backend; their outcome is recorded here.

Policy, in one place:

* A trigger firing queues one run whose ``scheduled_for`` is the fire time; a
  unique constraint on ``(job, scheduled_for, attempt)`` makes a second queueing of
  the same time (after a crash between firing and APScheduler's bookkeeping) a
  no-op. Fire times missed while the scheduler was down are coalesced into one
  run if the latest of them is within ``NBP_JOBS_MISFIRE_GRACE`` seconds (600 by
  default), and skipped (logged) otherwise.
* A failed or timed-out run is retried while ``attempt <= retries``, after
  ``retry_backoff_seconds * 2 ** (attempt - 1)``, with the same snapshot and
  parameters; the last failure sends the job's notices.
* At start, runs still marked ``running`` were interrupted (the scheduler was
  killed): a run whose executor finished meanwhile gets its recorded result;
  otherwise its executor and kernel are killed and the run is marked failed
  ("interrupted") and retried by its policy.
"""

from __future__ import annotations

import logging
import shutil
import threading
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from nbplatform.errors import NbplatformError

from . import store
from .backends import Backend, _kill_tree, read_pid
from .notify import notify_failure
from .runfiles import prepare
from .schema import job_runs, jobs
from .settings import JobsSettings
from .triggers import make_trigger

log = logging.getLogger("nbplatform.jobs")

HEARTBEAT_SECONDS = 5.0


def fire(job_id: str) -> None:
    """APScheduler's job function; the run is queued by the submission listener."""


@dataclass
class Active:
    """A run handed to the backend."""

    run_id: str
    job_id: str
    future: Any
    run_dir: Path


class Scheduler:
    """Fire triggers, dispatch runs, record outcomes.

    Args:
        settings: Jobs settings.
        engine: The platform database.
        backend: Where runs execute.
        hub_api_url: ``JUPYTERHUB_API_URL``.
        service_token: The scheduler service's token (mints owners' tokens).
        platform_url: The platform service's URL handed to runs.
    """

    def __init__(
        self,
        settings: JobsSettings,
        engine: Engine,
        backend: Backend,
        hub_api_url: str,
        service_token: str,
        platform_url: str,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.backend = backend
        self.hub_api_url = hub_api_url
        self.service_token = service_token
        self.platform_url = platform_url
        self.active: dict[str, Active] = {}
        self.revisions: dict[str, int] = {}
        self._fingerprint: Any = None
        self._last_heartbeat = 0.0
        self.aps: Any = None

    # Triggers -------------------------------------------------------------
    def start(self) -> None:
        """Recover interrupted runs, then start the triggers from the persisted store."""
        from apscheduler.events import EVENT_JOB_SUBMITTED
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
        from apscheduler.schedulers.background import BackgroundScheduler

        self.recover()
        self.aps = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=self.engine)},
            executors={"default": ThreadPoolExecutor(2)},
            job_defaults={
                "coalesce": True,
                "misfire_grace_time": self.settings.misfire_grace_seconds,
                "max_instances": 1,
            },
            timezone=UTC,
        )
        self.aps.add_listener(self._on_submitted, EVENT_JOB_SUBMITTED)
        self.aps.start(paused=True)
        self.revisions = {
            job.id: int(job.name.removeprefix("r")) for job in self.aps.get_jobs() if job.name
        }
        self.sync_definitions()
        self.aps.resume()

    def _on_submitted(self, event: Any) -> None:
        """Queue one run for the (coalesced) fire time, unless it is too late or known."""
        when = max(event.scheduled_run_times)
        late = (datetime.now(UTC) - when).total_seconds()
        if late > self.settings.misfire_grace_seconds:
            log.warning("job %s: fire time %s missed by %.0f s, skipped", event.job_id, when, late)
            return
        scheduled = when.astimezone(UTC).replace(tzinfo=None)
        with self.engine.begin() as conn:
            try:
                job = store.get_job(conn, event.job_id)
            except NbplatformError:
                return
            if not job["active"]:
                return
            run = store.insert_run(conn, job, "schedule", scheduled_for=scheduled)
        if run is not None:
            log.info("job %s: queued run %s for %s", job["name"], run["id"], scheduled)

    def sync_definitions(self) -> None:
        """Bring the triggers in line with the definitions (only when they changed)."""
        with self.engine.connect() as conn:
            fingerprint = conn.execute(
                sa.select(
                    sa.func.count(), sa.func.sum(jobs.c.revision), sa.func.max(jobs.c.updated_at)
                )
            ).one()
            if fingerprint == self._fingerprint:
                return
            rows = conn.execute(
                sa.select(
                    jobs.c.id,
                    jobs.c.revision,
                    jobs.c.active,
                    jobs.c.cron,
                    jobs.c.timezone,
                    jobs.c.interval_seconds,
                )
            ).all()
        self._fingerprint = fingerprint
        seen = set()
        for row in rows:
            seen.add(row.id)
            trigger = None
            if row.active:
                try:
                    trigger = make_trigger(row.cron, row.timezone, row.interval_seconds)
                except NbplatformError as e:
                    log.warning("job %s: %s", row.id, e.message)
            known = self.revisions.get(row.id)
            if trigger is None:
                if known is not None:
                    self._remove(row.id)
                continue
            if known == row.revision:
                continue
            if known is not None:
                self._remove(row.id)
            self.aps.add_job(
                "nbplatform_jobs.scheduler:fire",
                trigger=trigger,
                args=[row.id],
                id=row.id,
                name=f"r{row.revision}",
                replace_existing=True,
            )
            self.revisions[row.id] = row.revision
        for job_id in set(self.revisions) - seen:
            self._remove(job_id)

    def _remove(self, job_id: str) -> None:
        from apscheduler.jobstores.base import JobLookupError

        with suppress(JobLookupError):
            self.aps.remove_job(job_id)
        self.revisions.pop(job_id, None)

    # Runs -----------------------------------------------------------------
    def dispatch(self) -> None:
        """Hand queued runs to the backend, within the global and per-job limits."""
        free = self.settings.concurrency - len(self.active)
        if free <= 0:
            return
        now = store.utcnow()
        with self.engine.connect() as conn:
            query = (
                sa.select(job_runs.c.id, job_runs.c.job_id)
                .where(job_runs.c.status == "queued")
                .where(sa.or_(job_runs.c.not_before.is_(None), job_runs.c.not_before <= now))
                .order_by(job_runs.c.created_at)
                .limit(100)
            )
            queued = conn.execute(query).all()
        per_job: dict[str, int] = {}
        for active in self.active.values():
            per_job[active.job_id] = per_job.get(active.job_id, 0) + 1
        for run_id, job_id in queued:
            if free <= 0:
                break
            with self.engine.begin() as conn:
                job = store.get_job(conn, job_id)
                if per_job.get(job_id, 0) >= job["max_concurrent_runs"]:
                    continue
                claimed = conn.execute(
                    job_runs.update()
                    .where(job_runs.c.id == run_id, job_runs.c.status == "queued")
                    .values(
                        status="running",
                        started_at=store.utcnow(),
                        heartbeat_at=store.utcnow(),
                        backend=self.backend.name,
                    )
                ).rowcount
                run = store.get_run(conn, run_id)
            if not claimed:
                continue
            try:
                spec = prepare(
                    self.settings, job, run, self.hub_api_url, self.service_token, self.platform_url
                )
            except NbplatformError as e:
                self.finish(run_id, {"status": "failed", "error": e.message, "failed_cell": None})
                continue
            future = self.backend.submit(spec)
            self.active[run_id] = Active(run_id, job_id, future, Path(spec.run_dir))
            per_job[job_id] = per_job.get(job_id, 0) + 1
            free -= 1
            log.info("run %s of job %s started (attempt %s)", run_id, job["name"], run["attempt"])

    def collect(self) -> None:
        """Forward cancellations to running runs and record the ones that ended."""
        if not self.active:
            return
        ids = list(self.active)
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(job_runs.c.id, job_runs.c.cancel_requested).where(job_runs.c.id.in_(ids))
            ).all()
        alive = {row.id: bool(row.cancel_requested) for row in rows}
        for run_id in ids:
            active = self.active[run_id]
            if alive.get(run_id, True):  # cancelled, or its job was deleted
                with suppress(OSError):
                    (active.run_dir / "cancel").touch()
            if not active.future.done():
                continue
            del self.active[run_id]
            try:
                outcome = active.future.result()
            except Exception as e:  # noqa: BLE001 - the backend failed, not the notebook
                outcome = {"status": "failed", "error": f"Backend error: {e}", "failed_cell": None}
            if run_id in alive:
                self.finish(run_id, outcome)
            else:  # its job was deleted meanwhile
                shutil.rmtree(active.run_dir, ignore_errors=True)
                with suppress(OSError):
                    active.run_dir.parent.rmdir()
        self.heartbeat()

    def heartbeat(self, force: bool = False) -> None:
        """Record that the scheduler still watches its running runs (and their pids)."""
        now = datetime.now(UTC).timestamp()
        if not force and now - self._last_heartbeat < HEARTBEAT_SECONDS:
            return
        self._last_heartbeat = now
        with self.engine.begin() as conn:
            for active in self.active.values():
                pid = read_pid(active.run_dir)
                store.update_run(conn, active.run_id, heartbeat_at=store.utcnow(), pid=pid)

    def finish(self, run_id: str, outcome: dict[str, Any]) -> None:
        """Record a run's end; queue its retry or send its failure notices."""
        status = outcome["status"]
        with self.engine.begin() as conn:
            store.update_run(
                conn,
                run_id,
                status=status,
                ended_at=store.utcnow(),
                error=outcome.get("error"),
                failed_cell=outcome.get("failed_cell"),
            )
            run = store.get_run(conn, run_id)
            job = store.get_job(conn, run["job_id"])
            retry = None
            if status in ("failed", "timed-out") and run["attempt"] <= job["retries"]:
                delay = job["retry_backoff_seconds"] * 2 ** (run["attempt"] - 1)
                retry = store.insert_run(
                    conn,
                    job,
                    "retry",
                    run["parameters"],
                    requested_by=run["requested_by"],
                    scheduled_for=run["scheduled_for"],
                    attempt=run["attempt"] + 1,
                    source_run_id=run["source_run_id"] or run["id"],
                    not_before=store.utcnow() + timedelta(seconds=delay),
                )
        log.info("run %s of job %s: %s %s", run_id, job["name"], status, outcome.get("error") or "")
        if retry is not None:
            log.info("run %s: retry %s as run %s", run_id, retry["attempt"], retry["id"])
        elif status in ("failed", "timed-out"):
            threading.Thread(
                target=notify_failure,
                args=(self.settings, job, run, self.platform_url),
                daemon=True,
            ).start()

    def recover(self) -> None:
        """Settle runs left ``running`` by a scheduler that was killed."""
        import json

        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(job_runs.c.id, job_runs.c.job_id).where(job_runs.c.status == "running")
            ).all()
        for run_id, job_id in rows:
            run_dir = self.settings.run_dir(job_id, run_id)
            pid = read_pid(run_dir)
            if pid is not None:
                _kill_tree(pid)
            try:
                outcome = json.loads((run_dir / "result.json").read_text())
            except (OSError, ValueError):
                outcome = {
                    "status": "failed",
                    "error": "Interrupted: the scheduler stopped while this run was running.",
                    "failed_cell": None,
                }
            log.warning("run %s was interrupted: %s", run_id, outcome["status"])
            self.finish(run_id, outcome)

    def stop(self) -> None:
        """Stop triggers; interrupt running runs (they are settled as after a crash)."""
        if self.aps is not None:
            self.aps.shutdown(wait=False)
        for active in self.active.values():
            pid = read_pid(active.run_dir)
            if pid is not None:
                _kill_tree(pid)
        self.active.clear()
        self.recover()
        self.backend.close()

    def tick(self) -> None:
        """One pass of the loop: definitions, outcomes, dispatch."""
        self.sync_definitions()
        self.collect()
        self.dispatch()
