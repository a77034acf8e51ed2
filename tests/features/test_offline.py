"""The DuckDB offline store through a real ``feast.FeatureStore``, and vs Feast's file store."""

from __future__ import annotations

import math
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Float64, Int64, String

from nbplatform_features.offline import (
    STORE_TYPE,
    DuckDBOfflineStore,
    DuckDBOfflineStoreConfig,
)

BASE = datetime(2024, 3, 1, tzinfo=UTC)
DRIVER_FEATURES = ["driver_stats:conv", "driver_stats:trips", "driver_stats:city"]
RIDER_FEATURES = ["rider_stats:rating"]


def _minutes(values: Any) -> list[datetime]:
    return [BASE + timedelta(minutes=int(m)) for m in values]


def make_data(root: Path, seed: int, ties: bool) -> dict[str, pd.DataFrame]:
    """Driver history (a folder of two files) and rider history (one file).

    Without ``ties``, event times are unique per key (Feast's file store breaks ties
    on the created time with an unstable sort, so it is compared on such data only).
    """
    rng = np.random.default_rng(seed)
    parts = []
    for driver in range(10):
        n = int(rng.integers(5, 25))
        minutes = rng.integers(0, 150, n) if ties else rng.choice(150, n, replace=False)
        parts.append(
            pd.DataFrame(
                {
                    "driver_id": driver,
                    "event_timestamp": _minutes(minutes),
                    "created": _minutes(rng.integers(0, 3 if ties else 400, n)),
                    "conv": rng.random(n).round(4),
                    "trips": rng.integers(0, 100, n),
                    "city": rng.choice(["x", "y", "z"], n),
                }
            )
        )
    drivers = (
        pd.concat(parts, ignore_index=True).sample(frac=1, random_state=seed).reset_index(drop=True)
    )
    riders = pd.DataFrame(
        {
            "rider": np.arange(60) % 6,
            "ts": _minutes(rng.choice(150, 60, replace=False)),
            "rating": rng.integers(1, 6, 60).astype(float),
        }
    )
    (root / "data" / "drivers").mkdir(parents=True)
    half = len(drivers) // 2
    drivers.iloc[:half].to_parquet(root / "data" / "drivers" / "a.parquet", index=False)
    drivers.iloc[half:].to_parquet(root / "data" / "drivers" / "b.parquet", index=False)
    riders.to_parquet(root / "data" / "riders.parquet", index=False)
    return {"drivers": drivers, "riders": riders}


def objects(root: Path) -> list[Any]:
    driver = Entity(name="driver", join_keys=["driver_id"], value_type=ValueType.INT64)
    rider = Entity(name="rider", join_keys=["rider_id"], value_type=ValueType.INT64)
    drivers = FileSource(
        name="drivers",
        path=str(root / "data" / "drivers"),
        timestamp_field="event_timestamp",
        created_timestamp_column="created",
    )
    riders = FileSource(
        name="riders",
        path="data/riders.parquet",
        timestamp_field="ts",
        field_mapping={"rider": "rider_id"},
    )
    driver_stats = FeatureView(
        name="driver_stats",
        entities=[driver],
        ttl=timedelta(minutes=40),
        schema=[
            Field(name="driver_id", dtype=Int64),
            Field(name="conv", dtype=Float64),
            Field(name="trips", dtype=Int64),
            Field(name="city", dtype=String),
        ],
        source=drivers,
        online=True,
    )
    rider_stats = FeatureView(
        name="rider_stats",
        entities=[rider],
        ttl=None,
        schema=[Field(name="rider_id", dtype=Int64), Field(name="rating", dtype=Float64)],
        source=riders,
        online=True,
    )
    return [driver, rider, drivers, riders, driver_stats, rider_stats]


def make_store(root: Path, offline: str, options: str = "") -> FeatureStore:
    (root / "feature_store.yaml").write_text(
        textwrap.dedent(
            f"""\
            project: test
            provider: local
            registry: {root / "registry.db"}
            online_store:
              type: sqlite
              path: {root / "online.db"}
            offline_store:
              type: {offline}
            """
        )
        + options
        + "entity_key_serialization_version: 3\n"
    )
    store = FeatureStore(repo_path=str(root))
    store.apply(objects(root))
    return store


