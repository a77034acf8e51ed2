"""Reading and writing job definitions and runs in the platform database."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from nbplatform.errors import ConflictError, InvalidParameterError, NotFoundError

from .schema import job_runs, jobs

#: Table in which APScheduler's SQLAlchemyJobStore keeps triggers and next run times.
APSCHEDULER_TABLE = "apscheduler_jobs"


def utcnow() -> datetime:
    """The current time, naive UTC (as stored)."""
    return datetime.now(UTC).replace(tzinfo=None)


def new_id() -> str:
    """A new opaque identifier."""
    return uuid.uuid4().hex[:16]


def iso(value: datetime | None) -> str | None:
    """Format a stored (naive UTC) time as ISO 8601 with ``Z``."""
    return None if value is None else value.isoformat(timespec="milliseconds") + "Z"


def encode_page_token(offset: int) -> str:
    """An opaque page token for ``offset``."""
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode()


def decode_page_token(token: str | None) -> int:
    """The offset in a page token (0 for none).

    Raises:
        InvalidParameterError: Not a token this API gave out.
    """
    if not token:
        return 0
    try:
        offset = int(json.loads(base64.urlsafe_b64decode(token.encode()))["o"])
    except (ValueError, KeyError, TypeError):
        raise InvalidParameterError("page_token: not a token from a previous page.") from None
    if offset < 0:
        raise InvalidParameterError("page_token: not a token from a previous page.")
    return offset


def _page(conn: Connection, query: Any, max_results: int, page_token: str | None) -> tuple:
    offset = decode_page_token(page_token)
    rows = conn.execute(query.limit(max_results + 1).offset(offset)).mappings().all()
    more = len(rows) > max_results
    token = encode_page_token(offset + max_results) if more else None
    return [dict(r) for r in rows[:max_results]], token


# Jobs ---------------------------------------------------------------------
def insert_job(conn: Connection, values: dict[str, Any]) -> dict[str, Any]:
    """Insert a definition; ``values`` holds every column but id and times.

    Raises:
        ConflictError: The owner already has a job of this name.
    """
    now = utcnow()
    row = {**values, "id": new_id(), "created_at": now, "updated_at": now, "revision": 1}
    try:
        with conn.begin_nested():
            conn.execute(jobs.insert().values(**row))
    except IntegrityError:
        token = values.get("idempotency_token")
        if token and job_by_token(conn, values["owner"], token) is not None:
            raise ConflictError(
                f"idempotency_token: {token!r} was used for another request by "
                f"{values['owner']}; send the same request again, or a new token."
            ) from None
        raise ConflictError(
            f"name: {values['owner']} already has a job named {values['name']!r}; "
            "pick another name or update that job."
        ) from None
    return get_job(conn, row["id"])


def job_by_token(conn: Connection, owner: str, token: str) -> dict[str, Any] | None:
    """The job ``owner`` created with idempotency token ``token``, if any."""
    query = jobs.select().where(jobs.c.owner == owner, jobs.c.idempotency_token == token)
    row = conn.execute(query).mappings().first()
    return dict(row) if row else None


def run_by_token(conn: Connection, job_id: str, token: str) -> dict[str, Any] | None:
    """The run of ``job_id`` created with idempotency token ``token``, if any."""
    query = job_runs.select().where(
        job_runs.c.job_id == job_id, job_runs.c.idempotency_token == token
    )
    row = conn.execute(query).mappings().first()
    return dict(row) if row else None


def get_job(conn: Connection, job_id: str) -> dict[str, Any]:
    """Return one definition.

    Raises:
        NotFoundError: No such job.
    """
    row = conn.execute(jobs.select().where(jobs.c.id == job_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"No job with id {job_id!r}.")
    return dict(row)


def find_job(conn: Connection, owner: str, name: str) -> dict[str, Any] | None:
    """Return the owner's job called ``name``, if any."""
    query = jobs.select().where(jobs.c.owner == owner, jobs.c.name == name)
    row = conn.execute(query).mappings().first()
    return dict(row) if row else None


