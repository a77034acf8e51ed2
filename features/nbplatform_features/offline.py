"""The platform's Feast offline store: parquet ``FileSource`` history, joined on DuckDB.

Configure it in ``feature_store.yaml``::

    offline_store:
      type: nbplatform_features.offline.DuckDBOfflineStore
      memory_limit: 2GB      # optional (DuckDB spills beyond it); null: DuckDB's default
      threads: 4             # optional; default: the CPU count, at most 8
      temp_directory: null   # optional spill folder; default: a fresh temporary one

Feast resolves the class from ``type`` and its configuration class by appending
``Config`` to the class name (:class:`DuckDBOfflineStoreConfig`).

Historical retrieval is :func:`nbplatform_features.pit.point_in_time_join` (see
there for the exact semantics, Feast's). Materialization reads through
:meth:`DuckDBOfflineStore.pull_latest_from_table_or_query` and
:meth:`DuckDBOfflineStore.pull_all_from_table_or_query` (both with inclusive time
bounds, as Feast's file store). Pushes to the offline store append: a new parquet
file in a folder source, or the rows added at the end of a single-file source
(rewritten to a temporary file, then moved over it). Only local parquet sources
are read; on-demand feature views and ``filter_by_created_timestamp`` are refused.
"""

from __future__ import annotations

import fcntl
import os
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

import pandas as pd
import pyarrow as pa
import pyarrow.dataset
import pyarrow.parquet as pq
from feast.data_format import ParquetFormat
from feast.data_source import DataSource
from feast.errors import SavedDatasetLocationAlreadyExists
from feast.feature_logging import LoggingConfig, LoggingSource
from feast.feature_view import DUMMY_ENTITY_ID, DUMMY_ENTITY_VAL, FeatureView
from feast.infra.offline_stores.file_source import (
    FileLoggingDestination,
    FileSource,
    SavedDatasetFileStorage,
)
from feast.infra.offline_stores.offline_store import (
    OfflineStore,
    RetrievalJob,
    RetrievalMetadata,
)
from feast.infra.registry.base_registry import BaseRegistry
from feast.on_demand_feature_view import OnDemandFeatureView
from feast.repo_config import FeastConfigBaseModel, RepoConfig
from feast.saved_dataset import SavedDatasetStorage
from feast.utils import _get_requested_feature_views_to_features_dict, _parse_feature_ref
from pydantic import StrictInt, StrictStr

from nbplatform_features import pit

STORE_TYPE = "nbplatform_features.offline.DuckDBOfflineStore"
"""The ``offline_store.type`` of ``feature_store.yaml`` that selects this store."""


class DuckDBOfflineStoreConfig(FeastConfigBaseModel):
    """``offline_store`` of ``feature_store.yaml`` for :class:`DuckDBOfflineStore`."""

    type: Literal["nbplatform_features.offline.DuckDBOfflineStore"] = STORE_TYPE
    """The store's class path."""

    memory_limit: StrictStr | None = "2GB"
    """DuckDB's memory limit (it spills beyond); None: DuckDB's default."""

    threads: StrictInt | None = None
    """DuckDB worker threads; None: the CPU count, at most 8."""

    temp_directory: StrictStr | None = None
    """DuckDB's spill folder; None: a fresh temporary folder per query."""


def _settings(config: RepoConfig) -> pit.EngineSettings:
    store = config.offline_store
    if not isinstance(store, DuckDBOfflineStoreConfig):
        raise TypeError(f"offline_store must be {STORE_TYPE}, not {type(store).__name__}")
    return pit.EngineSettings(store.memory_limit, store.threads, store.temp_directory)


