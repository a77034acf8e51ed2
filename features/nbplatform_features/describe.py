"""What the API says about feature views, services and entities: models, freshness, statistics.

A view's *freshness* compares the end of its last materialized interval with
its TTL: ``never`` (not materialized yet), ``stale`` (the online store is older
than the TTL, so lookups may return nothing) or ``fresh``. Statistics of a
view's source (row count, event-time range, per-feature summaries and a
histogram) are computed with DuckDB straight from the parquet data and kept
until the data changes.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: Bins of a numeric feature's histogram.
HISTOGRAM_BINS = 20
#: Most frequent values listed for a non-numeric feature.
TOP_VALUES = 10
_NUMERIC = (
    "INT",
    "FLOAT",
    "DOUBLE",
    "DECIMAL",
    "BIGINT",
    "SMALLINT",
    "TINYINT",
    "HUGEINT",
    "REAL",
    "UBIGINT",
    "UINTEGER",
    "USMALLINT",
    "UTINYINT",
)


def iso(value: datetime | None) -> str | None:
    """``value`` as ISO 8601 in UTC (naive values are UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def _source_model(source: Any) -> dict[str, Any]:
    from feast import FileSource, PushSource

    batch = source.batch_source if isinstance(source, PushSource) else source
    kind = (
        "push"
        if isinstance(source, PushSource)
        else ("file" if isinstance(source, FileSource) else type(source).__name__)
    )
    return {
        "name": source.name,
        "type": kind,
        "path": getattr(batch, "path", None),
        "timestamp_field": getattr(batch, "timestamp_field", "") or "",
    }


def freshness(view: Any, now: datetime | None = None) -> dict[str, Any]:
    """``{"status": fresh|stale|never, "age_seconds", "checked_at"}`` of ``view``."""
    now = now or datetime.now(UTC)
    ends = [end for _, end in view.materialization_intervals]
    if not ends:
        return {"status": "never", "age_seconds": None, "checked_at": iso(now)}
    end = max(ends)
    end = end if end.tzinfo else end.replace(tzinfo=UTC)
    age = (now - end).total_seconds()
    ttl = view.ttl.total_seconds() if view.ttl else 0
    status = "stale" if ttl and age > ttl else "fresh"
    return {"status": status, "age_seconds": round(age, 3), "checked_at": iso(now)}


def view_model(
    view: Any, entities: Mapping[str, Any], last_run: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The API model of a feature view (contract: ``View``)."""
    intervals = view.materialization_intervals
    start = min((s for s, _ in intervals), default=None)
    end = max((e for _, e in intervals), default=None)
    ttl = int(view.ttl.total_seconds()) if view.ttl else None
    return {
        "name": view.name,
        "description": view.description,
        "owner": view.owner,
        "tags": dict(view.tags),
        "entities": [
            entity_model(entities[name])
            if name in entities
            else {"name": name, "join_keys": [], "value_type": ""}
            for name in view.entities
            if name != "__dummy"
        ],
        "features": [{"name": f.name, "dtype": str(f.dtype)} for f in view.features],
        "ttl_seconds": ttl or None,
        "online": bool(view.online),
        "source": _source_model(view.stream_source or view.batch_source),
        "created_at": iso(view.created_timestamp),
        "updated_at": iso(view.last_updated_timestamp),
        "materialization": {"start": iso(start), "end": iso(end), "last_run": last_run},
        "freshness": freshness(view),
    }


def entity_model(entity: Any) -> dict[str, Any]:
    """The API model of an entity."""
    return {
        "name": entity.name,
        "join_keys": [entity.join_key],
        "value_type": entity.value_type.name if entity.value_type else "",
        "description": entity.description,
        "owner": entity.owner,
    }


def service_model(service: Any) -> dict[str, Any]:
    """The API model of a feature service."""
    return {
        "name": service.name,
        "description": service.description,
        "owner": service.owner,
        "tags": dict(service.tags),
        "features": [
            f"{p.name_to_use()}:{f.name}"
            for p in service.feature_view_projections
            for f in p.features
        ],
        "views": [p.name for p in service.feature_view_projections],
    }


class SourceStatistics:
    """Statistics of views' sources, computed once per version of the data."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, tuple[str, ...]], tuple[Any, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def of(self, view: Any) -> dict[str, Any]:
        """``stats`` of the contract for ``view`` (empty for a source that is not a file)."""
        from feast import PushSource

        source = view.batch_source
        source = source.batch_source if isinstance(source, PushSource) else source
        path = getattr(source, "path", None)
        if not path or not Path(path).exists():
            return {"row_count": 0, "event_time": {"min": None, "max": None}, "columns": []}
        columns = tuple(f.name for f in view.features)
        version = _version(Path(path))
        key = (path, columns)
        with self._lock:
            cached = self._cache.get(key)
        if cached and cached[0] == version:
            return cached[1]
        stats = _statistics(path, source.timestamp_field, columns)
        with self._lock:
            self._cache[key] = (version, stats)
        return stats


def _version(path: Path) -> tuple[Any, ...]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.parquet"))
        return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)
    stat = path.stat()
    return (stat.st_mtime_ns, stat.st_size)


def _scan(path: str) -> str:
    target = os.path.join(path, "**", "*.parquet") if os.path.isdir(path) else path
    return "read_parquet('" + target.replace("'", "''") + "', union_by_name = true)"


def _statistics(path: str, timestamp: str, columns: tuple[str, ...]) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect(config={"threads": 1, "memory_limit": "1GB"})
    try:
        con.execute(f"CREATE TEMP VIEW src AS SELECT * FROM {_scan(path)}")
        types = {
            name: kind
            for name, kind in con.execute(
                "SELECT column_name, column_type FROM (DESCRIBE src)"
            ).fetchall()
        }
        q = _quote
        row_count = con.execute("SELECT count(*) FROM src").fetchone()[0]
        first = last = None
        if timestamp in types:
            first, last = con.execute(
                f"SELECT min({q(timestamp)}), max({q(timestamp)}) FROM src"
            ).fetchone()
        out = []
        for name in columns:
            kind = types.get(name)
            if kind is None:
                continue
            out.append(_column(con, name, kind, row_count))
        return {
            "row_count": int(row_count),
            "event_time": {
                "min": iso(first) if first else None,
                "max": iso(last) if last else None,
            },
            "columns": out,
        }
    finally:
        con.close()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _column(con: Any, name: str, kind: str, rows: int) -> dict[str, Any]:
    q = _quote(name)
    numeric = kind.upper().startswith(_NUMERIC)
    model: dict[str, Any] = {
        "name": name,
        "dtype": kind,
        "mean": None,
        "std": None,
        "min": None,
        "max": None,
        "histogram": None,
        "top": None,
    }
    count = con.execute(f"SELECT count({q}) FROM src").fetchone()[0]
    model.update(count=int(count), nulls=int(rows - count))
    if numeric and count:
        mean, std, low, high = con.execute(
            f"SELECT avg({q}::DOUBLE), stddev_samp({q}::DOUBLE), min({q}::DOUBLE), "
            f"max({q}::DOUBLE) FROM src"
        ).fetchone()
        model.update(mean=mean, std=std, min=low, max=high)
        model["histogram"] = _histogram(con, q, low, high)
    elif count:
        top = con.execute(
            f"SELECT {q}::VARCHAR AS v, count(*) AS n FROM src WHERE {q} IS NOT NULL "
            f"GROUP BY v ORDER BY n DESC, v LIMIT {TOP_VALUES}"
        ).fetchall()
        model["top"] = [{"value": v, "count": int(n)} for v, n in top]
    return model


def _histogram(con: Any, q: str, low: float, high: float) -> dict[str, Any]:
    if high == low:
        n = con.execute(f"SELECT count({q}) FROM src").fetchone()[0]
        return {"edges": [low, high], "counts": [int(n)]}
    width = (high - low) / HISTOGRAM_BINS
    rows = con.execute(
        f"SELECT least(floor(({q}::DOUBLE - ?) / ?)::INTEGER, ?) AS b, count(*) FROM src "
        f"WHERE {q} IS NOT NULL GROUP BY b",
        [low, width, HISTOGRAM_BINS - 1],
    ).fetchall()
    counts = [0] * HISTOGRAM_BINS
    for b, n in rows:
        counts[int(b)] = int(n)
    return {"edges": [low + i * width for i in range(HISTOGRAM_BINS)] + [high], "counts": counts}