def list_jobs(
    conn: Connection,
    owner: str | None = None,
    max_results: int = 100,
    page_token: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Return a page of definitions (oldest first) and the next page's token."""
    query = jobs.select().order_by(jobs.c.created_at, jobs.c.id)
    if owner:
        query = query.where(jobs.c.owner == owner)
    return _page(conn, query, max_results, page_token)


def update_job(conn: Connection, job_id: str, values: dict[str, Any]) -> dict[str, Any]:
    """Change a definition and bump its revision (the scheduler reloads it).

    Raises:
        ConflictError: The new name is taken.
    """
    try:
        with conn.begin_nested():
            conn.execute(
                jobs.update()
                .where(jobs.c.id == job_id)
                .values(**values, updated_at=utcnow(), revision=jobs.c.revision + 1)
            )
    except IntegrityError:
        name = values.get("name")
        raise ConflictError(f"name: another job of this owner is named {name!r}.") from None
    return get_job(conn, job_id)


def delete_job(conn: Connection, job_id: str) -> None:
    """Delete a definition and its run records."""
    conn.execute(job_runs.delete().where(job_runs.c.job_id == job_id))
    conn.execute(jobs.delete().where(jobs.c.id == job_id))


def next_run_times(conn: Connection, job_ids: list[str]) -> dict[str, datetime]:
    """Next fire times from APScheduler's job store (absent before the scheduler ran)."""
    if not job_ids or not sa.inspect(conn).has_table(APSCHEDULER_TABLE):
        return {}
    table = sa.table(APSCHEDULER_TABLE, sa.column("id"), sa.column("next_run_time"))
    rows = conn.execute(sa.select(table.c.id, table.c.next_run_time).where(table.c.id.in_(job_ids)))
    return {
        job_id: datetime.fromtimestamp(ts, UTC).replace(tzinfo=None)
        for job_id, ts in rows
        if ts is not None
    }


def job_model(job: dict[str, Any], next_run_at: datetime | None = None) -> dict[str, Any]:
    """The API representation of a definition."""
    kind = "cron" if job["cron"] else "interval" if job["interval_seconds"] else "manual"
    return {
        "id": job["id"],
        "name": job["name"],
        "owner": job["owner"],
        "notebook": job["notebook"],
        "parameters": job["parameters"],
        "test_parameters": job.get("test_parameters"),
        "schedule": {
            "kind": kind,
            "cron": job["cron"],
            "timezone": job["timezone"],
            "interval_seconds": job["interval_seconds"],
        },
        "profile": job["profile"],
        "timeout_seconds": job["timeout_seconds"],
        "retries": job["retries"],
        "retry_backoff_seconds": job["retry_backoff_seconds"],
        "max_concurrent_runs": job["max_concurrent_runs"],
        "active": bool(job["active"]),
        "webhook_url": job["webhook_url"],
        "email": job["email"],
        "notify_on": job.get("notify_on") or ["failure"],
        "shared": bool(job.get("shared")),
        "tags": job["tags"],
        "source": job["source"],
        "created_at": iso(job["created_at"]),
        "updated_at": iso(job["updated_at"]),
        "next_run_at": iso(next_run_at) if job["active"] else None,
        "activation": activation_model(job),
    }


def activation_model(job: dict[str, Any]) -> dict[str, Any] | None:
    """The gate of a job's schedule (:mod:`nbplatform_jobs.gate`), or None if never gated."""
    if not job.get("activation_state"):
        return None
    return {
        "state": job["activation_state"],
        "reason": job.get("activation_reason"),
        "run_id": job.get("activation_run_id"),
    }


# Runs ---------------------------------------------------------------------
def insert_run(
    conn: Connection,
    job: dict[str, Any],
    trigger: str,
    parameters: dict[str, Any] | None = None,
    requested_by: str | None = None,
    scheduled_for: datetime | None = None,
    attempt: int = 1,
    source_run_id: str | None = None,
    not_before: datetime | None = None,
    idempotency_token: str | None = None,
    parent_run_id: str | None = None,
) -> dict[str, Any] | None:
    """Queue a run of ``job`` (``parent_run_id``: the run whose token asked for it).

    Returns:
        The run, or ``None`` when this scheduled time (and attempt) already has one,
        or this idempotency token a run.
    """
    row = {
        "id": new_id(),
        "job_id": job["id"],
        "attempt": attempt,
        "status": "queued",
        "trigger": trigger,
        "scheduled_for": scheduled_for,
        "parameters": job["parameters"] if parameters is None else parameters,
        "source_run_id": source_run_id,
        "requested_by": requested_by,
        "created_at": utcnow(),
        "not_before": not_before,
        "idempotency_token": idempotency_token,
        "parent_run_id": parent_run_id,
    }
    try:
        with conn.begin_nested():
            conn.execute(job_runs.insert().values(**row))
    except IntegrityError:
        return None
    return get_run(conn, row["id"])


def get_run(conn: Connection, run_id: str) -> dict[str, Any]:
    """Return one run.

    Raises:
        NotFoundError: No such run.
    """
    row = conn.execute(job_runs.select().where(job_runs.c.id == run_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"No run with id {run_id!r}.")
    return dict(row)


def list_runs(
    conn: Connection,
    job_id: str | None = None,
    owner: str | None = None,
    status: str | None = None,
    max_results: int = 100,
    page_token: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Return a page of runs (newest first) and the next page's token."""
    query = sa.select(job_runs, jobs.c.owner, jobs.c.name.label("job_name")).join(jobs)
    query = query.order_by(job_runs.c.created_at.desc(), job_runs.c.id.desc())
    if job_id:
        query = query.where(job_runs.c.job_id == job_id)
    if owner:
        query = query.where(jobs.c.owner == owner)
    if status:
        query = query.where(job_runs.c.status == status)
    return _page(conn, query, max_results, page_token)


def recent_runs(
    conn: Connection, job_ids: list[str], per_job: int = 5
) -> dict[str, list[dict[str, Any]]]:
    """The ``per_job`` newest runs of each job (newest first), in one query."""
    if not job_ids:
        return {}
    rank = (
        sa.func.row_number()
        .over(
            partition_by=job_runs.c.job_id,
            order_by=(job_runs.c.created_at.desc(), job_runs.c.id.desc()),
        )
        .label("rank")
    )
    ranked = sa.select(job_runs, rank).where(job_runs.c.job_id.in_(job_ids)).subquery()
    query = (
        sa.select(ranked).where(ranked.c.rank <= per_job).order_by(ranked.c.job_id, ranked.c.rank)
    )
    found: dict[str, list[dict[str, Any]]] = {job_id: [] for job_id in job_ids}
    for row in conn.execute(query).mappings():
        run = dict(row)
        del run["rank"]
        found[run["job_id"]].append(run)
    return found


def run_summary(run: dict[str, Any]) -> dict[str, Any]:
    """The short form of a run in a job's ``recent_runs``: enough for a status dot."""
    model = run_model(run)
    keys = ("id", "status", "trigger", "created_at", "started_at", "ended_at")
    return {
        **{key: model[key] for key in keys},
        "duration_seconds": model["duration_seconds"],
        "failed_cell": model["failed_cell"],
        # Its first line, which says where it failed as the user counts cells.
        "error": (model["error"] or "").split("\n", 1)[0][:200] or None,
    }


def cancel_run(conn: Connection, run_id: str) -> bool:
    """Cancel a queued run at once, or ask a running one to stop (its scheduler stops it).

    One statement each: a run a scheduler claims meanwhile is not marked cancelled
    while it starts; it gets ``cancel_requested`` and is stopped.

    Returns:
        Whether the run was still queued (and is now cancelled).
    """
    queued = conn.execute(
        job_runs.update()
        .where(job_runs.c.id == run_id, job_runs.c.status == "queued")
        .values(status="cancelled", ended_at=utcnow(), cancel_requested=True)
    ).rowcount
    if not queued:
        conn.execute(
            job_runs.update()
            .where(job_runs.c.id == run_id, job_runs.c.status == "running")
            .values(cancel_requested=True)
        )
    return bool(queued)


def update_run(conn: Connection, run_id: str, **values: Any) -> None:
    """Set columns of a run."""
    conn.execute(job_runs.update().where(job_runs.c.id == run_id).values(**values))


def read_progress(run_dir: Path) -> dict[str, Any] | None:
    """The executor's ``progress.json`` (cell i of n, ``failed`` at a failing cell)."""
    try:
        data = json.loads((run_dir / "progress.json").read_text())
        progress: dict[str, Any] = {"cell": int(data["cell"]), "total": int(data["total"])}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    progress["failed"] = bool(data.get("failed"))
    return progress


def run_model(run: dict[str, Any], run_dir: Path | None = None) -> dict[str, Any]:
    """The API representation of a run (with live progress while it runs)."""
    duration = None
    if run["started_at"] and run["ended_at"]:
        duration = round((run["ended_at"] - run["started_at"]).total_seconds(), 3)
    progress = read_progress(run_dir) if run_dir is not None else None
    return {
        "id": run["id"],
        "job_id": run["job_id"],
        "status": run["status"],
        "attempt": run["attempt"],
        "trigger": run["trigger"],
        "scheduled_for": iso(run["scheduled_for"]),
        "parameters": run["parameters"],
        "source_run_id": run["source_run_id"],
        "parent_run_id": run.get("parent_run_id"),
        "requested_by": run["requested_by"],
        "created_at": iso(run["created_at"]),
        "started_at": iso(run["started_at"]),
        "ended_at": iso(run["ended_at"]),
        "duration_seconds": duration,
        "backend": run["backend"],
        "error": run["error"],
        "failed_cell": run["failed_cell"],
        "notebook": run.get("notebook"),
        "git_commit": run.get("git_commit"),
        "git_dirty": run.get("git_dirty"),
        "progress": progress,
        "cancel_requested": bool(run["cancel_requested"]),
    }
