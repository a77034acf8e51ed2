"""What the API says about views: freshness against the TTL, statistics of the source."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from feast import Entity, FeatureView, Field, FileSource
from feast.types import Float64, String

from nbplatform_features.describe import HISTOGRAM_BINS, SourceStatistics, freshness, view_model

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def view(path: str, ttl: timedelta | None = timedelta(hours=1)) -> FeatureView:
    return FeatureView(
        name="stats",
        entities=[Entity(name="driver", join_keys=["driver_id"])],
        ttl=ttl,
        schema=[Field(name="rate", dtype=Float64), Field(name="city", dtype=String)],
        source=FileSource(name="src", path=path, timestamp_field="event_timestamp"),
    )


def test_freshness_never_fresh_stale_and_no_ttl(tmp_path):
    fv = view(str(tmp_path / "x.parquet"))
    assert freshness(fv, NOW)["status"] == "never"
    fv.materialization_intervals.append((NOW - timedelta(hours=3), NOW - timedelta(minutes=30)))
    fresh = freshness(fv, NOW)
    assert fresh["status"] == "fresh" and fresh["age_seconds"] == 1800
    assert freshness(fv, NOW + timedelta(hours=1))["status"] == "stale"
    forever = view(str(tmp_path / "x.parquet"), ttl=None)
    forever.materialization_intervals.append((NOW - timedelta(days=9), NOW - timedelta(days=8)))
    assert freshness(forever, NOW)["status"] == "fresh"


def test_statistics_of_the_source_and_their_cache(tmp_path):
    rng = np.random.default_rng(1)
    rate = rng.normal(size=500)
    rate[:10] = np.nan
    frame = pd.DataFrame(
        {
            "driver_id": rng.integers(0, 5, 500),
            "event_timestamp": pd.date_range("2026-11-01", periods=500, freq="h", tz="UTC"),
            "rate": rate,
            "city": rng.choice(["oslo", "lima", "pune"], 500),
        }
    )
    path = tmp_path / "stats.parquet"
    frame.to_parquet(path)
    stats = SourceStatistics()
    got = stats.of(view(str(path)))
    assert got["row_count"] == 500
    assert got["event_time"]["min"].startswith("2026-11-01T00:00:00")
    rate_stats, city_stats = got["columns"]
    assert rate_stats["nulls"] == 10 and rate_stats["count"] == 490
    assert abs(rate_stats["mean"] - np.nanmean(rate)) < 1e-9
    assert len(rate_stats["histogram"]["counts"]) == HISTOGRAM_BINS
    assert sum(rate_stats["histogram"]["counts"]) == 490
    assert {t["value"] for t in city_stats["top"]} == {"oslo", "lima", "pune"}
    assert stats.of(view(str(path))) is got  # cached while the file is unchanged
    frame.iloc[:100].to_parquet(path)
    assert stats.of(view(str(path)))["row_count"] == 100


def test_view_model_has_what_the_panel_shows(tmp_path):
    fv = view(str(tmp_path / "x.parquet"))
    model = view_model(fv, {}, None)
    assert model["ttl_seconds"] == 3600
    assert [f["name"] for f in model["features"]] == ["rate", "city"]
    assert model["source"] == {
        "name": "src",
        "type": "file",
        "path": str(tmp_path / "x.parquet"),
        "timestamp_field": "event_timestamp",
    }
    assert model["freshness"]["status"] == "never"
    assert model["materialization"] == {"start": None, "end": None, "last_run": None}
