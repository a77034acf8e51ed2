"""Reading and writing drift monitoring's rows, and their API models (JSON-ready dicts)."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from nbplatform.errors import ConflictError, NotFoundError

from .ranking import rank
from .schema import checks, monitors, notices, watchers

#: How many checks a monitor's ``history`` shows.
HISTORY = 50
#: The definition's fields, as stored in ``drift_monitors``.
DEFINITION = (
    "description",
    "model",
    "feature_view",
    "reference",
    "current",
    "columns",
    "tests",
    "drift_share",
    "schedule_job_id",
    "retrain_job_id",
    "webhooks",
    "emails",
)


def utcnow() -> datetime:
    """Now, naive UTC (as the tables store times)."""
    return datetime.now(UTC).replace(tzinfo=None)


def naive(value: datetime | None) -> datetime | None:
    """``value`` as naive UTC."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def iso(value: datetime | None) -> str | None:
    """A stored (naive UTC) time as ISO 8601 with its offset."""
    return None if value is None else value.replace(tzinfo=UTC).isoformat()


def definition(row: Mapping[str, Any]) -> dict[str, Any]:
    """The definition of a monitor's row (what ``PATCH`` merges into)."""
    return {name: row[name] for name in DEFINITION}


# Monitors ------------------------------------------------------------------------------
def get_monitor(conn: Connection, name: str) -> dict[str, Any]:
    """The monitor's row.

    Raises:
        NotFoundError: No monitor has that name.
    """
    row = conn.execute(sa.select(monitors).where(monitors.c.name == name)).mappings().first()
    if row is None:
        raise NotFoundError(f"No drift monitor named {name[:200]!r}.")
    return dict(row)


def create_monitor(conn: Connection, name: str, owner: str, values: Mapping[str, Any]) -> dict:
    """Insert a monitor (status ``unknown``, a new webhook secret); its row.

    Raises:
        ConflictError: A monitor has that name.
    """
    if conn.execute(sa.select(monitors.c.id).where(monitors.c.name == name)).first():
        raise ConflictError(f"A drift monitor named {name!r} exists; choose another name.")
    now = utcnow()
    conn.execute(
        monitors.insert().values(
            name=name,
            owner=owner,
            **{k: values[k] for k in DEFINITION},
            webhook_secret=secrets.token_hex(32),
            status="unknown",
            created_at=now,
            updated_at=now,
        )
    )
    return get_monitor(conn, name)


def update_monitor(conn: Connection, row: Mapping[str, Any], values: Mapping[str, Any]) -> dict:
    """Replace a monitor's definition; its row."""
    conn.execute(
        monitors.update()
        .where(monitors.c.id == row["id"])
        .values(**{k: values[k] for k in DEFINITION}, updated_at=utcnow())
    )
    return get_monitor(conn, row["name"])


def set_values(conn: Connection, row: Mapping[str, Any], **values: Any) -> dict[str, Any]:
    """Update some columns of a monitor's row; the row."""
    conn.execute(monitors.update().where(monitors.c.id == row["id"]).values(**values))
    return get_monitor(conn, row["name"])


def delete_monitor(conn: Connection, row: Mapping[str, Any]) -> list[int]:
    """Delete a monitor with its checks, watchers and notices; the ids of its checks."""
    ids = [
        r.id for r in conn.execute(sa.select(checks.c.id).where(checks.c.monitor_id == row["id"]))
    ]
    for table in (checks, watchers, notices):
        conn.execute(table.delete().where(table.c.monitor_id == row["id"]))
    conn.execute(monitors.delete().where(monitors.c.id == row["id"]))
    return ids


def watchers_of(conn: Connection, monitor_ids: Iterable[int]) -> dict[int, list[str]]:
    """The watchers of each monitor, sorted."""
    found: dict[int, list[str]] = {}
    ids = list(monitor_ids)
    if not ids:
        return found
    query = sa.select(watchers.c.monitor_id, watchers.c.user).where(watchers.c.monitor_id.in_(ids))
    for r in conn.execute(query.order_by(watchers.c.user)):
        found.setdefault(r.monitor_id, []).append(r.user)
    return found