def source_path(config: RepoConfig, data_source: DataSource) -> str:
    """Return the local path of a parquet ``FileSource``, resolved against the repo.

    Args:
        config: The repo's config (its ``repo_path`` anchors relative paths).
        data_source: The source.

    Returns:
        The path (a file, a folder or a glob).

    Raises:
        NotImplementedError: Not a local parquet ``FileSource``.
    """
    if not isinstance(data_source, FileSource):
        raise NotImplementedError(
            f"data source {data_source.name!r} is a {type(data_source).__name__}; "
            "the platform's offline store reads parquet FileSources only"
        )
    fmt = data_source.file_options.file_format
    if fmt is not None and not isinstance(fmt, ParquetFormat):
        raise NotImplementedError(
            f"data source {data_source.name!r}: format {type(fmt).__name__} "
            "is not supported (parquet only)"
        )
    path = FileSource.get_uri_for_file_path(config.repo_path, data_source.file_options.uri)
    parsed = urlparse(path)
    if parsed.scheme == "file":
        return parsed.path
    if parsed.scheme and (parsed.netloc or len(parsed.scheme) > 1):
        raise NotImplementedError(
            f"data source {data_source.name!r}: remote path {path!r} (local files only)"
        )
    return path


class DuckDBRetrievalJob(RetrievalJob):
    """A lazy retrieval: ``evaluate`` runs on each ``to_arrow``/``to_df``.

    Args:
        evaluate: Returns the result table.
        full_feature_names: Whether feature columns are ``view__feature``.
        metadata: Feast's retrieval metadata (features, keys, time range).
        repo_path: The repo (anchors a relative ``persist`` destination).
    """

    def __init__(
        self,
        evaluate: Callable[[], pa.Table],
        full_feature_names: bool,
        metadata: RetrievalMetadata | None = None,
        repo_path: str | None = None,
    ) -> None:
        self._evaluate = evaluate
        self._full_feature_names = full_feature_names
        self._metadata = metadata
        self._repo_path = repo_path

    @property
    def full_feature_names(self) -> bool:
        """Whether feature columns are named ``view__feature``."""
        return self._full_feature_names

    @property
    def on_demand_feature_views(self) -> list[OnDemandFeatureView]:
        """None: on-demand feature views are not supported."""
        return []

    @property
    def metadata(self) -> RetrievalMetadata | None:
        """Feast's retrieval metadata."""
        return self._metadata

    def _to_arrow_internal(self, timeout: int | None = None) -> pa.Table:
        return self._evaluate()

    def _to_df_internal(self, timeout: int | None = None) -> pd.DataFrame:
        return self._evaluate().to_pandas().reset_index(drop=True)

    def persist(
        self,
        storage: SavedDatasetStorage,
        allow_overwrite: bool = False,
        timeout: int | None = None,
    ) -> None:
        """Write the result as parquet to a ``SavedDatasetFileStorage`` (a file or a folder)."""
        if not isinstance(storage, SavedDatasetFileStorage):
            raise NotImplementedError("only file storage is supported for saved datasets")
        path = FileSource.get_uri_for_file_path(self._repo_path, storage.file_options.uri)
        if not allow_overwrite and os.path.exists(path):
            raise SavedDatasetLocationAlreadyExists(location=path)
        table = self.to_arrow()
        if path.endswith(".parquet"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, path)
        else:
            pq.write_to_dataset(table, root_path=path)

    def supports_remote_storage_export(self) -> bool:
        """False: results stay local."""
        return False


def _entity_timestamp_column(entity_df: pd.DataFrame | pa.Table) -> str:
    """``event_timestamp``, or the frame's only datetime column (as Feast's stores do)."""
    columns = (
        list(entity_df.columns) if isinstance(entity_df, pd.DataFrame) else entity_df.column_names
    )
    if pit.ENTITY_TIMESTAMP in columns:
        return pit.ENTITY_TIMESTAMP
    if isinstance(entity_df, pd.DataFrame):
        dated = list(entity_df.select_dtypes(include=["datetime", "datetimetz"]).columns)
    else:
        dated = [f.name for f in entity_df.schema if pa.types.is_timestamp(f.type)]
    if len(dated) == 1:
        return str(dated[0])
    raise ValueError(
        f"the entity frame has no {pit.ENTITY_TIMESTAMP!r} column (the time of each row)"
    )


