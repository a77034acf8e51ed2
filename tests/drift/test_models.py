"""Validation of monitor and check bodies: what is accepted, defaulted and refused."""

from __future__ import annotations

import pytest
from drift_support import check_body, column
from pydantic import ValidationError

from nbplatform.errors import InvalidParameterError
from nbplatform_drift.models import (
    CheckCreate,
    ColumnTest,
    MonitorCreate,
    MonitorUpdate,
    Mute,
    check_webhooks,
    updated,
)
from nbplatform_hub import host


def test_defaults_of_a_model_monitor_and_a_feature_view_monitor():
    model = MonitorCreate.model_validate({"name": "churn", "model": "models:/churn/3"})
    assert model.definition() == {
        "description": "",
        "model": "models:/churn/3",
        "feature_view": None,
        "reference": {"kind": "training_frame"},
        "current": {"kind": "pushed"},
        "columns": None,
        "tests": {},
        "drift_share": 0.5,
        "schedule_job_id": None,
        "retrain_job_id": None,
        "webhooks": [],
        "emails": [],
    }
    view = MonitorCreate.model_validate(
        {
            "name": "v.1",
            "feature_view": "customers",
            "reference": {"kind": "parquet", "path": "/data/ref.parquet"},
            "current": {"kind": "feature_view", "view": "customers"},
            "columns": ["age", "plan"],
            "tests": {"age": {"method": "psi", "threshold": 0.2}, "plan": {"threshold": 0.01}},
            "emails": ["ds@example.org"],
            "retrain_job_id": "0123456789abcdef",
        }
    ).definition()
    assert view["current"] == {"kind": "feature_view", "view": "customers", "window_days": 7}
    assert view["tests"]["age"] == {"method": "psi", "threshold": 0.2}


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"model": "models:/m"}, "model"),
        ({"model": "runs:/abc/model"}, "model"),
        ({"model": "models:/m@"}, "model"),
        ({}, "exactly one of model and feature_view"),
        ({"model": "models:/m/1", "feature_view": "v"}, "exactly one"),
        ({"feature_view": "v", "reference": {"kind": "training_frame"}}, "needs a model"),
        (
            {"feature_view": "v", "reference": {"kind": "parquet", "path": "ref.parquet"}},
            "absolute",
        ),
        ({"feature_view": "v", "reference": {"kind": "parquet"}}, "path"),
        ({"feature_view": "v", "reference": {"kind": "s3"}}, "reference"),
        ({"feature_view": "v", "current": {"kind": "feature_view", "view": "../x"}}, "view"),
        (
            {
                "feature_view": "v",
                "current": {"kind": "feature_view", "view": "v", "window_days": 0},
            },
            "window_days",
        ),
        ({"feature_view": "v", "columns": ["a"], "tests": {"b": {}}}, "not among columns"),
        ({"feature_view": "v", "columns": ["a", "a"]}, "twice"),
        ({"feature_view": "v", "columns": []}, "columns"),
        ({"feature_view": "v", "tests": {"a": {"method": "kl"}}}, "method"),
        ({"feature_view": "v", "tests": {"a": {"threshold": 0}}}, "threshold"),
        ({"feature_view": "v", "tests": {"a": {"method": "ks", "threshold": 1}}}, "p-value"),
        ({"feature_view": "v", "drift_share": 0}, "drift_share"),
        ({"feature_view": "v", "drift_share": 1.01}, "drift_share"),
        ({"feature_view": "v", "schedule_job_id": "0123456789ABCDEF"}, "schedule_job_id"),
        ({"feature_view": "v", "retrain_job_id": "12"}, "retrain_job_id"),
        ({"feature_view": "v", "webhooks": ["https://e.org/"] * 6}, "webhooks"),
        ({"feature_view": "v", "emails": ["a@b.org\r\nBcc: x@y.org"]}, "emails"),
        ({"feature_view": "v", "emails": ["nobody"]}, "emails"),
        ({"feature_view": "v", "description": "x" * 10_001}, "description"),
        ({"feature_view": "v", "owner": "someone"}, "owner"),
    ],
)
def test_bad_monitors_are_refused_naming_the_field(body, says):
    with pytest.raises(ValidationError) as info:
        MonitorCreate.model_validate({"name": "m", **body})
    assert says in str(info.value)


@pytest.mark.parametrize("name", ["", "1abc", "a/b", "a b", "a" * 129, "é"])
def test_monitor_names_follow_the_pattern(name):
    with pytest.raises(ValidationError):
        MonitorCreate.model_validate({"name": name, "feature_view": "v"})


def test_thresholds_of_distances_may_exceed_one():
    assert ColumnTest(method="wasserstein", threshold=3).threshold == 3
    assert ColumnTest(threshold=2).method is None


def test_an_update_is_checked_with_the_stored_definition():
    stored = MonitorCreate(name="m", model="models:/m@champion").definition()
    to_view = updated("m", stored, MonitorUpdate(model=None, feature_view="v"))
    assert to_view.feature_view == "v" and to_view.reference is None  # the default dropped
    with pytest.raises(ValidationError, match="exactly one"):
        updated("m", stored, MonitorUpdate(feature_view="v"))
    assert updated("m", stored, MonitorUpdate(drift_share=0.9)).model == "models:/m@champion"
    with pytest.raises(ValidationError):
        MonitorUpdate.model_validate({"name": "other"})


def test_webhooks_are_checked_against_internal_destinations():
    check_webhooks(["https://93.184.215.14/hook", "https://hooks.invalid/x"], host.Allow())
    with pytest.raises(InvalidParameterError, match=r"webhooks\.1: 127\.0\.0\.1 .* loopback"):
        check_webhooks(["https://93.184.215.14/", "http://127.0.0.1:8081/hub/api"], host.Allow())
    check_webhooks(["http://127.0.0.1:9/"], host.Allow.parse("127.0.0.1"))
    with pytest.raises(InvalidParameterError, match="credentials"):
        check_webhooks(["https://user:pw@example.org/"], host.Allow())


def test_a_check_body_is_bounded_and_consistent():
    good = CheckCreate.model_validate(
        check_body(column("a", True, 1.0), window_start="2026-12-01T00:00:00")
    )
    assert good.window_start.tzinfo is not None  # naive times are UTC
    too_many = check_body(*[column(f"c{i}", False, 0.1) for i in range(1001)])
    with pytest.raises(ValidationError, match="columns"):
        CheckCreate.model_validate(too_many)
    for bad in ({"type": "text"}, {"threshold": 0}, {"column": ""}, {"column": "x" * 256}):
        with pytest.raises(ValidationError):
            CheckCreate.model_validate(check_body({**column("a", True, 1.0), **bad}))
    with pytest.raises(ValidationError):
        CheckCreate.model_validate({**check_body(column("a", True, 1.0)), "model_version": 3})


def test_mute_minutes_are_bounded():
    assert Mute(minutes=525_600).minutes == 525_600
    for minutes in (0, 525_601, 1.5):
        with pytest.raises(ValidationError):
            Mute.model_validate({"minutes": minutes})
