"""The empty table an apply makes for a push-fed view (real Feast objects, real files)."""

from __future__ import annotations

from datetime import timedelta

import pyarrow.parquet as pq
import pytest

from nbplatform.errors import InvalidParameterError
from nbplatform_features.definitions import Definition
from nbplatform_features.empty_tables import make_missing, take_back


def push_fed_view(path: str, value_type: str = "INT64", name: str = "rides"):
    from feast import Entity, FeatureView, Field, FileSource, PushSource, ValueType
    from feast.types import Float32, Int64, String

    kind = getattr(ValueType, value_type)
    rider = Entity(name=f"{name}_rider", join_keys=["rider_id"], value_type=kind)
    source = FileSource(
        name=f"{name}_source",
        path=path,
        timestamp_field="event_timestamp",
        created_timestamp_column="created",
    )
    view = FeatureView(
        name=name,
        entities=[rider],
        ttl=timedelta(days=1),
        schema=[
            Field(name="rating", dtype=Float32),
            Field(name="rides", dtype=Int64),
            Field(name="city", dtype=String),
        ],
        source=PushSource(name=f"{name}_push", batch_source=source),
    )
    return [Definition("feature_view", name, "riders.py", view)], {rider.name: rider}


def test_a_missing_batch_file_in_the_data_folder_is_made_empty_with_the_views_columns(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    definitions, entities = push_fed_view("team/a/rides.parquet")
    made = make_missing(definitions, entities, data)
    path = data / "team" / "a" / "rides.parquet"
    assert made.files == [path] and made.folders == [data / "team", data / "team" / "a"]
    table = pq.read_table(path)
    assert table.num_rows == 0
    assert [(f.name, str(f.type)) for f in table.schema] == [
        ("rider_id", "int64"),
        ("event_timestamp", "timestamp[ns, tz=UTC]"),
        ("rating", "float"),
        ("rides", "int64"),
        ("city", "string"),
        ("created", "timestamp[ns, tz=UTC]"),
    ]
    take_back(made)
    assert list(data.iterdir()) == []


def test_existing_files_and_files_elsewhere_are_left_alone(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "rides.parquet").write_bytes(b"theirs")
    definitions, entities = push_fed_view(str(data / "rides.parquet"))
    assert make_missing(definitions, entities, data).files == []
    assert (data / "rides.parquet").read_bytes() == b"theirs"
    outside, entities = push_fed_view(str(tmp_path / "elsewhere.parquet"))
    assert make_missing(outside, entities, data).files == []
    escaping, entities = push_fed_view("../escape.parquet")
    assert make_missing(escaping, entities, data).files == []
    assert not (tmp_path / "elsewhere.parquet").exists()
    assert not (tmp_path / "escape.parquet").exists()


def test_an_entity_without_a_value_type_is_a_clear_error_and_nothing_is_left(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    good, entities = push_fed_view("good/rides.parquet")
    bad, bad_entities = push_fed_view("bad/rides.parquet", value_type="UNKNOWN", name="bad")
    with pytest.raises(InvalidParameterError, match="riders.py: feature_view 'bad'.*value_type"):
        make_missing(good + bad, {**entities, **bad_entities}, data)
    assert list(data.iterdir()) == []  # the good view's table was taken back too
