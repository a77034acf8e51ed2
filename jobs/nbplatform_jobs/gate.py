"""Tests gate schedules: a scheduled job becomes active only once its notebook passed a test.

Activating a scheduled job (creating it active, ``PATCH {"active": true}`` on a
paused one, giving an active manual job a schedule) or changing the notebook or
the test parameters of an active one does not start its schedule at once: the
job stays ``active: false`` with ``activation.state = "testing"`` and a run with
``trigger = "test"`` is queued. That test run goes through the scheduler like
any run (the owner's rights and workspace, the job's timeout and profile, its
folder, log and output notebook, visible in the run history), but its executor
runs the notebook under nbval in lax mode (:mod:`nbplatform_jobs.nbvalgate`)
with the job's ``test_parameters``, or the ``parameters`` cell's own defaults
when it has none. When it succeeds the scheduler makes the job active
(``activation.state = "passed"``) and its triggers start; otherwise the job stays
inactive with ``activation.state = "failed"`` and the reason, worded as failed
runs are (``ValueError: boom (failed in cell 2 of 4)``). Each outcome is written
to the audit log (``jobs:activate``). Manual-only jobs are never gated, and
``NBP_JOBS_TEST_GATE=off`` turns the gate off. Test runs are neither retried
nor notified.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from nbplatform_hub import host

from . import store
from .schema import job_runs, jobs

log = logging.getLogger("nbplatform.jobs")

#: The trigger of the runs that gate a schedule.
TEST_TRIGGER = "test"
#: What :func:`decide` asks for besides the values: start a test, or drop the pending one.
TEST, CLEAR = "test", "clear"


def _scheduled(job: dict[str, Any]) -> bool:
    return bool(job.get("cron") or job.get("interval_seconds"))


def decide(
    current: dict[str, Any] | None, values: dict[str, Any], enabled: bool = True
) -> tuple[dict[str, Any], str | None]:
    """What a create or an update does to the job's activation.

    Args:
        current: The stored job (``None`` when creating).
        values: The validated columns to store (every column when creating, the
            changed ones when updating: :func:`nbplatform_jobs.definitions.validate`).
        enabled: Whether the gate is on (``NBP_JOBS_TEST_GATE``).

    Returns:
        The values to store (``active`` false while a test decides) and
        :data:`TEST` (queue a test run: :func:`start`), :data:`CLEAR` (a pending
        test no longer decides anything: :func:`clear`) or ``None``.
    """
    if current is None:
        if values.get("active") and enabled and _scheduled(values):
            return {**values, "active": False}, TEST
        return values, None
    merged = {**current, **values}
    testing = current.get("activation_state") == "testing"
    wants = bool(values["active"]) if "active" in values else bool(current["active"]) or testing
    if not wants:
        return values, CLEAR if testing else None
    if not enabled or not _scheduled(merged):  # no gate: active as asked
        if testing or not current["active"]:
            return {**values, "active": True}, CLEAR if testing else None
        return values, None
    retest = not _scheduled(current) or any(
        key in values and values[key] != current.get(key) for key in ("notebook", "test_parameters")
    )
    if (current["active"] or testing) and not retest:
        return ({**values, "active": False} if testing else values), None
    return {**values, "active": False}, TEST


def _stop_pending(conn: Connection, job: dict[str, Any]) -> None:
    """Cancel the job's pending test run (a queued one at once, a running one by the scheduler)."""
    run_id = job.get("activation_run_id")
    if job.get("activation_state") != "testing" or not run_id:
        return
    store.cancel_run(conn, run_id)


def _set(conn: Connection, job_id: str, state: str | None, reason: str | None, run_id: Any) -> None:
    conn.execute(
        jobs.update()
        .where(jobs.c.id == job_id)
        .values(activation_state=state, activation_reason=reason, activation_run_id=run_id)
    )


def start(conn: Connection, job: dict[str, Any], requested_by: str | None) -> dict[str, Any]:
    """Queue the test run that decides the job's activation; return the job.

    A test still pending for the job is cancelled: only the newest decides.
    """
    _stop_pending(conn, job)
    parameters = job.get("test_parameters") or {}
    run = store.insert_run(conn, job, TEST_TRIGGER, parameters, requested_by=requested_by)
    assert run is not None  # a test run has neither a scheduled time nor a token
    which = "its test parameters" if parameters else "its parameters cell's defaults"
    reason = (
        f"Testing the notebook under nbval with {which} (run {run['id']}); the schedule "
        "becomes active when the test passes."
    )
    _set(conn, job["id"], "testing", reason, run["id"])
    return store.get_job(conn, job["id"])


