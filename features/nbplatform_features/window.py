"""A feature view's rows in a time window, as Arrow: the current data of a drift monitor.

The rows come from the view's batch source (the file the definitions named,
inside the data roots), read with DuckDB: join keys, the event timestamp and
the view's features, for ``start <= timestamp < end``. A window holding more
rows than asked for is answered as a seeded reservoir sample of that many rows,
and the description says so.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from nbplatform.errors import InvalidParameterError, NotFoundError

from .describe import _quote, _scan, iso
from .repo import FeatureRepo
from .settings import PROJECT

#: The most rows one window answer may hold (a larger window is sampled).
MAX_ROWS = 5_000_000


def view_window(
    repo: FeatureRepo, name: str, start: datetime, end: datetime, max_rows: int
) -> tuple[bytes, dict[str, Any]]:
    """The rows of view ``name`` with ``start <= event time < end``, as an Arrow IPC stream.

    Args:
        repo: The platform's feature repository.
        name: The feature view.
        start: Start of the window (inclusive, timezone-aware).
        end: End of the window (exclusive).
        max_rows: At most this many rows: more are sampled down to it (seeded).

    Returns:
        The stream and its description (``rows``, ``source_rows``, ``sampled``,
        ``start``, ``end``, ``columns``).

    Raises:
        NotFoundError: No such view, or its source is not a file.
        InvalidParameterError: An empty or reversed window.
    """
    import duckdb
    import pyarrow as pa
    from feast import PushSource

    if end <= start:
        raise InvalidParameterError("end: must come after start.")
    registry = repo.store.registry
    registry.refresh(PROJECT)
    view = next((v for v in registry.list_feature_views(PROJECT) if v.name == name), None)
    if view is None:
        raise NotFoundError(f"No feature view named {name!r}.")
    source = view.batch_source
    source = source.batch_source if isinstance(source, PushSource) else source
    path = getattr(source, "path", None)
    if not path or not Path(path).exists():
        raise NotFoundError(f"Feature view {name!r} has no source file to read a window of.")
    keys = [c.name for c in view.entity_columns]
    timestamp = source.timestamp_field
    columns = [*keys, timestamp, *(f.name for f in view.features)]
    selected = ", ".join(_quote(c) for c in columns)
    con = duckdb.connect(config={"threads": 2, "memory_limit": "2GB"})
    try:
        con.execute("SET TimeZone = 'UTC'")
        ts = _quote(timestamp)
        rows = (
            f"SELECT {selected} FROM {_scan(path)} "
            f"WHERE {ts} >= ?::TIMESTAMPTZ AND {ts} < ?::TIMESTAMPTZ"
        )
        count = con.execute(f"SELECT count(*) FROM ({rows})", [start, end]).fetchone()[0]
        query = rows
        if count > max_rows:
            query = (
                f"SELECT * FROM ({rows}) USING SAMPLE reservoir({int(max_rows)} ROWS) "
                "REPEATABLE (0)"
            )
        table = con.execute(query, [start, end]).to_arrow_table()
    except duckdb.Error as e:
        raise InvalidParameterError(f"The source of {name!r} cannot be read: {e}") from e
    finally:
        con.close()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    description = {
        "view": name,
        "rows": table.num_rows,
        "source_rows": int(count),
        "sampled": count > max_rows,
        "start": iso(start),
        "end": iso(end),
        "columns": columns,
        "timestamp_field": timestamp,
        "join_keys": keys,
    }
    return sink.getvalue().to_pybytes(), description
