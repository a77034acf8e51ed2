"""How a replay's metrics compare with the recorded ones, and where a version came from."""

from __future__ import annotations

import math

import pytest

from nbplatform.errors import ConflictError, InvalidParameterError
from nbplatform_hub.service import replays
from nbplatform_hub.service.errors import status_for
from nbplatform_hub.service.loopback import refusal, service_url


def origin(**values) -> replays.Origin:
    fields = {
        "name": "m",
        "version": "1",
        "mlflow_run_id": "r",
        "experiment_id": "1",
        "run_name": None,
        "job_id": "j",
        "job_run_id": "jr",
        "profile": None,
        "metrics": {"auc": 0.9, "loss": 0.2},
        **values,
    }
    return replays.Origin(**fields)


def test_reproduced_within_numpys_isclose_tolerance():
    rows = replays.compare(
        {"a": 1.0, "b": 0.0, "c": 2.0}, {"a": 1.0000001, "b": 0.0, "c": 2.1}, 1e-6, 0
    )
    a, b, c = rows
    assert a["reproduced"] is True and a["rel_diff"] == pytest.approx(1e-7)
    assert b == {
        "key": "b",
        "recorded": 0.0,
        "new": 0.0,
        "abs_diff": 0.0,
        "rel_diff": 0.0,
        "reproduced": True,
    }
    assert c["reproduced"] is False and c["abs_diff"] == pytest.approx(0.1)
    assert c["rel_diff"] == pytest.approx(0.05)
    zero = replays.compare({"z": 0.0}, {"z": 1e-13}, 1e-6, 1e-12)[0]
    assert zero["reproduced"] is True and zero["rel_diff"] is None
    assert replays.compare({"z": 0.0}, {"z": 1e-13}, 1e-6, 0)[0]["reproduced"] is False


def test_non_finite_values_compare_as_themselves_and_answer_null():
    nan, inf = math.nan, math.inf
    rows = replays.compare({"n": nan, "i": inf, "j": 1.0}, {"n": nan, "i": inf, "j": nan}, 1e-6, 0)
    by_key = {r["key"]: r for r in rows}
    assert by_key["n"]["reproduced"] is True and by_key["n"]["recorded"] is None
    assert by_key["i"]["reproduced"] is True and by_key["i"]["abs_diff"] is None
    assert by_key["j"]["reproduced"] is False and by_key["j"]["new"] is None


@pytest.mark.parametrize("raw", ["-1", "nan", "inf", "x", "1e7", ""])
def test_a_tolerance_is_a_finite_number_from_0(raw):
    with pytest.raises(InvalidParameterError, match="^rtol:"):
        replays.tolerance("rtol", raw, 1e-6)


def test_tolerance_defaults_and_values():
    assert replays.tolerance("rtol", None, 1e-6) == 1e-6
    assert replays.tolerance("atol", "0", 1e-12) == 0.0
    assert replays.tolerance("rtol", "1e-3", 1e-6) == 1e-3


def test_the_origin_comes_from_the_version_tags_then_the_runs():
    run = {
        "info": {"run_id": "r", "experiment_id": "7", "run_name": "fit"},
        "data": {
            "metrics": [{"key": "auc", "value": 0.9}],
            "tags": [
                {"key": "nbp.job_id", "value": "j"},
                {"key": "nbp.job_run_id", "value": "from-run"},
                {"key": "nbp.profile", "value": "gpu"},
            ],
        },
    }
    version = {"version": "3", "run_id": "r", "tags": [{"key": "nbp.job_run_id", "value": "jr"}]}
    found = replays.origin_of("m", version, run)
    assert (found.job_id, found.job_run_id, found.profile) == ("j", "jr", "gpu")
    assert (found.experiment_id, found.run_name, found.metrics) == ("7", "fit", {"auc": 0.9})


def test_not_made_by_a_job_run_or_its_run_gone_is_a_conflict():
    with pytest.raises(ConflictError, match="not made by a job run"):
        replays.origin_of("m", {"version": "1", "run_id": "r", "tags": []}, {"data": {}})
    tags = [{"key": "nbp.job_id", "value": "j"}, {"key": "nbp.job_run_id", "value": "jr"}]
    with pytest.raises(ConflictError, match="MLflow run") as caught:
        replays.origin_of("m", {"version": "1", "run_id": "r", "tags": tags}, None)
    assert status_for(caught.value, 500) == 409


def test_the_replays_mlflow_run_is_the_one_named_like_the_original_else_the_closest():
    def run(run_id, name, keys, start):
        metrics = [{"key": k, "value": 1.0} for k in keys]
        info = {"run_id": run_id, "run_name": name, "start_time": start}
        return {"info": info, "data": {"metrics": metrics}}

    trial, fit = run("t", "trial", ["auc"], 1), run("f", "fit", ["auc", "loss"], 2)
    assert replays.pick_run([trial, fit], origin(run_name="trial"))["info"]["run_id"] == "t"
    assert replays.pick_run([trial, fit], origin(run_name="other"))["info"]["run_id"] == "f"
    early = run("e", "x", ["auc", "loss"], 0)
    assert replays.pick_run([fit, early], origin())["info"]["run_id"] == "e"
    assert replays.pick_run([], origin()) is None


def test_the_comparison_waits_for_the_end_and_needs_a_success():
    queued = replays.comparison(origin(), {"status": "running"}, None, None, 1e-6, 0)
    assert queued["reproduced"] is None and queued["finished"] is False
    lost = replays.comparison(origin(), {"status": "failed"}, None, None, 1e-6, 0)
    assert lost["reproduced"] is False and "without an MLflow run" in lost["message"]
    same = {
        "info": {"run_id": "n"},
        "data": {"metrics": [{"key": "auc", "value": 0.9}, {"key": "loss", "value": 0.2}]},
    }
    failed = replays.comparison(origin(), {"status": "failed"}, same, None, 1e-6, 0)
    assert failed["reproduced"] is False and all(m["reproduced"] for m in failed["metrics"])
    ok = replays.comparison(origin(), {"status": "succeeded"}, same, "2", 1e-6, 0)
    assert ok["reproduced"] is True and ok["new_version"] == "2" and ok["message"] is None


def test_loopback_refusals_keep_their_4xx_and_anything_else_is_502():
    settings = type("S", (), {"host": "0.0.0.0", "port": 8090, "prefix": "/services/platform"})
    assert service_url(settings) == "http://127.0.0.1:8090/services/platform/"
    error = refusal(403, b'{"message": "only its owner", "error_code": "PERMISSION_DENIED"}', "x")
    assert status_for(error, 500) == 403 and error.message == "only its owner"
    assert status_for(refusal(404, b"not json", "x"), 500) == 404
    assert status_for(refusal(500, b"{}", "x"), 500) == 502