def clear(conn: Connection, job: dict[str, Any]) -> dict[str, Any]:
    """Drop the job's pending test (paused, made manual, or the gate turned off)."""
    _stop_pending(conn, job)
    _set(conn, job["id"], None, None, None)
    return store.get_job(conn, job["id"])


def apply(
    conn: Connection, job: dict[str, Any], action: str | None, requested_by: str | None
) -> dict[str, Any]:
    """Carry out what :func:`decide` asked for on the stored ``job``; return the job."""
    if action == TEST:
        return start(conn, job, requested_by)
    if action == CLEAR:
        return clear(conn, job)
    return job


def failure_reason(run_id: str, status: str, error: str | None) -> str:
    """Why a test run leaves the schedule inactive, in the words failed runs use."""
    first = (error or "").strip().splitlines()[0] if (error or "").strip() else ""
    if status == "cancelled":
        what = f"The test run {run_id} was cancelled"
    elif status == "timed-out":
        what = f"The test run {run_id} timed out: {first or 'stopped after the job timeout'}"
    else:
        what = f"The test run {run_id} failed: {first or 'see its log'}"
    return f"{what}. The schedule stays inactive: fix the notebook, then set active: true."


def settle(conn: Connection, run: dict[str, Any], status: str, error: str | None) -> Any:
    """Record a test run's end on its job (from :meth:`Scheduler.finish`).

    Returns:
        ``(job, passed, reason)`` when the run decided its job's activation;
        ``None`` when it no longer decides anything (a newer test, a pause, a
        deleted job).
    """
    job = conn.execute(jobs.select().where(jobs.c.id == run["job_id"])).mappings().first()
    if job is None or job["activation_state"] != "testing":
        return None
    if job["activation_run_id"] != run["id"]:
        return None
    if status == "succeeded":
        reason = f"The notebook passed its test (run {run['id']}); the schedule is active."
        changed = {"active": True, "activation_state": "passed", "activation_reason": reason}
        return store.update_job(conn, job["id"], changed), True, reason
    reason = failure_reason(run["id"], status, error)
    _set(conn, job["id"], "failed", reason, run["id"])
    return store.get_job(conn, job["id"]), False, reason


def audit(
    engine: Engine, job: dict[str, Any], run: dict[str, Any], passed: bool, reason: str
) -> None:
    """Write the activation's outcome to the audit log (``jobs:activate``), as the requester."""
    try:
        host.record_audit(
            engine,
            host.AuditEntry(
                user=run.get("requested_by") or job["owner"],
                kind="service",
                action="jobs:activate",
                method="POST",
                path=f"api/jobs/{job['id']}",
                resource=f"jobs/{job['id']}/runs/{run['id']}",
                result="allowed" if passed else "refused",
                status=200 if passed else 422,
                origin={"service": "scheduler", "test_run": run["id"]},
                detail=reason,
            ),
        )
    except Exception:  # noqa: BLE001 - the outcome is recorded on the job regardless
        log.exception("job %s: could not audit its activation", job["id"])


def sweep(engine: Engine) -> list[tuple[dict[str, Any], dict[str, Any], bool, str]]:
    """Settle tests that ended without the scheduler: cancelled while queued, or gone.

    Returns:
        ``(job, run, passed, reason)`` of each one settled (to audit).
    """
    settled = []
    with engine.begin() as conn:
        rows = conn.execute(
            sa.select(jobs.c.id, jobs.c.activation_run_id, job_runs.c.status)
            .select_from(jobs.outerjoin(job_runs, job_runs.c.id == jobs.c.activation_run_id))
            .where(jobs.c.activation_state == "testing")
        ).all()
        for job_id, run_id, status in rows:
            if status not in (None, "cancelled"):
                continue  # still pending, or the scheduler records its end itself
            run = {"id": run_id, "job_id": job_id, "requested_by": None}
            if status == "cancelled":
                run = store.get_run(conn, run_id)
            outcome = settle(conn, run, "cancelled", None)
            if outcome is not None:
                job, passed, reason = outcome
                settled.append((job, run, passed, reason))
    return settled
