"""Exact point-in-time joins on DuckDB, the engine of the platform's Feast offline store.

:func:`point_in_time_join` joins an entity frame (join keys plus an
``event_timestamp`` column) with the history of one or more feature views, with
Feast's semantics: for each entity row at time ``t``, the feature row of the same
keys whose event timestamp ``ts`` satisfies ``t - ttl <= ts <= t`` (the lower
bound inclusive, as Feast's stores have it; no bound without a TTL or with a TTL
of 0), the latest such; no such row: nulls.

* Ties on the event timestamp go to the latest created timestamp (a null created
  timestamp loses to any other); rows still tied go to the one read last: the last
  file in path order (files sorted by name), the last row in the file (for an
  in-memory source: the last row of the table). Created timestamps are only a
  tie-break: a row created after ``t`` (a late arrival) still counts, as in
  Feast's own stores.
* Entity rows keep their order and duplicates; every entity column passes through
  unchanged, except the timestamp column, which comes back as UTC-aware
  timestamps (naive timestamps are read as UTC, others converted to UTC).
* Timestamps are compared at microsecond precision (DuckDB's). Null join keys and
  null timestamps never match.

The join is DuckDB's ``ASOF LEFT JOIN`` on the equality of the keys and a
version ``(event time, created time, read order)``: the latest version at or
before ``(t, +inf, +inf)`` is the answer before the TTL, and if it is older than
``t - ttl``, so is every other candidate, so nulling it out is exact. Parquet
sources are streamed by DuckDB (never loaded into pandas), under a memory limit
(DuckDB spills to a temporary folder beyond it).
"""

from __future__ import annotations

import glob
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Union

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ENTITY_TIMESTAMP = "event_timestamp"
"""The entity frame's timestamp column, as Feast names it."""

Source = Union[
    str, "os.PathLike[str]", Sequence[Union[str, "os.PathLike[str]"]], pa.Table, pd.DataFrame
]
"""A feature view's history: parquet file(s), folder(s) or glob(s), or a table in memory."""

_INT64_MAX = 2**63 - 1
_INT64_MIN = -(2**63)
_FILE_STRIDE = 2**40  # read order = file index * stride + row number in the file
_ROW = "__nbp_row"
_TS = "__nbp_ts"
_T = "__nbp_t"
_VERSION = "__nbp_v"
_ORD = "__nbp_ord"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class EngineSettings:
    """How DuckDB runs: memory limit, threads and where it spills.

    Attributes:
        memory_limit: DuckDB's ``memory_limit`` (e.g. ``"2GB"``); None: DuckDB's
            default (80% of the machine's memory).
        threads: Worker threads; None: the CPU count, at most 8.
        temp_directory: Where DuckDB spills beyond the memory limit; None: a fresh
            temporary folder per connection, removed when it closes.
    """

    memory_limit: str | None = "2GB"
    threads: int | None = None
    temp_directory: str | None = None


@dataclass(frozen=True, eq=False)
class ViewSpec:
    """One feature view to join: where its history is and which columns to take.

    Names of join keys, features and timestamps are the view's (after
    ``field_mapping``); ``field_mapping`` maps a source column to the view's name
    for it (Feast's ``DataSource.field_mapping``), and a name that no mapping
    produces is the source column's own.

    Attributes:
        name: The view's name (the prefix of its columns with full feature names).
        source: Parquet path(s) (files, folders read recursively, or globs), or a
            pyarrow Table / pandas DataFrame.
        join_keys: The view's join keys.
        features: The features to take, in output order.
        timestamp_field: The event timestamp column.
        created_timestamp_column: The created timestamp column (tie-break), if any.
        ttl: How old a feature row may be; None or 0: unlimited.
        join_key_map: Join key -> entity column, where the entity frame names a
            key differently (Feast's ``projection.join_key_map``).
        field_mapping: Source column -> view column.
    """

    name: str
    source: Source
    join_keys: Sequence[str]
    features: Sequence[str]
    timestamp_field: str = ENTITY_TIMESTAMP
    created_timestamp_column: str | None = None
    ttl: timedelta | None = None
    join_key_map: Mapping[str, str] = field(default_factory=dict)
    field_mapping: Mapping[str, str] = field(default_factory=dict)

    def source_column(self, name: str) -> str:
        """Return the source column behind the view's column ``name``."""
        for src, dst in self.field_mapping.items():
            if dst == name:
                return src
        return name

    def entity_column(self, key: str) -> str:
        """Return the entity frame's column for join key ``key``."""
        return self.join_key_map.get(key, key)

    def output_name(self, feature: str, full_feature_names: bool) -> str:
        """Return the output column of ``feature`` (``view__feature`` with full names)."""
        return f"{self.name}__{feature}" if full_feature_names else feature

    def ttl_us(self) -> int | None:
        """Return the TTL in microseconds, None when unlimited."""
        if not self.ttl or self.ttl <= timedelta(0):
            return None
        return self.ttl // timedelta(microseconds=1)