def watch(conn: Connection, row: Mapping[str, Any], user: str, on: bool) -> None:
    """Start (``on``) or stop watching a monitor; doing it twice changes nothing."""
    where = sa.and_(watchers.c.monitor_id == row["id"], watchers.c.user == user)
    present = conn.execute(sa.select(watchers.c.user).where(where)).first() is not None
    if on and not present:
        conn.execute(watchers.insert().values(monitor_id=row["id"], user=user, created_at=utcnow()))
    elif not on and present:
        conn.execute(watchers.delete().where(where))


def _checks_by_id(conn: Connection, ids: Iterable[int | None]) -> dict[int, dict[str, Any]]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    rows = conn.execute(sa.select(checks).where(checks.c.id.in_(wanted))).mappings()
    return {r["id"]: dict(r) for r in rows}


def monitor_models(conn: Connection, rows: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The API models of monitors' rows (watchers and latest check included)."""
    watching = watchers_of(conn, [r["id"] for r in rows])
    latest = _checks_by_id(conn, [r["latest_check_id"] for r in rows])
    models = []
    for row in rows:
        check = latest.get(row["latest_check_id"])
        models.append(
            {
                "name": row["name"],
                "owner": row["owner"],
                **definition(row),
                "status": row["status"],
                "status_since": iso(row["status_since"]),
                "acknowledged_by": row["acknowledged_by"],
                "acknowledged_at": iso(row["acknowledged_at"]),
                "acknowledge_comment": row["acknowledge_comment"],
                "muted_until": iso(row["muted_until"]),
                "watchers": watching.get(row["id"], []),
                "created_at": iso(row["created_at"]),
                "updated_at": iso(row["updated_at"]),
                "latest_check": check_summary(check, row["name"]) if check else None,
            }
        )
    return models


def monitor_model(conn: Connection, row: Mapping[str, Any]) -> dict[str, Any]:
    """The API model of one monitor."""
    return monitor_models(conn, [row])[0]


def list_monitors(
    conn: Connection, user: str | None, max_results: int, offset: int
) -> tuple[list[dict[str, Any]], bool]:
    """Monitors by name (only those ``user`` owns or watches, when given); whether more follow."""
    query = sa.select(monitors)
    if user is not None:
        watched = sa.select(watchers.c.monitor_id).where(watchers.c.user == user)
        query = query.where(sa.or_(monitors.c.owner == user, monitors.c.id.in_(watched)))
    query = query.order_by(monitors.c.name).offset(offset).limit(max_results + 1)
    rows = [dict(r) for r in conn.execute(query).mappings()]
    return rows[:max_results], len(rows) > max_results


def history(conn: Connection, monitor_id: int, limit: int = HISTORY) -> list[dict[str, Any]]:
    """The monitor's last ``limit`` checks, oldest first (``check_id``, time, share, status)."""
    query = (
        sa.select(checks.c.id, checks.c.created_at, checks.c.drift_share, checks.c.status)
        .where(checks.c.monitor_id == monitor_id)
        .order_by(checks.c.id.desc())
        .limit(limit)
    )
    rows = list(conn.execute(query))
    return [
        {
            "check_id": r.id,
            "created_at": iso(r.created_at),
            "drift_share": r.drift_share,
            "status": r.status,
        }
        for r in reversed(rows)
    ]


def alerts(conn: Connection, user: str) -> list[dict[str, Any]]:
    """Unacknowledged warnings and drifts of the monitors ``user`` owns or watches, by name."""
    watched = sa.select(watchers.c.monitor_id).where(watchers.c.user == user)
    query = (
        sa.select(monitors)
        .where(
            sa.or_(monitors.c.owner == user, monitors.c.id.in_(watched)),
            monitors.c.status.in_(("warning", "drift")),
            monitors.c.acknowledged_at.is_(None),
        )
        .order_by(monitors.c.name)
    )
    rows = [dict(r) for r in conn.execute(query).mappings()]
    latest = _checks_by_id(conn, [r["latest_check_id"] for r in rows])
    now = utcnow()
    found = []
    for row in rows:
        check = latest.get(row["latest_check_id"])
        top = []
        if check is not None:
            ranked = rank(check["columns"], check["importance"])
            top = [c["column"] for c in ranked if c.get("drifted")][:3]
        found.append(
            {
                "monitor": row["name"],
                "status": row["status"],
                "since": iso(row["status_since"]),
                "check_id": row["latest_check_id"],
                "acknowledged": row["acknowledged_at"] is not None,
                "muted": row["muted_until"] is not None and row["muted_until"] > now,
                "top_columns": top,
                "model": row["model"],
            }
        )
    return found


# Checks --------------------------------------------------------------------------------
def check_summary(row: Mapping[str, Any], monitor: str) -> dict[str, Any]:
    """A check's summary (no columns)."""
    return {
        "id": row["id"],
        "monitor": monitor,
        "created_at": iso(row["created_at"]),
        "created_by": row["created_by"],
        "status": row["status"],
        "dataset_drift": row["dataset_drift"],
        "drift_share": row["drift_share"],
        "n_columns": row["n_columns"],
        "n_drifted": row["n_drifted"],
        "reference_rows": row["reference_rows"],
        "current_rows": row["current_rows"],
        "window_start": iso(row["window_start"]),
        "window_end": iso(row["window_end"]),
        "has_report": row["has_report"],
        "job_run_id": row["job_run_id"],
        "job_id": row["job_id"],
    }


def check_model(row: Mapping[str, Any], monitor: str) -> dict[str, Any]:
    """A check with its columns ranked (:func:`ranking.rank`)."""
    return {
        **check_summary(row, monitor),
        "columns": rank(row["columns"], row["importance"]),
        "importance": row["importance"],
        "model_version": row["model_version"],
        "sampled_rows": row["sampled_rows"],
        "threshold_share": row["threshold_share"],
    }


def insert_check(conn: Connection, monitor_id: int, values: Mapping[str, Any]) -> dict[str, Any]:
    """Insert a check; its row."""
    result = conn.execute(checks.insert().values(monitor_id=monitor_id, **values))
    check_id = result.inserted_primary_key[0]
    return dict(conn.execute(sa.select(checks).where(checks.c.id == check_id)).mappings().one())


def get_check(conn: Connection, check_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(check, monitor)`` rows.

    Raises:
        NotFoundError: No such check.
    """
    row = conn.execute(sa.select(checks).where(checks.c.id == check_id)).mappings().first()
    monitor = None
    if row is not None:
        query = sa.select(monitors).where(monitors.c.id == row["monitor_id"])
        monitor = conn.execute(query).mappings().first()
    if row is None or monitor is None:
        raise NotFoundError(f"No drift check {check_id}.")
    return dict(row), dict(monitor)


def list_checks(
    conn: Connection, monitor_id: int, max_results: int, offset: int
) -> tuple[list[dict[str, Any]], bool]:
    """A monitor's checks, newest first; whether more follow."""
    query = (
        sa.select(checks)
        .where(checks.c.monitor_id == monitor_id)
        .order_by(checks.c.id.desc())
        .offset(offset)
        .limit(max_results + 1)
    )
    rows = [dict(r) for r in conn.execute(query).mappings()]
    return rows[:max_results], len(rows) > max_results


def record_notice(
    conn: Connection,
    monitor_id: int,
    check_id: int | None,
    channel: str,
    target: str,
    ok: bool,
    error: str | None,
) -> None:
    """Record one delivery of a notice."""
    conn.execute(
        notices.insert().values(
            monitor_id=monitor_id,
            check_id=check_id,
            channel=channel,
            target=target[:2048],
            ok=ok,
            error=error[:4000] if error else None,
            sent_at=utcnow(),
        )
    )


# Reports -------------------------------------------------------------------------------
def report_path(folder: Path, check_id: int) -> Path:
    """Where a check's report is kept."""
    return folder / f"{int(check_id)}.html"


def write_report(folder: Path, check_id: int, html: str) -> Path:
    """Write a check's report atomically (a temporary file renamed into place)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = report_path(folder, check_id)
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{check_id}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(html.encode("utf-8"))
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return target


def delete_reports(folder: Path, check_ids: Iterable[int]) -> None:
    """Remove the reports of checks (those that have none are skipped)."""
    for check_id in check_ids:
        with contextlib.suppress(FileNotFoundError):
            report_path(folder, check_id).unlink()