def entity_frame(seed: int, unique: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed + 100)
    n = 120
    frame = pd.DataFrame(
        {
            "driver_id": rng.integers(0, 12, n),  # 10, 11: no history
            "rider_id": rng.integers(0, 7, n),  # 6: no history
            "event_timestamp": _minutes(rng.integers(-20, 190, n)),
            "label": rng.integers(0, 2, n),
        }
    )
    if unique:
        # Feast's file store keeps one entity row per (view's keys, time).
        frame = frame.drop_duplicates(["driver_id", "event_timestamp"])
        return frame.drop_duplicates(["rider_id", "event_timestamp"]).reset_index(drop=True)
    return pd.concat([frame, frame.iloc[:10]], ignore_index=True)


def reference(
    entity: pd.DataFrame, data: dict[str, pd.DataFrame], full: bool = False
) -> pd.DataFrame:
    """Feast's semantics in loops: latest (ts, created, read order) in [t - ttl, t], else null."""
    drivers = pd.concat(
        [
            data["drivers"].iloc[: len(data["drivers"]) // 2],
            data["drivers"].iloc[len(data["drivers"]) // 2 :],
        ]
    )
    views = [
        (
            "driver_stats",
            drivers,
            "driver_id",
            "driver_id",
            "event_timestamp",
            "created",
            timedelta(minutes=40),
            ["conv", "trips", "city"],
        ),
        ("rider_stats", data["riders"], "rider", "rider_id", "ts", None, None, ["rating"]),
    ]
    rows = []
    for row in entity.to_dict("records"):
        t = pd.Timestamp(row["event_timestamp"])
        out = dict(row)
        for name, frame, src_key, key, ts_col, created_col, ttl, features in views:
            best, rank = None, None
            for order, cand in enumerate(frame.to_dict("records")):
                ts = pd.Timestamp(cand[ts_col])
                if cand[src_key] != row[key] or ts > t or (ttl and ts < t - ttl):
                    continue
                this = (ts, pd.Timestamp(cand[created_col]) if created_col else 0, order)
                if rank is None or this > rank:
                    best, rank = cand, this
            for feature in features:
                out[f"{name}__{feature}" if full else feature] = (
                    None if best is None else best[feature]
                )
        rows.append(out)
    return pd.DataFrame(rows)


def assert_same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want)
    for column in want.columns:
        a = [
            None if (isinstance(v, float) and math.isnan(v)) or v is None else v
            for v in got[column].tolist()
        ]
        b = [
            None if (isinstance(v, float) and math.isnan(v)) or v is None else v
            for v in want[column].tolist()
        ]
        if column == "event_timestamp":
            a, b = [pd.Timestamp(v) for v in a], [pd.Timestamp(v) for v in b]
        assert a == b, column


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_historical_features_match_reference(seed: int, tmp_path: Path) -> None:
    data = make_data(tmp_path, seed, ties=True)
    store = make_store(tmp_path, STORE_TYPE)
    assert isinstance(store.config.offline_store, DuckDBOfflineStoreConfig)
    entity = entity_frame(seed, unique=False)
    for full in (False, True):
        job = store.get_historical_features(
            entity, DRIVER_FEATURES + RIDER_FEATURES, full_feature_names=full
        )
        want = reference(entity, data, full)
        assert_same(job.to_df(), want)
        assert job.to_arrow().num_rows == len(entity)
        assert job.full_feature_names is full
    assert sorted(job.metadata.keys) == ["driver_id", "label", "rider_id"]
    assert job.metadata.min_event_timestamp == entity["event_timestamp"].min()


@pytest.mark.parametrize("seed", [0, 1])
def test_same_answers_as_feasts_file_store(seed: int, tmp_path: Path) -> None:
    """Feast's dask store on the same repo data: equal on every row it returns.

    It returns fewer rows: it drops the entity rows for which a view has history
    but none inside the window (before the first row, or all expired), which this
    store keeps with nulls, as Feast documents and its SQL stores do. (It also
    keeps one entity row per view keys and time; the frame here has no such
    duplicates.)
    """
    ours_root, dask_root = tmp_path / "ours", tmp_path / "dask"
    data = make_data(ours_root, seed, ties=False)
    make_data(dask_root, seed, ties=False)
    ours = make_store(ours_root, STORE_TYPE)
    dask = make_store(dask_root, "file")
    entity = entity_frame(seed, unique=True)
    keys = ["driver_id", "rider_id", "event_timestamp"]
    assert_same(
        ours.get_historical_features(entity, DRIVER_FEATURES + RIDER_FEATURES).to_df(),
        reference(entity, data),
    )
    for features in (DRIVER_FEATURES, RIDER_FEATURES, DRIVER_FEATURES + RIDER_FEATURES):
        a = (
            ours.get_historical_features(entity, features)
            .to_df()
            .sort_values(keys)
            .reset_index(drop=True)
        )
        b = (
            dask.get_historical_features(entity, features)
            .to_df()
            .sort_values(keys)
            .reset_index(drop=True)
        )
        kept = a.merge(b[keys], on=keys, how="left", indicator=True)["_merge"].eq("both").to_numpy()
        assert kept.sum() == len(b) > len(a) // 2
        assert_same(a[kept].reset_index(drop=True), b)
        dropped = a[~kept]
        views = [n for n in (["conv", "trips", "city"], ["rating"]) if n[0] in dropped.columns]
        assert np.logical_or.reduce([dropped[n].isna().all(axis=1) for n in views]).all()


def test_materialize_then_online_features(tmp_path: Path) -> None:
    data = make_data(tmp_path, 3, ties=False)
    store = make_store(tmp_path, STORE_TYPE)
    store.materialize(BASE - timedelta(hours=1), BASE + timedelta(hours=4))
    online = store.get_online_features(
        DRIVER_FEATURES + RIDER_FEATURES, [{"driver_id": d, "rider_id": d % 7} for d in range(11)]
    ).to_dict()
    drivers = data["drivers"].sort_values("event_timestamp").groupby("driver_id").last()
    riders = data["riders"].sort_values("ts").groupby("rider").last()
    assert online["conv"] == [*drivers["conv"].tolist(), None]
    assert online["trips"] == [*drivers["trips"].tolist(), None]
    assert online["city"] == [*drivers["city"].tolist(), None]
    assert online["rating"] == [
        riders["rating"].get(d % 7) if d % 7 < 6 else None for d in range(11)
    ]


def test_materialize_window_and_pulls(tmp_path: Path) -> None:
    data = make_data(tmp_path, 4, ties=True)
    store = make_store(tmp_path, STORE_TYPE)
    source = store.get_data_source("drivers")
    start, end = BASE + timedelta(minutes=30), BASE + timedelta(minutes=90)
    kwargs = dict(
        config=store.config,
        data_source=source,
        join_key_columns=["driver_id"],
        feature_name_columns=["conv", "trips"],
        timestamp_field="event_timestamp",
        created_timestamp_column="created",
        start_date=start,
        end_date=end,
    )
    every = DuckDBOfflineStore.pull_all_from_table_or_query(**kwargs).to_df()
    frame = data["drivers"]
    inside = frame[(frame.event_timestamp >= start) & (frame.event_timestamp <= end)]
    assert len(every) == len(inside)
    assert set(every.columns) == {"driver_id", "conv", "trips", "event_timestamp", "created"}
    latest = (
        DuckDBOfflineStore.pull_latest_from_table_or_query(**kwargs)
        .to_df()
        .set_index("driver_id")
        .sort_index()
    )
    for driver, group in inside.groupby("driver_id"):
        ranked = group.assign(order=np.arange(len(group))).sort_values(
            ["event_timestamp", "created", "order"]
        )
        assert latest.loc[driver, "conv"] == ranked["conv"].iloc[-1]
    assert str(latest["event_timestamp"].dtype).endswith("UTC]")


def test_write_to_offline_store_appends(tmp_path: Path) -> None:
    make_data(tmp_path, 5, ties=False)
    store = make_store(tmp_path, STORE_TYPE)
    late = BASE + timedelta(days=1)
    store.write_to_offline_store(
        "driver_stats",
        pd.DataFrame(
            {
                "driver_id": [3],
                "event_timestamp": [late],
                "created": [late],
                "conv": [0.5],
                "trips": [7],
                "city": ["new"],
            }
        ),
    )
    store.write_to_offline_store(
        "rider_stats", pd.DataFrame({"rider": [2], "ts": [late], "rating": [4.5]})
    )
    assert len(list((tmp_path / "data" / "drivers").glob("part-*.parquet"))) == 1
    entity = pd.DataFrame(
        {"driver_id": [3], "rider_id": [2], "event_timestamp": [late + timedelta(minutes=1)]}
    )
    got = store.get_historical_features(entity, DRIVER_FEATURES + RIDER_FEATURES).to_df()
    assert got.loc[0, "city"] == "new" and got.loc[0, "trips"] == 7 and got.loc[0, "rating"] == 4.5


def test_entity_frame_errors_name_the_column(tmp_path: Path) -> None:
    make_data(tmp_path, 6, ties=False)
    store = make_store(tmp_path, STORE_TYPE)
    no_key = pd.DataFrame({"rider_id": [1], "event_timestamp": [BASE]})
    with pytest.raises(ValueError, match="'driver_id'"):
        store.get_historical_features(no_key, DRIVER_FEATURES).to_df()
    no_time = pd.DataFrame({"driver_id": [1], "when": ["2024-03-01"]})
    with pytest.raises(ValueError, match="'event_timestamp'"):
        store.get_historical_features(no_time, DRIVER_FEATURES).to_df()
    other_name = pd.DataFrame({"driver_id": [1], "when": [BASE + timedelta(minutes=200)]})
    assert store.get_historical_features(other_name, ["driver_stats:trips"]).to_df().shape == (1, 3)
    with pytest.raises(ValueError, match="SQL|DataFrame"):
        store.get_historical_features("SELECT 1", DRIVER_FEATURES).to_df()


def test_on_demand_views_and_created_filter_are_refused(tmp_path: Path) -> None:
    make_data(tmp_path, 7, ties=False)
    store = make_store(tmp_path, STORE_TYPE)
    driver_stats = store.get_feature_view("driver_stats")

    @on_demand_feature_view(
        sources=[driver_stats], schema=[Field(name="double_conv", dtype=Float64)]
    )
    def doubled(frame: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"double_conv": frame["conv"] * 2})

    store.apply([doubled])
    entity = pd.DataFrame({"driver_id": [1], "event_timestamp": [BASE]})
    with pytest.raises(NotImplementedError, match="on-demand.*doubled"):
        store.get_historical_features(entity, ["doubled:double_conv"])
    with pytest.raises(NotImplementedError, match="filter_by_created_timestamp"):
        store.get_historical_features(entity, DRIVER_FEATURES, filter_by_created_timestamp=True)


def test_config_options(tmp_path: Path) -> None:
    data = make_data(tmp_path, 8, ties=False)
    options = "  memory_limit: 1GB\n  threads: 2\nmaterialization:\n  pull_latest_features: true\n"
    store = make_store(tmp_path, STORE_TYPE, options)
    config = store.config.offline_store
    assert config.memory_limit == "1GB" and config.threads == 2
    entity = pd.DataFrame({"driver_id": [1], "event_timestamp": [BASE + timedelta(hours=1)]})
    table = store.get_historical_features(entity, DRIVER_FEATURES).to_arrow()
    assert isinstance(table, pa.Table) and table.num_rows == 1
    # Materialization through pull_latest_from_table_or_query.
    store.materialize(BASE - timedelta(hours=1), BASE + timedelta(hours=4))
    online = store.get_online_features(["driver_stats:conv"], [{"driver_id": 4}]).to_dict()
    drivers = data["drivers"][data["drivers"].driver_id == 4].sort_values("event_timestamp")
    assert online["conv"] == [drivers["conv"].iloc[-1]]