@dataclass(frozen=True)
class RegisteredSource:
    """A source made readable on a connection.

    Attributes:
        relation: SQL of a relation with the source's columns plus ``__nbp_ord``
            (the read order, BIGINT).
        columns: Column name -> DuckDB type name, as DuckDB reads the source.
        schema: The source's arrow schema (first file's for parquet), used to give
            results the source's column types back.
        description: The source, in words, for error messages.
    """

    relation: str
    columns: dict[str, str]
    schema: pa.Schema
    description: str


def quote(name: str) -> str:
    """Quote an SQL identifier for DuckDB."""
    return '"' + name.replace('"', '""') + '"'


def time_us(expr: str, sql_type: str | None = None) -> str:
    """SQL of the epoch microseconds (BIGINT) of a timestamp expression; naive = UTC.

    Args:
        expr: The expression.
        sql_type: Its DuckDB type, if known: timestamps (any unit, with or without
            time zone) and dates convert directly (casting a ``TIMESTAMPTZ`` to
            ``TIMESTAMP`` is ten times slower without DuckDB's ICU extension);
            other types are cast to ``TIMESTAMP`` first.
    """
    if sql_type and (sql_type.startswith("TIMESTAMP") or sql_type == "DATE"):
        return f"epoch_us({expr})"
    return f"epoch_us(CAST({expr} AS TIMESTAMP))"


