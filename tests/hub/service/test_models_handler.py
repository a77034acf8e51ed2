"""``api/models/<name>/versions/<version>/metric-history``: the Models panel's metric charts.

The shipped service (``make_app``, a stand-in hub, see tests/drift/drift_support.py)
in front of a stand-in MLflow on loopback that answers the three calls the handler
makes: ``model-versions/get``, ``runs/get`` and ``metrics/get-history``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest
from jobs_helpers import openapi_schema
from routes_support import openapi_spec
from stand_in_http import JSONHandler, mlflow_at, stand_in

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "drift"))

from drift_support import ACCESS, Service, start_service  # noqa: E402

from nbplatform_hub.roles import ROLE_SCOPES  # noqa: E402
from nbplatform_hub.service.handlers import models as handler  # noqa: E402

HISTORY = {
    "loss": [
        {"key": "loss", "value": 0.5, "step": 2, "timestamp": 3},
        {"key": "loss", "value": 0.9, "step": 0, "timestamp": 1},
        {"key": "loss", "value": 0.7, "step": 1, "timestamp": 2},
    ],
    "accuracy": [{"key": "accuracy", "value": 0.9, "step": 0, "timestamp": 1}],
}
VERSIONS = {("churn", "1"): "run-1", ("churn", "2"): None, ("churn", "3"): "deleted-run"}


class _Mlflow(JSONHandler):
    def do_GET(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        args = {k: v[0] for k, v in parse_qs(url.query).items()}
        endpoint = url.path.removeprefix("/api/2.0/mlflow/")
        self.server.calls.append((endpoint, args))  # type: ignore[attr-defined]
        status, body = 404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "not found"}
        if endpoint == "model-versions/get" and (args["name"], args["version"]) in VERSIONS:
            run_id = VERSIONS[(args["name"], args["version"])]
            status, body = 200, {"model_version": {"name": args["name"], "run_id": run_id or ""}}
        elif endpoint == "runs/get" and args["run_id"] == "run-1":
            metrics = [{"key": k, "value": v[-1]["value"]} for k, v in HISTORY.items()]
            status, body = 200, {"run": {"data": {"metrics": metrics}}}
        elif endpoint == "metrics/get-history" and args["run_id"] == "run-1":
            status, body = 200, {"metrics": HISTORY[args["metric_key"]]}
        self.answer(status, body)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The platform service, its MLflow the stand-in (``service.mlflow_calls``)."""
    with stand_in(_Mlflow, calls=[]) as mlflow:
        for running in start_service(tmp_path_factory, ("models",)):
            mlflow_at(running, mlflow)
            running.mlflow_calls = mlflow.calls  # type: ignore[attr-defined]
            yield running


def path(name: str = "churn", version: str = "1") -> str:
    return f"api/models/{name}/versions/{version}/metric-history"


def check_schema(answer: dict) -> None:
    """``answer`` is what the OpenAPI description says the endpoint answers."""
    operation = openapi_spec()["paths"]["/api/models/{name}/versions/{version}/metric-history"]
    schema = operation["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    jsonschema.validate(answer, openapi_schema(schema))


def test_the_history_of_each_metric_oldest_step_first(service):
    token = service.token("vera", [ACCESS, *ROLE_SCOPES["viewer"]])
    r = service.call("GET", path(), token)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["name"] == "churn" and answer["version"] == "1"
    assert answer["run_id"] == "run-1" and answer["truncated"] is False
    assert sorted(answer["metrics"]) == ["accuracy", "loss"]
    assert [p["step"] for p in answer["metrics"]["loss"]] == [0, 1, 2]
    assert [p["value"] for p in answer["metrics"]["loss"]] == [0.9, 0.7, 0.5]
    assert answer["metrics"]["accuracy"] == [{"step": 0, "value": 0.9, "timestamp": 1}]
    check_schema(answer)


def test_a_version_without_a_run_or_with_a_deleted_run_has_no_history(service):
    token = service.token("vera", [ACCESS, *ROLE_SCOPES["viewer"]])
    for version, run_id in (("2", None), ("3", "deleted-run")):
        r = service.call("GET", path(version=version), token)
        assert r.status_code == 200, r.text
        assert r.json()["run_id"] == run_id and r.json()["metrics"] == {}
        check_schema(r.json())


def test_an_unknown_version_is_404(service):
    token = service.token("vera", [ACCESS, *ROLE_SCOPES["viewer"]])
    r = service.call("GET", path(version="99"), token)
    assert r.status_code == 404, r.text
    assert r.json()["message"]


def test_a_version_that_is_not_a_number_is_no_route(service):
    token = service.token("vera", [ACCESS, *ROLE_SCOPES["viewer"]])
    assert service.call("GET", path(version="x"), token).status_code == 404


def test_points_are_capped_to_the_last_steps(monkeypatch):
    monkeypatch.setattr(handler, "MAX_HISTORY_POINTS", 2)
    points = handler._points(HISTORY["loss"])
    assert [p["step"] for p in points] == [1, 2]


def test_no_token_is_401_and_a_garbage_token_401(service):
    for token in (None, "garbage"):
        r = service.call("GET", path(), token)
        assert r.status_code == 401, r.text
        assert r.json()["message"]


def test_a_token_without_models_read_is_403_and_asks_nothing_of_mlflow(service):
    before = len(service.mlflow_calls)
    bare = service.token("bare", [ACCESS])
    r = service.call("GET", path(), bare)
    assert r.status_code == 403, r.text
    assert "models" in r.json()["message"]
    assert len(service.mlflow_calls) == before
