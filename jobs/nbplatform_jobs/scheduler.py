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
* Several schedulers (replicas, or a hub restarted while the old scheduler still
  runs) may share one database. A queued run is claimed by one atomic
  ``UPDATE ... WHERE status = 'queued'`` that also checks the job's
  ``max_concurrent_runs`` against every replica's running runs, and records the
  claiming scheduler's pid in ``pid``; two replicas firing the same time both try
  to insert it, and the unique key lets one win. Only runs whose claimant is dead
  (no such process, a zombie, or a pid recycled since the claim) are settled as
  interrupted, at start and every few seconds after, so a replica never kills
  another's runs, and the runs of one that died are settled by the others. A
  run's end is recorded only by its claimant (``UPDATE ... WHERE status =
  'running' AND pid = claimant``), so it is recorded once. Interval triggers count
  from the definition's ``updated_at``, so every replica computes the same fire
  times. Replicas must share a machine (pids are this machine's).
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from nbplatform.errors import NbplatformError

from . import gate, store
from .backends import Backend, stop_run
from .notify import notify
from .run_gpus import RunGpus
from .runfiles import prepare
from .schema import job_runs, jobs
from .settings import JobsSettings
from .triggers import anchored, make_trigger

log = logging.getLogger("nbplatform.jobs")

HEARTBEAT_SECONDS = 5.0
#: How often runs of dead schedulers are looked for (besides at start).
RECOVER_SECONDS = 2.0
#: Slack between a claimant's start and its claim (clock granularity).
_CLAIM_SLACK_SECONDS = 1.0
#: ``finish``'s default claimant: this scheduler.
_MINE = object()


def claimant_alive(pid: int | None, claimed_at: datetime | None) -> bool:
    """Whether the scheduler that claimed a run (``pid`` at ``claimed_at``) still lives.

    Args:
        pid: The claimant's pid (``job_runs.pid``).
        claimed_at: When it claimed the run (``job_runs.started_at``, naive UTC).

    Returns:
        ``False`` when no such process exists, it is a zombie, or the pid belongs to
        a process started after the claim (recycled).
    """
    if pid is None or claimed_at is None:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        created = proc.create_time()
    except psutil.Error:
        return False
    return created <= claimed_at.replace(tzinfo=UTC).timestamp() + _CLAIM_SLACK_SECONDS


#: Kept under its old name; the API computes next run times with the same trigger.
_anchored = anchored


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
        self._last_recover = 0.0
        self.pid = os.getpid()
        self.aps: Any = None
        #: Runs of GPU profiles take devices as servers do, from the machine's shared
        #: leases (a cluster backend's workers get theirs from the cluster instead).
        self.gpus = RunGpus.for_backend(backend.name, settings.home, engine, self.pid)
        #: The platform as runs reach it: in-cluster where a Kubernetes worker runs them.
        self.runs_url = (
            settings.dask_platform_url
            if settings.backend == "dask-kubernetes" and settings.dask_platform_url
            else platform_url
        )

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
        for attempt in range(5):  # a busy database must not lose the fire time
            try:
                self._queue_scheduled(event.job_id, scheduled)
                return
            except OperationalError:
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))

    def _queue_scheduled(self, job_id: str, scheduled: datetime) -> None:
        """Queue the run of one fire time; a replica that queued it first wins."""
        with self.engine.begin() as conn:
            try:
                job = store.get_job(conn, job_id)
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
                    jobs.c.updated_at,
                )
            ).all()
        seen = set()
        for row in rows:
            seen.add(row.id)
            trigger = None
            if row.active:
                try:
                    trigger = make_trigger(row.cron, row.timezone, row.interval_seconds)
                except NbplatformError as e:
                    log.warning("job %s: %s", row.id, e.message)
                else:
                    trigger = _anchored(trigger, row.updated_at)
            known = self.revisions.get(row.id)
            if trigger is None:
                if known is not None:
                    self._remove(row.id)
                continue
            if known == row.revision:
                continue
            stored = self.aps.get_job(row.id)
            if stored is not None and stored.name == f"r{row.revision}":
                self.revisions[row.id] = row.revision  # another replica added it
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
        self._fingerprint = fingerprint  # only now: a failed pass is tried again

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
                sa.select(job_runs.c.id, job_runs.c.job_id, jobs.c.profile)
                .join(jobs, jobs.c.id == job_runs.c.job_id)
                .where(job_runs.c.status == "queued")
                .where(sa.or_(job_runs.c.not_before.is_(None), job_runs.c.not_before <= now))
                .order_by(job_runs.c.created_at)
                .limit(100)
            )
            queued = conn.execute(query).all()
        full: set[str] = set()
        for run_id, job_id, profile in queued:
            if free <= 0:
                break
            if job_id in full or not (self.gpus is None or self.gpus.free_for(run_id, profile)):
                continue
            claimed = self._claim(run_id, job_id)
            if claimed is None:
                full.add(job_id)  # at its limit (or the run went elsewhere): next job
                continue
            job, run = claimed
            ready, devices = (True, None) if self.gpus is None else self.gpus.take(job, run)
            if not ready:
                continue  # back in the queue until a GPU is free
            try:
                spec = prepare(
                    self.settings,
                    job,
                    run,
                    self.hub_api_url,
                    self.service_token,
                    self.runs_url,
                    gpu_devices=devices,
                )
                with self.engine.begin() as conn:  # before the run can make a request
                    store.update_run(
                        conn,
                        run_id,
                        token_id=spec.token_id,
                        notebook=spec.lineage.get("notebook"),
                        git_commit=spec.lineage.get("git_commit"),
                        git_dirty=spec.lineage.get("git_dirty"),
                    )
                future = self.backend.submit(spec)
            except Exception as e:  # noqa: BLE001 - never leave a claimed run behind
                error = e.message if isinstance(e, NbplatformError) else f"{type(e).__name__}: {e}"
                log.warning("run %s could not start: %s", run_id, error)
                self.finish(run_id, {"status": "failed", "error": error, "failed_cell": None})
                continue
            self.active[run_id] = Active(run_id, job_id, future, Path(spec.run_dir))
            free -= 1
            log.info("run %s of job %s started (attempt %s)", run_id, job["name"], run["attempt"])

    def _claim(self, run_id: str, job_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """Claim a queued run for this scheduler, atomically, within its job's limit.

        Returns:
            The job and the claimed run, or ``None`` when another replica claimed
            it first, or the job already runs ``max_concurrent_runs`` runs (on any
            replica), or it was deleted.
        """
        others = job_runs.alias("others")
        with self.engine.begin() as conn:
            try:
                job = store.get_job(conn, job_id)
            except NbplatformError:
                return None
            # PostgreSQL: replicas claiming runs of one job take turns (no-op on SQLite,
            # where the UPDATE below is atomic by itself).
            conn.execute(sa.select(jobs.c.id).where(jobs.c.id == job_id).with_for_update())
            running = (
                sa.select(sa.func.count())
                .select_from(others)
                .where(others.c.job_id == job_id, others.c.status == "running")
                .scalar_subquery()
            )
            now = store.utcnow()
            claimed = conn.execute(
                job_runs.update()
                .where(
                    job_runs.c.id == run_id,
                    job_runs.c.status == "queued",
                    running < job["max_concurrent_runs"],
                )
                .values(
                    status="running",
                    started_at=now,
                    heartbeat_at=now,
                    pid=self.pid,
                    backend=self.backend.name,
                )
            ).rowcount
            if not claimed:
                return None
            return job, store.get_run(conn, run_id)

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
        if not self.active:
            return
        with self.engine.begin() as conn:
            conn.execute(
                job_runs.update()
                .where(job_runs.c.id.in_(list(self.active)), job_runs.c.pid == self.pid)
                .values(heartbeat_at=store.utcnow())
            )

    def finish(self, run_id: str, outcome: dict[str, Any], claimant: Any = _MINE) -> bool:
        """Record a run's end; queue its retry or send its failure notices.

        Args:
            run_id: The run.
            outcome: ``status``, ``error``, ``failed_cell``.
            claimant: The pid of the scheduler that claimed the run (this one's by
                default; ``None`` for a run left without one).

        Returns:
            Whether this call recorded the end: ``False`` when the run was no longer
            running under that claimant (another scheduler settled it, or it was
            deleted), in which case nothing is queued or sent.
        """
        status = outcome["status"]
        claimant = self.pid if claimant is _MINE else claimant
        if self.gpus is not None:
            self.gpus.release(run_id)
        by = job_runs.c.pid.is_(None) if claimant is None else job_runs.c.pid == claimant
        with self.engine.begin() as conn:
            ended = conn.execute(
                job_runs.update()
                .where(job_runs.c.id == run_id, job_runs.c.status == "running", by)
                .values(
                    status=status,
                    ended_at=store.utcnow(),
                    error=outcome.get("error"),
                    failed_cell=outcome.get("failed_cell"),
                )
            ).rowcount
            if not ended:
                log.info("run %s was settled elsewhere; %s not recorded", run_id, status)
                return False
            run = store.get_run(conn, run_id)
            job = store.get_job(conn, run["job_id"])
            retry = None
            testing = run["trigger"] == gate.TEST_TRIGGER  # decides activation, no retry
            decided = gate.settle(conn, run, status, outcome.get("error")) if testing else None
            retryable = status in ("failed", "timed-out") and not testing
            if retryable and run["attempt"] <= job["retries"]:
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
        if decided is not None:
            job, passed, reason = decided
            log.info("job %s: activation %s", job["name"], "passed" if passed else "failed")
            gate.audit(self.engine, job, run, passed, reason)
        if retry is not None:
            log.info("run %s: retry %s as run %s", run_id, retry["attempt"], retry["id"])
        elif status in ("failed", "timed-out", "succeeded") and not testing:
            threading.Thread(
                target=notify,
                args=(self.settings, job, run, self.platform_url),
                daemon=True,
            ).start()
        return True

    def recover(self, mine: bool = False) -> None:
        """Settle runs left ``running`` by a scheduler that died.

        Runs claimed by a live scheduler (another replica, or this one) are left
        alone; with ``mine``, this one's are settled too (it is stopping).
        """
        import json

        self._last_recover = time.monotonic()
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    job_runs.c.id, job_runs.c.job_id, job_runs.c.pid, job_runs.c.started_at
                ).where(job_runs.c.status == "running")
            ).all()
        for run_id, job_id, claimant, claimed_at in rows:
            if claimant == self.pid:
                if not mine:
                    continue
            elif claimant_alive(claimant, claimed_at):
                continue
            run_dir = self.settings.run_dir(job_id, run_id)
            stop_run(run_id, run_dir)
            try:
                outcome = json.loads((run_dir / "result.json").read_text())
            except (OSError, ValueError):
                outcome = {
                    "status": "failed",
                    "error": "Interrupted: the scheduler stopped while this run was running.",
                    "failed_cell": None,
                }
            if self.finish(run_id, outcome, claimant):
                log.warning("run %s was interrupted: %s", run_id, outcome["status"])
        for job, run, passed, reason in gate.sweep(self.engine):
            gate.audit(self.engine, job, run, passed, reason)
        if self.gpus is not None:
            self.gpus.prune()

    def stop(self) -> None:
        """Stop triggers; interrupt running runs (they are settled as after a crash)."""
        if self.aps is not None:
            self.aps.shutdown(wait=False)
        for active in self.active.values():
            stop_run(active.run_id, active.run_dir)
        self.active.clear()
        self.recover(mine=True)
        self.backend.close()

    def tick(self) -> None:
        """One pass of the loop: definitions, outcomes, dispatch, runs of dead replicas."""
        self.sync_definitions()
        self.collect()
        self.dispatch()
        if time.monotonic() - self._last_recover >= RECOVER_SECONDS:
            self.recover()
