"""A feature view's rows in a time window: bounds, columns, sampling, refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pyarrow as pa
import pytest
from feast import Entity, FeatureView, Field, FileSource
from feast.types import Float64

from nbplatform.errors import InvalidParameterError, NotFoundError
from nbplatform_features.repo import FeatureRepo, write_config
from nbplatform_features.settings import FeaturesSettings
from nbplatform_features.window import view_window

NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture
def repo(tmp_path):
    settings = FeaturesSettings.from_env(tmp_path, {"NBP_HOME": str(tmp_path)})
    write_config(settings)
    data = tmp_path / "features" / "data"
    data.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        {
            "user_id": range(100),
            "event_timestamp": [NOW - timedelta(hours=h) for h in range(100)],
            "score": [float(h) for h in range(100)],
            "ignored": [1.0] * 100,
        }
    ).to_parquet(data / "scores.parquet")
    user = Entity(name="user", join_keys=["user_id"])
    view = FeatureView(
        name="scores",
        entities=[user],
        schema=[Field(name="score", dtype=Float64)],
        source=FileSource(
            name="scores_src", path=str(data / "scores.parquet"), timestamp_field="event_timestamp"
        ),
    )
    repo = FeatureRepo(settings)
    repo.store.apply([user, view])
    return repo


def frame(stream: bytes) -> pd.DataFrame:
    return pa.ipc.open_stream(stream).read_all().to_pandas()


def test_the_window_holds_exactly_the_rows_in_it_with_keys_time_and_features(repo):
    stream, info = view_window(repo, "scores", NOW - timedelta(hours=10), NOW, 1000)
    rows = frame(stream)
    assert list(rows.columns) == ["user_id", "event_timestamp", "score"]
    assert sorted(rows["score"]) == [float(h) for h in range(1, 11)]  # end is exclusive
    assert info["rows"] == info["source_rows"] == 10 and not info["sampled"]
    assert info["join_keys"] == ["user_id"] and info["timestamp_field"] == "event_timestamp"


def test_a_larger_window_is_a_seeded_sample(repo):
    start = NOW - timedelta(days=30)
    first, info = view_window(repo, "scores", start, NOW + timedelta(hours=1), 20)
    again, _ = view_window(repo, "scores", start, NOW + timedelta(hours=1), 20)
    assert info["sampled"] and info["rows"] == 20 and info["source_rows"] == 100
    assert frame(first)["score"].tolist() == frame(again)["score"].tolist()


def test_unknown_views_and_reversed_windows_are_refused(repo):
    with pytest.raises(NotFoundError):
        view_window(repo, "nope", NOW - timedelta(hours=1), NOW, 10)
    with pytest.raises(InvalidParameterError, match="end"):
        view_window(repo, "scores", NOW, NOW - timedelta(hours=1), 10)