def view_spec(
    config: RepoConfig, feature_view: FeatureView, features: Sequence[str]
) -> pit.ViewSpec:
    """Describe ``feature_view`` (its batch source, keys, TTL) for :func:`pit.point_in_time_join`.

    Args:
        config: The repo's config.
        feature_view: The view (with its projection: alias, join key map).
        features: The features wanted.

    Returns:
        The view spec.
    """
    source = feature_view.batch_source
    return pit.ViewSpec(
        name=feature_view.projection.name_to_use(),
        source=source_path(config, source),
        join_keys=[column.name for column in feature_view.entity_columns],
        features=list(features),
        timestamp_field=source.timestamp_field,
        created_timestamp_column=source.created_timestamp_column or None,
        ttl=feature_view.ttl,
        join_key_map=dict(feature_view.projection.join_key_map or {}),
        field_mapping=dict(source.field_mapping or {}),
    )


def _pull(
    config: RepoConfig,
    data_source: DataSource,
    join_key_columns: list[str],
    feature_name_columns: list[str],
    timestamp_field: str,
    created_timestamp_column: str | None,
    start_date: datetime | None,
    end_date: datetime | None,
    latest: bool,
) -> pa.Table:
    """Rows of a source in ``[start_date, end_date]``; with ``latest``, the latest per key."""
    path = source_path(config, data_source)
    columns = list(dict.fromkeys([*join_key_columns, *feature_name_columns, timestamp_field]))
    if created_timestamp_column:
        columns = list(dict.fromkeys([*columns, created_timestamp_column]))
    with pit.connect(_settings(config)) as con:
        src = pit.register_source(con, path, "__nbp_pull")
        for column in columns:
            if column not in src.columns:
                raise ValueError(
                    f"data source {data_source.name!r} ({src.description}) has no column {column!r}"
                )
        ts = pit.time_us(pit.quote(timestamp_field), src.columns[timestamp_field])
        where = [f"{ts} IS NOT NULL"]
        if start_date is not None:
            where.append(f"{ts} >= {pit.datetime_us(start_date)}")
        if end_date is not None:
            where.append(f"{ts} <= {pit.datetime_us(end_date)}")
        listed = ", ".join(pit.quote(c) for c in columns)
        sql = f"SELECT {listed} FROM {src.relation} WHERE {' AND '.join(where)}"
        if latest:
            order = [f"{ts} DESC"]
            if created_timestamp_column:
                created = pit.time_us(
                    pit.quote(created_timestamp_column), src.columns[created_timestamp_column]
                )
                order.append(f"{created} DESC NULLS LAST")
            order.append("__nbp_ord DESC")
            partition = (
                f"PARTITION BY {', '.join(pit.quote(c) for c in join_key_columns)} "
                if join_key_columns
                else ""
            )
            sql += f" QUALIFY row_number() OVER ({partition}ORDER BY {', '.join(order)}) = 1"
        table = con.execute(sql).to_arrow_table()
    table = pit.restore_types(table, src.schema, {c: c for c in columns})
    if not join_key_columns:
        table = table.append_column(
            DUMMY_ENTITY_ID, pa.array([DUMMY_ENTITY_VAL] * table.num_rows, pa.string())
        )
    return table


