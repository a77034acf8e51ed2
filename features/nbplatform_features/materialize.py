"""Materialization: copy feature values from the offline store into the online store.

Each one is recorded in ``feature_materializations`` (who, which views, which
interval, the job run that asked when it came from a scheduled job, and how it
ended). Feast keeps the materialized intervals in its registry; the record
says who did it and links a scheduled one to its job run.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from nbplatform.errors import InvalidParameterError, NotFoundError

from .describe import iso
from .repo import FeatureRepo
from .schema import materializations
from .settings import PROJECT


def _naive(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def record_model(row: Any) -> dict[str, Any]:
    """The API model of a materialization row (contract: ``Materialization``)."""
    return {
        "id": row.id,
        "views": list(row.views),
        "start": iso(row.start),
        "end": iso(row.end),
        "incremental": bool(row.incremental),
        "status": row.status,
        "error": row.error,
        "started_by": row.started_by,
        "job_id": row.job_id,
        "run_id": row.run_id,
        "started_at": iso(row.started_at),
        "finished_at": iso(row.finished_at),
    }


def _views(repo: FeatureRepo, views: Sequence[str] | None) -> list[str]:
    store = repo.store
    store.registry.refresh(PROJECT)
    known = {v.name: v for v in store.registry.list_feature_views(PROJECT, allow_cache=False)}
    if views is None:
        return sorted(name for name, view in known.items() if view.online)
    for name in views:
        if name not in known:
            raise NotFoundError(f"views: no feature view named {name!r}.")
    return list(dict.fromkeys(views))


def materialize(
    repo: FeatureRepo,
    engine: Engine,
    caller: str,
    origin: dict[str, Any],
    views: Sequence[str] | None,
    start: datetime | None,
    end: datetime | None,
    incremental: bool,
) -> dict[str, Any]:
    """Materialize ``views`` (every online view when ``None``) and record it.

    Args:
        repo: The platform's feature repository.
        engine: The platform database.
        caller: Who asked.
        origin: ``{"job_id", "run_id"}`` when a job run's token asked.
        views: Feature view names.
        start: Start of the interval (not with ``incremental``, which starts
            where the last materialization of each view ended, or at ``start``).
        end: End of the interval (default: now).
        incremental: Continue from the last materialized end.

    Returns:
        The record, ``status`` ``succeeded`` or ``failed`` (with ``error``).

    Raises:
        InvalidParameterError: No ``start`` for a full materialization, or an
            interval that ends before it starts.
        NotFoundError: A view that does not exist.
    """
    end = end or datetime.now(UTC)
    if not incremental and start is None:
        raise InvalidParameterError("start: a materialization needs a start unless incremental.")
    if start is not None and start >= end:
        raise InvalidParameterError("start: must be before end.")
    names = _views(repo, views)
    if not names:
        raise InvalidParameterError("views: there is no online feature view to materialize.")
    row = {
        "id": secrets.token_hex(8),
        "views": names,
        "start": _naive(start),
        "end": _naive(end),
        "incremental": incremental,
        "status": "running",
        "error": None,
        "started_by": caller,
        "job_id": origin.get("job_id"),
        "run_id": origin.get("run_id"),
        "started_at": _naive(datetime.now(UTC)),
        "finished_at": None,
    }
    with engine.begin() as conn:
        conn.execute(materializations.insert().values(**row))
    status, error = "succeeded", None
    try:
        with repo.write_lock:
            store = repo.store
            store.registry.refresh(PROJECT)
            if incremental:
                store.materialize_incremental(end_date=end, feature_views=names)
            else:
                store.materialize(start_date=start, end_date=end, feature_views=names)
    except Exception as e:  # Feast's and the stores' errors: recorded, then reported
        repo.reset()
        status, error = "failed", f"{type(e).__name__}: {e}"[:4000]
    with engine.begin() as conn:
        conn.execute(
            materializations.update()
            .where(materializations.c.id == row["id"])
            .values(status=status, error=error, finished_at=_naive(datetime.now(UTC)))
        )
        done = conn.execute(
            sa.select(materializations).where(materializations.c.id == row["id"])
        ).one()
    return record_model(done)


def list_records(
    engine: Engine, view: str | None, max_results: int, offset: int
) -> tuple[list[dict[str, Any]], bool]:
    """Materializations, newest first (of ``view`` when given); and whether more follow."""
    query = sa.select(materializations).order_by(
        materializations.c.started_at.desc(), materializations.c.id.desc()
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    if view is not None:
        rows = [r for r in rows if view in r.views]
    page = rows[offset : offset + max_results + 1]
    return [record_model(r) for r in page[:max_results]], len(page) > max_results


def last_runs(engine: Engine, limit: int = 500) -> dict[str, dict[str, Any]]:
    """The latest materialization of each view, among the last ``limit``."""
    query = (
        sa.select(materializations)
        .order_by(materializations.c.started_at.desc(), materializations.c.id.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:
        for name in row.views:
            latest.setdefault(name, record_model(row))
    return latest
