"""The DuckDB point-in-time join against a brute-force reference of Feast's semantics."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from nbplatform_features.pit import EngineSettings, ViewSpec, parquet_files, point_in_time_join

BASE = datetime(2024, 3, 1, tzinfo=UTC)


@dataclass
class RefView:
    """A view for the reference: its history as frames in read order (no field mapping)."""

    name: str
    frames: list[pd.DataFrame]
    join_keys: list[str]
    features: list[str]
    timestamp_field: str
    created: str | None = None
    ttl: timedelta | None = None
    join_key_map: dict[str, str] = field(default_factory=dict)


def _utc(value: Any) -> pd.Timestamp | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _null(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT


def reference(
    entity: pd.DataFrame, views: Sequence[RefView], full_feature_names: bool = False
) -> list[dict]:
    """Feast's point-in-time semantics with plain loops over rows.

    For each entity row and view: among source rows with equal (non-null) keys and
    ``t - ttl <= ts <= t``, the greatest ``(ts, created or -inf, read order)``.
    """
    out = []
    sources = []
    for view in views:
        rows = []
        for frame in view.frames:
            rows.extend(frame.to_dict("records"))
        sources.append(rows)
    for entity_row in entity.to_dict("records"):
        t = _utc(entity_row["event_timestamp"])
        result = dict(entity_row)
        result["event_timestamp"] = t
        for view, rows in zip(views, sources, strict=True):
            best, best_rank = None, None
            for order, row in enumerate(rows):
                if t is None:
                    break
                keys = [(row[k], entity_row[view.join_key_map.get(k, k)]) for k in view.join_keys]
                if any(_null(a) or _null(b) or a != b for a, b in keys):
                    continue
                ts = _utc(row[view.timestamp_field])
                if ts is None or ts > t:
                    continue
                if view.ttl and ts < t - view.ttl:
                    continue
                created = _utc(row[view.created]) if view.created else None
                rank = (
                    ts,
                    created if created is not None else pd.Timestamp.min.tz_localize("UTC"),
                    order,
                )
                if best_rank is None or rank > best_rank:
                    best, best_rank = row, rank
            for feature in view.features:
                name = f"{view.name}__{feature}" if full_feature_names else feature
                result[name] = None if best is None else best[feature]
        out.append(result)
    return out


def spec(view: RefView, source: Any) -> ViewSpec:
    return ViewSpec(
        name=view.name,
        source=source,
        join_keys=view.join_keys,
        features=view.features,
        timestamp_field=view.timestamp_field,
        created_timestamp_column=view.created,
        ttl=view.ttl,
        join_key_map=view.join_key_map,
    )


def _norm(value: Any) -> Any:
    if _null(value):
        return None
    if isinstance(value, (pd.Timestamp, datetime)):
        return _utc(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def assert_matches(result: pa.Table, expected: list[dict]) -> None:
    """Exact equality, row by row and column by column (nulls as None)."""
    assert result.num_rows == len(expected)
    got = result.to_pylist()
    if expected:
        assert list(got[0]) == list(expected[0])
    for i, (row, want) in enumerate(zip(got, expected, strict=True)):
        assert {k: _norm(v) for k, v in row.items()} == {k: _norm(v) for k, v in want.items()}, (
            f"row {i}"
        )


def _minutes(rng: np.random.Generator, low: int, high: int, n: int) -> list[datetime]:
    return [BASE + timedelta(minutes=int(m)) for m in rng.integers(low, high, n)]


def random_case(seed: int, tmp_path: Path) -> tuple[pd.DataFrame, list[RefView], list[Any]]:
    """Three views over random history: ties, late rows, TTLs, gaps, three kinds of source."""
    rng = np.random.default_rng(seed)
    n_src = 400
    # View 1: parquet folder in three files; duplicate event times, created ties, null created.
    drivers = pd.DataFrame(
        {
            "driver_id": rng.integers(0, 12, n_src),
            "ts": _minutes(rng, 0, 120, n_src),
            "created": _minutes(rng, 0, 10, n_src),  # few values: ties on (ts, created)
            "conv": rng.random(n_src).round(3),
            "trips": rng.integers(0, 50, n_src),
            "city": rng.choice(["a", "b", None], n_src),
        }
    )
    drivers.loc[rng.random(n_src) < 0.1, "created"] = None
    drivers.loc[rng.random(n_src) < 0.05, "conv"] = None
    folder = tmp_path / f"drivers-{seed}"
    folder.mkdir()
    frames = []
    for part, index in enumerate(np.array_split(np.arange(n_src), 3)):
        frame = drivers.iloc[index].reset_index(drop=True)
        frame.to_parquet(folder / f"part-{part}.parquet")
        frames.append(frame)
    v1 = RefView(
        "drivers",
        frames,
        ["driver_id"],
        ["conv", "trips", "city"],
        "ts",
        "created",
        timedelta(minutes=30),
    )
    # View 2: two join keys (one renamed in the entity frame), an arrow table, no TTL, no created.
    n2 = 300
    pairs = pd.DataFrame(
        {
            "driver_id": rng.integers(0, 12, n2),
            "zone": rng.choice(["n", "s"], n2),
            "event_timestamp": _minutes(rng, 0, 120, n2),
            "surge": rng.integers(0, 5, n2).astype(float),
        }
    )
    v2 = RefView(
        "zones",
        [pairs],
        ["driver_id", "zone"],
        ["surge"],
        "event_timestamp",
        join_key_map={"zone": "area"},
    )
    # View 3: naive (UTC) timestamps in pandas; TTL 0 means unlimited.
    n3 = 200
    late = pd.DataFrame(
        {
            "driver_id": rng.integers(0, 12, n3),
            "at": [t.replace(tzinfo=None) for t in _minutes(rng, 30, 100, n3)],
            "made": [
                t.replace(tzinfo=None) for t in _minutes(rng, 0, 500, n3)
            ],  # often after the entity time
            "score": rng.integers(0, 1000, n3),
        }
    )
    v3 = RefView("late", [late], ["driver_id"], ["score"], "at", "made", timedelta(0))
    # Entities: keys with no history (12..14), times before any row, duplicates, a non-UTC zone.
    n_e = 250
    entity = pd.DataFrame(
        {
            "driver_id": rng.integers(0, 15, n_e),
            "area": rng.choice(["n", "s", "w"], n_e),
            "event_timestamp": pd.to_datetime(_minutes(rng, -20, 140, n_e), utc=True).tz_convert(
                "Asia/Tokyo"
            ),
            "label": rng.integers(0, 2, n_e),
        }
    )
    entity = pd.concat([entity, entity.iloc[:20]], ignore_index=True)
    return entity, [v1, v2, v3], [folder, pa.Table.from_pandas(pairs, preserve_index=False), late]


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("full", [False, True])
def test_random_history_matches_reference(seed: int, full: bool, tmp_path: Path) -> None:
    entity, views, sources = random_case(seed, tmp_path)
    result = point_in_time_join(
        entity, [spec(v, s) for v, s in zip(views, sources, strict=True)], full
    )
    assert_matches(result, reference(entity, views, full))
    # The entity's other columns pass through unchanged, in order.
    back = result.to_pandas()
    assert list(back.columns[:4]) == ["driver_id", "area", "event_timestamp", "label"]
    pd.testing.assert_series_equal(back["label"], entity["label"])
    assert str(back["event_timestamp"].dtype) == "datetime64[ns, UTC]"


def test_medium_size_many_threads_against_merge_asof(tmp_path: Path) -> None:
    """20k x 20k rows over several row groups, 2 threads and a small memory limit: still exact."""
    rng = np.random.default_rng(7)
    n = 20_000
    src = pd.DataFrame(
        {
            "k": rng.integers(0, 500, n),
            "ts": pd.to_datetime(rng.integers(0, 10**6, n), unit="s", utc=True),
            "created": pd.to_datetime(rng.integers(0, 3, n), unit="s", utc=True),
            "f": rng.random(n),
        }
    )
    pq.write_table(
        pa.Table.from_pandas(src, preserve_index=False), tmp_path / "s.parquet", row_group_size=1000
    )
    entity = pd.DataFrame(
        {
            "k": rng.integers(0, 520, n),
            "event_timestamp": pd.to_datetime(rng.integers(0, 10**6, n), unit="s", utc=True),
        }
    )
    ttl = timedelta(hours=30)
    view = ViewSpec("v", tmp_path / "s.parquet", ["k"], ["f"], "ts", "created", ttl)
    got = point_in_time_join(
        entity, [view], settings=EngineSettings(memory_limit="256MB", threads=2)
    ).to_pandas()
    # Reference: merge_asof over rows sorted by (ts, created, read order), the last tie wins.
    right = src.assign(order=np.arange(n)).sort_values(["ts", "created", "order"], kind="stable")
    left = entity.assign(row=np.arange(n)).sort_values("event_timestamp", kind="stable")
    want = pd.merge_asof(
        left, right, left_on="event_timestamp", right_on="ts", by="k", allow_exact_matches=True
    )
    want.loc[want["ts"] < want["event_timestamp"] - ttl, "f"] = np.nan
    want = want.sort_values("row")["f"].to_numpy()
    np.testing.assert_array_equal(got["f"].to_numpy(), want)
    assert got["f"].notna().sum() > n // 4


def _table(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["k", "ts", "created", "f"])


def test_ttl_lower_bound_is_inclusive() -> None:
    t = BASE + timedelta(hours=1)
    src = _table([(1, BASE, None, 1.0), (2, BASE - timedelta(microseconds=1), None, 2.0)])
    entity = pd.DataFrame({"k": [1, 2], "event_timestamp": [t, t]})
    got = point_in_time_join(
        entity, [ViewSpec("v", src, ["k"], ["f"], "ts", ttl=timedelta(hours=1))]
    )
    assert got.column("f").to_pylist() == [1.0, None]


def test_ties_go_to_latest_created_then_last_read_and_late_rows_count() -> None:
    t = BASE
    src = _table(
        [
            (1, t, t + timedelta(days=9), 1.0),  # created long after t: still counts
            (1, t, t + timedelta(days=8), 2.0),
            (2, t, None, 3.0),
            (2, t, t, 4.0),  # a created time beats none
            (3, t, t, 5.0),
            (3, t, t, 6.0),  # equal created: the last read wins
            (4, t + timedelta(seconds=1), t, 7.0),  # after t: never
        ]
    )
    entity = pd.DataFrame({"k": [1, 2, 3, 4], "event_timestamp": [t] * 4})
    got = point_in_time_join(entity, [ViewSpec("v", src, ["k"], ["f"], "ts", "created")])
    assert got.column("f").to_pylist() == [1.0, 4.0, 6.0, None]


def test_last_file_wins_a_tie_across_files(tmp_path: Path) -> None:
    _table([(1, BASE, BASE, 1.0)]).to_parquet(tmp_path / "a.parquet")
    _table([(1, BASE, BASE, 2.0)]).to_parquet(tmp_path / "b.parquet")
    entity = pd.DataFrame({"k": [1], "event_timestamp": [BASE]})
    for source in (tmp_path, str(tmp_path / "*.parquet")):
        got = point_in_time_join(entity, [ViewSpec("v", source, ["k"], ["f"], "ts", "created")])
        assert got.column("f").to_pylist() == [2.0]
    listed = [tmp_path / "b.parquet", tmp_path / "a.parquet"]
    got = point_in_time_join(entity, [ViewSpec("v", listed, ["k"], ["f"], "ts", "created")])
    assert got.column("f").to_pylist() == [1.0]


def test_timezones_naive_is_utc_and_others_convert() -> None:
    src = pd.DataFrame(
        {"k": [1, 1], "ts": pd.to_datetime(["2024-03-01 10:00", "2024-03-01 12:00"]), "f": [1, 2]}
    )
    paris = pd.to_datetime(["2024-03-01 12:30"]).tz_localize("Europe/Paris")  # 11:30 UTC
    naive = pd.to_datetime(["2024-03-01 12:30"])
    for stamp, want in ((paris, 1), (naive, 2)):
        got = point_in_time_join(
            pd.DataFrame({"k": [1], "event_timestamp": stamp}),
            [ViewSpec("v", src, ["k"], ["f"], "ts")],
        )
        assert got.column("f").to_pylist() == [want]
        assert got.schema.field("event_timestamp").type == pa.timestamp("ns", "UTC")


def test_arrow_entity_field_mapping_and_types_kept() -> None:
    src = pa.table(
        {
            "driver": pa.array([1, 2], pa.int32()),
            "when": pa.array([BASE, BASE], pa.timestamp("ms", "UTC")),
            "raw_f": pa.array([1.5, 2.5], pa.float32()),
            "tag": pa.array(["x", "y"], pa.large_string()),
            "seen": pa.array([BASE, BASE], pa.timestamp("ns", "Europe/Paris")),
        }
    )
    entity = pa.table(
        {
            "driver_id": pa.array([2, 3], pa.int64()),
            "event_timestamp": pa.array([BASE, BASE], pa.timestamp("s")),
        }
    )
    view = ViewSpec(
        "v",
        src,
        ["driver"],
        ["f", "tag", "seen"],
        "when",
        join_key_map={"driver": "driver_id"},
        field_mapping={"raw_f": "f"},
    )
    got = point_in_time_join(entity, [view])
    assert got.column_names == ["driver_id", "event_timestamp", "f", "tag", "seen"]
    assert got.schema.field("f").type == pa.float32()
    assert got.schema.field("tag").type == pa.large_string()
    assert got.schema.field("seen").type == pa.timestamp("ns", "Europe/Paris")
    assert got.schema.field("event_timestamp").type == pa.timestamp("s", "UTC")
    assert got.column("f").to_pylist() == [2.5, None]


def test_view_without_join_keys() -> None:
    src = _table([(0, BASE, None, 1.0), (0, BASE + timedelta(hours=2), None, 2.0)])
    entity = pd.DataFrame(
        {
            "x": [1, 2, 3],
            "event_timestamp": [BASE, BASE + timedelta(hours=3), BASE - timedelta(hours=1)],
        }
    )
    got = point_in_time_join(entity, [ViewSpec("v", src, [], ["f"], "ts")])
    assert got.column("f").to_pylist() == [1.0, 2.0, None]


def test_empty_entity_frame_and_no_views() -> None:
    src = _table([(1, BASE, None, 1.0)])
    empty = pd.DataFrame(
        {
            "k": pd.Series([], dtype="int64"),
            "event_timestamp": pd.Series([], dtype="datetime64[ns, UTC]"),
        }
    )
    got = point_in_time_join(empty, [ViewSpec("v", src, ["k"], ["f"], "ts")])
    assert got.num_rows == 0 and got.column_names == ["k", "event_timestamp", "f"]
    entity = pd.DataFrame({"k": [1], "event_timestamp": ["2024-03-01T00:00:00Z"]})
    assert point_in_time_join(entity, []).column("event_timestamp").type == pa.timestamp(
        "ns", "UTC"
    )


def test_null_keys_and_null_times_never_match() -> None:
    src = pd.DataFrame({"k": [None, 1.0], "ts": [BASE, None], "f": [1.0, 2.0]})
    entity = pd.DataFrame({"k": [None, 1.0, 1.0], "event_timestamp": [BASE, BASE, None]})
    got = point_in_time_join(entity, [ViewSpec("v", src, ["k"], ["f"], "ts")])
    assert got.column("f").to_pylist() == [None, None, None]


def test_missing_entity_columns_are_named() -> None:
    src = _table([(1, BASE, None, 1.0)])
    view = ViewSpec("v", src, ["k"], ["f"], "ts")
    with pytest.raises(ValueError, match="'event_timestamp'"):
        point_in_time_join(pd.DataFrame({"k": [1]}), [view])
    with pytest.raises(ValueError, match="'event_timestamp'"):
        point_in_time_join(pa.table({"k": [1]}), [view])
    with pytest.raises(ValueError, match="no column 'k'.*feature view 'v'"):
        point_in_time_join(pd.DataFrame({"j": [1], "event_timestamp": [BASE]}), [view])


def test_missing_source_column_and_clashing_names(tmp_path: Path) -> None:
    src = _table([(1, BASE, None, 1.0)])
    entity = pd.DataFrame({"k": [1], "event_timestamp": [BASE]})
    with pytest.raises(ValueError, match="no column 'nope'"):
        point_in_time_join(entity, [ViewSpec("v", src, ["k"], ["nope"], "ts")])
    twice = [ViewSpec("a", src, ["k"], ["f"], "ts"), ViewSpec("b", src, ["k"], ["f"], "ts")]
    with pytest.raises(ValueError, match="full feature names"):
        point_in_time_join(entity, twice)
    assert point_in_time_join(entity, twice, True).column_names == [
        "k",
        "event_timestamp",
        "a__f",
        "b__f",
    ]
    with pytest.raises(FileNotFoundError):
        point_in_time_join(entity, [ViewSpec("v", tmp_path / "none.parquet", ["k"], ["f"], "ts")])


def test_parquet_files_skips_hidden_and_sorts(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    for name in ("b.parquet", "a.parquet", "sub/c.parquet", "_tmp.parquet", ".hidden.parquet"):
        _table([(1, BASE, None, 1.0)]).to_parquet(tmp_path / name)
    assert [Path(p).relative_to(tmp_path).as_posix() for p in parquet_files(tmp_path)] == [
        "a.parquet",
        "b.parquet",
        "sub/c.parquet",
    ]
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no parquet file"):
        parquet_files(tmp_path / "empty")