class DuckDBOfflineStore(OfflineStore):
    """Feast offline store over local parquet ``FileSource`` history, on DuckDB."""

    supports_filter_by_created_timestamp = False

    @staticmethod
    def get_historical_features(
        config: RepoConfig,
        feature_views: list[FeatureView],
        feature_refs: list[str],
        entity_df: pd.DataFrame | str | None,
        registry: BaseRegistry,
        project: str,
        full_feature_names: bool = False,
        **kwargs: Any,
    ) -> RetrievalJob:
        """Point-in-time features for the entity rows (see :mod:`nbplatform_features.pit`).

        Raises:
            NotImplementedError: No entity frame, on-demand feature views, or
                ``filter_by_created_timestamp``.
            ValueError: An entity frame that is SQL or lacks a column.
        """
        settings = _settings(config)
        if kwargs.get("filter_by_created_timestamp"):
            raise NotImplementedError(
                "filter_by_created_timestamp is not supported by the platform's offline store"
            )
        if entity_df is None:
            raise NotImplementedError(
                "the platform's offline store needs an entity frame (no start/end-date retrieval)"
            )
        if not isinstance(entity_df, (pd.DataFrame, pa.Table)):
            raise ValueError(
                "the entity frame must be a pandas DataFrame or a pyarrow Table, "
                f"not {type(entity_df).__name__}"
            )
        known = {fv.projection.name_to_use() for fv in feature_views}
        others = sorted(
            {ref.split(":", 1)[0] for ref in feature_refs if _view_name(ref) not in known}
        )
        if others:
            raise NotImplementedError(
                "on-demand feature views are not supported by the platform's offline store: "
                + ", ".join(others)
            )
        wanted, _ = _get_requested_feature_views_to_features_dict(feature_refs, feature_views, [])
        specs = [view_spec(config, fv, features) for fv, features in wanted.items()]
        timestamp_column = _entity_timestamp_column(entity_df)
        # Fail now (not at to_df) on entity columns that are missing.
        columns = set(
            entity_df.columns if isinstance(entity_df, pd.DataFrame) else entity_df.column_names
        )
        for spec in specs:
            for key in spec.join_keys:
                if spec.entity_column(key) not in columns:
                    raise ValueError(
                        f"the entity frame has no column {spec.entity_column(key)!r} "
                        f"(join key {key!r} of feature view {spec.name!r})"
                    )
        times = entity_df[timestamp_column]
        times = pd.to_datetime(
            times if isinstance(times, pd.Series) else times.to_pandas(), utc=True
        )
        metadata = RetrievalMetadata(
            features=list(feature_refs),
            keys=[c for c in columns if c != timestamp_column],
            min_event_timestamp=None if times.empty else times.min().to_pydatetime(),
            max_event_timestamp=None if times.empty else times.max().to_pydatetime(),
        )

        def evaluate() -> pa.Table:
            return pit.point_in_time_join(
                entity_df,
                specs,
                full_feature_names,
                timestamp_column=timestamp_column,
                settings=settings,
            )

        return DuckDBRetrievalJob(evaluate, full_feature_names, metadata, str(config.repo_path))

    @staticmethod
    def pull_latest_from_table_or_query(
        config: RepoConfig,
        data_source: DataSource,
        join_key_columns: list[str],
        feature_name_columns: list[str],
        timestamp_field: str,
        created_timestamp_column: str | None,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
    ) -> RetrievalJob:
        """The latest row per key with its event time in ``[start_date, end_date]``."""
        _settings(config)
        args = (join_key_columns, feature_name_columns, timestamp_field, created_timestamp_column)
        evaluate = partial(_pull, config, data_source, *args, start_date, end_date, latest=True)
        return DuckDBRetrievalJob(evaluate, False, repo_path=str(config.repo_path))

    @staticmethod
    def pull_all_from_table_or_query(
        config: RepoConfig,
        data_source: DataSource,
        join_key_columns: list[str],
        feature_name_columns: list[str],
        timestamp_field: str,
        created_timestamp_column: str | None = None,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
    ) -> RetrievalJob:
        """Every row with its event time in ``[start_date, end_date]`` (bounds optional)."""
        _settings(config)
        args = (join_key_columns, feature_name_columns, timestamp_field, created_timestamp_column)
        evaluate = partial(_pull, config, data_source, *args, start_date, end_date, latest=False)
        return DuckDBRetrievalJob(evaluate, False, repo_path=str(config.repo_path))

    @staticmethod
    def offline_write_batch(
        config: RepoConfig,
        feature_view: FeatureView,
        table: pa.Table,
        progress: Callable[[int], Any] | None,
    ) -> None:
        """Append rows to the view's batch source (columns: the source's, any order).

        A folder source gets a new file ``part-<time ns>-<uuid>.parquet`` (written
        under a hidden name, then renamed); a single-file source is rewritten with
        the rows at its end (streamed row group by row group to a temporary file
        moved over it, under an exclusive ``flock`` of ``<path>.lock``). So rows
        appended later win ties with earlier appends.
        """
        _settings(config)
        path = source_path(config, feature_view.batch_source)
        if any(ch in path for ch in "*?["):
            raise NotImplementedError(f"cannot append to a glob source ({path}); use a folder")
        if os.path.isdir(path):
            files = pit.parquet_files(path) if any(Path(path).rglob("*.parquet")) else []
            if files:
                table = _conform(table, pq.read_schema(files[0]), feature_view)
            name = f"part-{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.parquet"
            temp = os.path.join(path, f".{name}.tmp")
            pq.write_table(table, temp)
            os.replace(temp, os.path.join(path, name))
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            with open(f"{path}.lock", "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                _append_to_file(path, table, feature_view)
        if progress:
            progress(table.num_rows)

    @staticmethod
    def write_logged_features(
        config: RepoConfig,
        data: pa.Table | Path,
        source: LoggingSource,
        logging_config: LoggingConfig,
        registry: BaseRegistry,
    ) -> None:
        """Write logged features as new parquet files under the logging destination."""
        _settings(config)
        destination = logging_config.destination
        if not isinstance(destination, FileLoggingDestination):
            raise NotImplementedError("only file logging destinations are supported")
        if isinstance(data, Path):
            data = pq.read_table(data, use_threads=False, pre_buffer=False)
        path = Path(destination.path)
        if config.repo_path is not None and not path.is_absolute():
            path = Path(config.repo_path) / path
        pyarrow.dataset.write_dataset(
            data,
            base_dir=str(path),
            basename_template=f"{uuid.uuid4().hex}-{{i}}.parquet",
            partitioning=destination.partition_by,
            use_threads=False,
            format=pyarrow.dataset.ParquetFileFormat(),
            existing_data_behavior="overwrite_or_ignore",
        )


def _append_to_file(path: str, table: pa.Table, feature_view: FeatureView) -> None:
    """Rewrite the parquet file at ``path`` with ``table``'s rows at its end (or create it)."""
    if not os.path.exists(path):
        pq.write_table(table, path)
        return
    old = pq.ParquetFile(path)
    table = _conform(table, old.schema_arrow, feature_view)
    temp = f"{path}.{uuid.uuid4().hex}.tmp"
    try:
        with pq.ParquetWriter(temp, old.schema_arrow) as writer:
            for group in range(old.num_row_groups):
                writer.write_table(old.read_row_group(group))
            writer.write_table(table)
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


def _view_name(ref: str) -> str:
    """The view part of a feature reference, as ``projection.name_to_use()`` spells it."""
    name, version, _ = _parse_feature_ref(ref)
    return f"{name}@v{version}" if version is not None else name


def _conform(table: pa.Table, schema: pa.Schema, feature_view: FeatureView) -> pa.Table:
    """``table`` with ``schema``'s columns, in its order and types.

    Feast hands the rows over with the source's ``field_mapping`` applied; columns
    are mapped back to the source's names.
    """
    view = feature_view.name
    reverse = {dst: src for src, dst in (feature_view.batch_source.field_mapping or {}).items()}
    table = table.rename_columns(
        [
            reverse[c] if c not in schema.names and reverse.get(c) in schema.names else c
            for c in table.column_names
        ]
    )
    missing = [n for n in schema.names if n not in table.column_names]
    extra = [n for n in table.column_names if n not in schema.names]
    if missing or extra:
        raise ValueError(
            f"feature view {view!r}: rows to append have columns {table.column_names}, "
            f"the source has {schema.names}"
        )
    return table.select(schema.names).cast(schema)
