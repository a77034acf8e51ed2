"""Definitions sent to apply: decoded, checked and owned; refusals name the file and the object."""

from __future__ import annotations

import base64
from datetime import timedelta

import pandas as pd
import pytest
from feast import Entity, FeatureService, FeatureView, Field, FileSource
from feast.types import Float64

from nbplatform.errors import InvalidParameterError, PermissionDeniedError
from nbplatform_features.definitions import (
    Definition,
    check_owners,
    check_service,
    check_source,
    check_view,
    decode,
)


def item(kind: str, obj, file: str = "drivers.py") -> dict:
    raw = obj.to_proto().SerializeToString()
    return {"kind": kind, "name": obj.name, "file": file, "proto": base64.b64encode(raw).decode()}


@pytest.fixture
def data(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    pd.DataFrame(
        {"driver_id": [1], "event_timestamp": [pd.Timestamp("2026-01-01", tz="UTC")], "rate": [0.5]}
    ).to_parquet(folder / "stats.parquet")
    return folder


def objects(path: str, feature: str = "rate"):
    driver = Entity(name="driver", join_keys=["driver_id"])
    source = FileSource(name="stats_source", path=path, timestamp_field="event_timestamp")
    view = FeatureView(
        name="stats",
        entities=[driver],
        ttl=timedelta(days=1),
        schema=[Field(name=feature, dtype=Float64)],
        source=source,
    )
    return driver, source, view


def test_decode_round_trips_and_orders_by_kind(data):
    driver, source, view = objects(str(data / "stats.parquet"))
    service = FeatureService(name="svc", features=[view])
    decoded = decode(
        [
            item("feature_service", service),
            item("feature_view", view),
            item("entity", driver),
            item("data_source", source),
        ]
    )
    assert [d.kind for d in decoded] == ["entity", "data_source", "feature_view", "feature_service"]
    assert decoded[2].obj == view


@pytest.mark.parametrize(
    "change, message",
    [
        ({"kind": "on_demand_feature_view"}, "run their Python on the platform's side"),
        ({"kind": "permission"}, "unknown kind"),
        ({"name": "other"}, "named 'stats'"),
        ({"name": "1bad name"}, "a name is a letter"),
        ({"proto": "not base64!"}, "does not decode"),
        ({"proto": base64.b64encode(b"\xff\xff\xff").decode()}, "does not decode"),
    ],
)
def test_bad_objects_are_refused_naming_file_and_object(data, change, message):
    _, _, view = objects(str(data / "stats.parquet"))
    bad = {**item("feature_view", view), **change}
    with pytest.raises(InvalidParameterError, match=message) as caught:
        decode([bad])
    assert str(caught.value).startswith("drivers.py: ")


def test_the_same_object_twice_names_both_files(data):
    _, _, view = objects(str(data / "stats.parquet"))
    with pytest.raises(InvalidParameterError, match="also in a.py"):
        decode([item("feature_view", view, "a.py"), item("feature_view", view, "b.py")])


def test_sources_must_stay_inside_the_data_roots(data, tmp_path):
    outside = tmp_path / "secret.parquet"
    outside.write_bytes(b"")
    link = data / "link.parquet"
    link.symlink_to(outside)
    for path in (str(outside), "../secret.parquet", str(link), "s3://bucket/x.parquet"):
        _, source, _ = objects(path)
        with pytest.raises(InvalidParameterError, match="stats_source|source path"):
            check_source(source, "f.py: data_source 'stats_source'", data, [data])
    _, source, _ = objects("stats.parquet")  # relative: inside the data folder
    check_source(source, "f.py", data, [data])
    assert source.path == str(data / "stats.parquet")


def test_a_view_must_name_columns_its_source_has(data):
    driver, _, view = objects(str(data / "stats.parquet"), feature="no_such")
    definition = Definition("feature_view", "stats", "drivers.py", view)
    with pytest.raises(InvalidParameterError, match="'no_such' is not a column") as caught:
        check_view(definition, {"driver": driver}, data, [data])
    assert str(caught.value).startswith("drivers.py: feature_view 'stats'")
    with pytest.raises(InvalidParameterError, match="entity 'driver' is neither"):
        check_view(definition, {}, data, [data])


def test_a_service_must_name_views_that_exist(data):
    _, _, view = objects(str(data / "stats.parquet"))
    service = Definition(
        "feature_service", "svc", "s.py", FeatureService(name="svc", features=[view])
    )
    with pytest.raises(InvalidParameterError, match="feature view 'stats' is neither"):
        check_service(service, {})
    check_service(service, {"stats": view})


def test_owners_new_objects_are_the_callers_and_others_are_refused(data):
    _, _, view = objects(str(data / "stats.parquet"))
    view.owner = "mallory"  # a claimed owner is not taken
    new = Definition("feature_view", "stats", "drivers.py", view)
    check_owners([new], {}, "dana", admin=False)
    assert view.owner == "dana"
    existing = {("feature_view", "stats"): view}
    _, _, change = objects(str(data / "stats.parquet"))
    again = Definition("feature_view", "stats", "drivers.py", change)
    with pytest.raises(PermissionDeniedError, match="owned by dana"):
        check_owners([again], existing, "dan", admin=False)
    check_owners([again], existing, "admin", admin=True)
    assert change.owner == "dana"  # an admin's change keeps the owner


def test_a_source_inside_a_view_is_owned_too(data):
    _, source, view = objects(str(data / "stats.parquet"))
    source.owner = "dana"
    existing = {("data_source", "stats_source"): source}
    _, _, theirs = objects(str(data / "stats.parquet"))  # dan's view re-declares dana's source
    with pytest.raises(PermissionDeniedError, match="its data_source 'stats_source'"):
        check_owners([Definition("feature_view", "stats", "v.py", theirs)], existing, "dan", False)