def datetime_us(value: datetime) -> int:
    """Return the epoch microseconds of ``value`` (naive = UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // timedelta(microseconds=1)


@contextmanager
def connect(settings: EngineSettings | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open an in-memory DuckDB connection set up for point-in-time work.

    Args:
        settings: Memory limit, threads, spill folder (defaults: :class:`EngineSettings`).

    Yields:
        The connection (closed, and its spill folder removed, on exit).
    """
    settings = settings or EngineSettings()
    with ExitStack() as stack:
        temp = settings.temp_directory or stack.enter_context(
            tempfile.TemporaryDirectory(prefix="nbp-duckdb-")
        )
        config: dict[str, Any] = {
            "threads": settings.threads or min(os.cpu_count() or 1, 8),
            "temp_directory": temp,
            "preserve_insertion_order": False,
            # DuckDB rewrites an ASOF join with a small (estimated) left side into a
            # nested loop; estimates of arrow scans make that a quadratic trap.
            "asof_loop_join_threshold": 0,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
        if settings.memory_limit:
            config["memory_limit"] = settings.memory_limit
        con = duckdb.connect(":memory:", config=config)
        try:
            yield con
        finally:
            con.close()


def parquet_files(source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[str]:
    """Resolve parquet path(s) to the files they name, in read order.

    A folder stands for the ``*.parquet`` files under it (recursively; names
    starting with ``.`` or ``_`` are skipped), a glob for its matches, both sorted
    by name; a list keeps its order.

    Args:
        source: A path, a folder, a glob, or a list of them.

    Returns:
        The files.

    Raises:
        FileNotFoundError: A path that does not exist or a folder/glob with no
            parquet file.
    """
    if isinstance(source, (str, os.PathLike)):
        items: Sequence[str | os.PathLike[str]] = [source]
    else:
        items = source
    files: list[str] = []
    for item in items:
        text = os.fspath(item)
        if any(ch in text for ch in "*?["):
            found = sorted(p for p in glob.glob(text, recursive=True) if os.path.isfile(p))
        elif os.path.isdir(text):
            found = sorted(
                str(p)
                for p in Path(text).rglob("*.parquet")
                if p.is_file()
                and not any(part.startswith((".", "_")) for part in p.relative_to(text).parts)
            )
        elif os.path.isfile(text):
            found = [text]
        else:
            raise FileNotFoundError(f"no such parquet file or folder: {text}")
        if not found:
            raise FileNotFoundError(f"no parquet file in {text}")
        files.extend(found)
    return files


def register_source(con: duckdb.DuckDBPyConnection, source: Source, name: str) -> RegisteredSource:
    """Make ``source`` readable on ``con`` as a relation with a read-order column.

    Args:
        con: The connection.
        source: Parquet path(s) or an in-memory table.
        name: A name unique on the connection (for in-memory tables).

    Returns:
        The relation, its columns and schema.
    """
    if isinstance(source, (pa.Table, pd.DataFrame)):
        table = (
            source
            if isinstance(source, pa.Table)
            else pa.Table.from_pandas(source, preserve_index=False)
        )
        order = pa.array(np.arange(table.num_rows, dtype=np.int64))
        con.register(name, table.append_column(_ORD, order))
        relation, description, schema = quote(name), f"table {name}", table.schema
    else:
        files = parquet_files(source)
        listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
        relation = (
            f"(SELECT *, CAST(file_index AS BIGINT) * {_FILE_STRIDE} + file_row_number AS {_ORD} "
            f"FROM read_parquet([{listed}], union_by_name = true))"
        )
        description = (
            files[0] if len(files) == 1 else f"{len(files)} parquet files ({files[0]}, ...)"
        )
        schema = pq.read_schema(files[0])
    described = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    columns = {row[0]: row[1] for row in described if row[0] != _ORD}
    return RegisteredSource(relation, columns, schema, description)


def restore_types(table: pa.Table, schema: pa.Schema, names: Mapping[str, str]) -> pa.Table:
    """Cast result columns back to their source's arrow types where DuckDB changed them.

    Args:
        table: The result.
        schema: The source's schema.
        names: Result column -> source column.

    Returns:
        The table, with each column the source's type where the cast is possible.
    """
    for out, src in names.items():
        if src not in schema.names or out not in table.column_names:
            continue
        want = schema.field(src).type
        index = table.column_names.index(out)
        column = table.column(index)
        if column.type == want:
            continue
        with suppress(pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            table = table.set_column(index, out, column.cast(want))
    return table


def _entity_table(entity: pd.DataFrame | pa.Table, timestamp_column: str) -> pa.Table:
    """The entity frame as arrow, its timestamp column UTC-aware."""
    if isinstance(entity, pd.DataFrame):
        if timestamp_column not in entity.columns:
            raise ValueError(f"the entity frame has no {timestamp_column!r} column")
        column = entity[timestamp_column]
        if not (isinstance(column.dtype, pd.DatetimeTZDtype) and str(column.dtype.tz) == "UTC"):
            entity = entity.assign(**{timestamp_column: pd.to_datetime(column, utc=True)})
        return pa.Table.from_pandas(entity, preserve_index=False)
    if not isinstance(entity, pa.Table):
        raise ValueError(
            "the entity frame must be a pandas DataFrame or a pyarrow Table, "
            f"not {type(entity).__name__}"
        )
    if timestamp_column not in entity.column_names:
        raise ValueError(f"the entity frame has no {timestamp_column!r} column")
    index = entity.column_names.index(timestamp_column)
    column = entity.column(index)
    if pa.types.is_timestamp(column.type):
        utc = column.cast(pa.timestamp(column.type.unit, "UTC"))
    elif pa.types.is_date(column.type):
        utc = column.cast(pa.timestamp("us")).cast(pa.timestamp("us", "UTC"))
    else:
        utc = pa.chunked_array([pa.array(pd.to_datetime(column.to_pandas(), utc=True))])
    return entity.set_column(index, timestamp_column, utc)


def _check(entity: pa.Table, views: Sequence[ViewSpec], full_feature_names: bool) -> None:
    """Refuse missing entity columns and clashing output columns."""
    seen = {name: "the entity frame" for name in entity.column_names}
    for view in views:
        for key in view.join_keys:
            column = view.entity_column(key)
            if column not in entity.column_names:
                raise ValueError(
                    f"the entity frame has no column {column!r} "
                    f"(join key {key!r} of feature view {view.name!r})"
                )
        for feature in view.features:
            out = view.output_name(feature, full_feature_names)
            if out in seen:
                raise ValueError(
                    f"column {out!r} of feature view {view.name!r} clashes with {seen[out]}"
                    + ("" if full_feature_names else "; use full feature names")
                )
            seen[out] = f"feature view {view.name!r}"


def _join_one(
    con: duckdb.DuckDBPyConnection,
    view: ViewSpec,
    index: int,
    bounds: tuple[int, int] | None,
    full_feature_names: bool,
) -> pa.Table:
    """The feature columns of one view, one row per entity row, in entity order."""
    src = register_source(con, view.source, f"__nbp_src_{index}")
    needed = [view.source_column(k) for k in view.join_keys] + [
        view.source_column(view.timestamp_field)
    ]
    needed += [view.source_column(f) for f in view.features]
    if view.created_timestamp_column:
        needed.append(view.source_column(view.created_timestamp_column))
    for column in needed:
        if column not in src.columns:
            raise ValueError(
                f"feature view {view.name!r}: its source {src.description} has no column {column!r}"
            )
    ts_column = view.source_column(view.timestamp_field)
    ts = time_us(quote(ts_column), src.columns[ts_column])
    created = None
    if view.created_timestamp_column:
        created_column = view.source_column(view.created_timestamp_column)
        created = (
            f"COALESCE({time_us(quote(created_column), src.columns[created_column])}, "
            f"CAST({_INT64_MIN} AS BIGINT))"
        )
    version = (
        f"{{'t': {_T}, "
        + (f"'c': {created}, " if created else "")
        + f"'o': CAST({_ORD} AS BIGINT)}}"
    )
    top = f"CAST({_INT64_MAX} AS BIGINT)"
    probe = f"{{'t': e.{_T}, " + (f"'c': {top}, " if created else "") + f"'o': {top}}}"
    keys = [f"k{i}" for i in range(len(view.join_keys))]
    feats = [f"f{i}" for i in range(len(view.features))]
    select = [
        f"{quote(view.source_column(k))} AS {a}" for k, a in zip(view.join_keys, keys, strict=True)
    ]
    select += [
        f"{quote(view.source_column(f))} AS {a}" for f, a in zip(view.features, feats, strict=True)
    ]
    ttl = view.ttl_us()
    where = [f"{_T} IS NOT NULL"]
    if bounds is not None:  # rows after every entity time (or expired before any) never match
        where.append(f"{_T} <= {bounds[1]}")
        if ttl is not None:
            where.append(f"{_T} >= {bounds[0] - ttl}")
    columns = ", ".join([*select, _T, f"{version} AS {_VERSION}"])
    right = (
        f"SELECT {columns} FROM (SELECT *, {ts} AS {_T} FROM {src.relation}) "
        f"WHERE {' AND '.join(where)}"
    )
    on = [
        f"e.{quote(view.entity_column(k))} = s.{a}"
        for k, a in zip(view.join_keys, keys, strict=True)
    ]
    on.append(f"(CASE WHEN e.{_T} IS NULL THEN NULL ELSE {probe} END) >= s.{_VERSION}")
    if ttl is None:
        outs = [f"s.{a} AS {a}" for a in feats]
    else:
        outs = [f"CASE WHEN s.{_T} >= e.{_T} - {ttl} THEN s.{a} END AS {a}" for a in feats]
    sql = (
        f"SELECT e.{_ROW}, {', '.join(outs)} FROM __nbp_entity e "
        f"ASOF LEFT JOIN ({right}) s ON {' AND '.join(on)} ORDER BY e.{_ROW}"
    )
    result = con.execute(sql).to_arrow_table()
    names = [view.output_name(f, full_feature_names) for f in view.features]
    result = result.select(feats).rename_columns(names)
    return restore_types(
        result,
        src.schema,
        {n: view.source_column(f) for n, f in zip(names, view.features, strict=True)},
    )


def point_in_time_join(
    entity: pd.DataFrame | pa.Table,
    views: Sequence[ViewSpec],
    full_feature_names: bool = False,
    *,
    timestamp_column: str = ENTITY_TIMESTAMP,
    settings: EngineSettings | None = None,
) -> pa.Table:
    """Join the entity frame with the feature views, point in time (see the module).

    Args:
        entity: Join keys (as the views' ``join_key_map`` names them) and the
            timestamp column; other columns pass through.
        views: The feature views, joined in this order (columns: entity columns,
            then each view's features).
        full_feature_names: Name feature columns ``view__feature``.
        timestamp_column: The entity frame's timestamp column.
        settings: DuckDB's memory limit and threads.

    Returns:
        The entity rows, in order, with the features (``.to_pandas()`` for pandas).

    Raises:
        ValueError: A missing entity column (named), a source missing a column,
            clashing output names.
        FileNotFoundError: A parquet source that does not exist.
    """
    table = _entity_table(entity, timestamp_column)
    _check(table, views, full_feature_names)
    if not views:
        return table
    key_columns = list(dict.fromkeys(v.entity_column(k) for v in views for k in v.join_keys))
    slim = table.select(key_columns).append_column(_TS, table.column(timestamp_column))
    slim = slim.append_column(_ROW, pa.array(np.arange(table.num_rows, dtype=np.int64)))
    with connect(settings) as con:
        con.register("__nbp_entity_in", slim)
        con.execute(
            "CREATE TEMP VIEW __nbp_entity AS "
            f"SELECT *, {time_us(_TS, 'TIMESTAMP WITH TIME ZONE')} AS {_T} FROM __nbp_entity_in"
        )
        low, high = con.execute(f"SELECT min({_T}), max({_T}) FROM __nbp_entity").fetchall()[0]
        bounds = None if low is None or high is None else (int(low), int(high))
        for index, view in enumerate(views):
            features = _join_one(con, view, index, bounds, full_feature_names)
            if features.num_rows != table.num_rows:
                raise RuntimeError(
                    f"feature view {view.name!r}: {features.num_rows} rows for {table.num_rows}"
                )
            for name in features.column_names:
                table = table.append_column(name, features.column(name))
    return table
