"""A small real Feast repository for online lookups: one view, two drivers, in the online store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

#: When the rows were written: driver 1 an hour before, driver 2 at this time.
NOW = datetime.now(UTC).replace(microsecond=0)


def apply_driver_stats(repo: Any) -> None:
    """Apply view ``driver_stats`` and service ``driver_model``; fill the online store."""
    import pandas as pd
    from feast import Entity, FeatureService, FeatureView, Field, FileSource, ValueType
    from feast.types import Float64, Int64

    store = repo.store
    rows = pd.DataFrame(
        {
            "driver_id": [1, 2],
            "event_timestamp": [NOW - timedelta(hours=1), NOW],
            "conv_rate": [0.25, 0.5],
            "trips": [3, 4],
        }
    )
    path = repo.settings.data_dir / "stats.parquet"
    rows.to_parquet(path)
    driver = Entity(name="driver", join_keys=["driver_id"], value_type=ValueType.INT64)
    view = FeatureView(
        name="driver_stats",
        entities=[driver],
        ttl=timedelta(days=1),
        schema=[Field(name="conv_rate", dtype=Float64), Field(name="trips", dtype=Int64)],
        source=FileSource(name="stats", path=str(path), timestamp_field="event_timestamp"),
    )
    service = FeatureService(name="driver_model", features=[view[["trips"]]])
    store.apply([driver, view, service])
    store.write_to_online_store("driver_stats", rows)
