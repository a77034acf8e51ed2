"""``api/models/<name>/versions/<version>/replay(s)``: re-run what made a version, compare.

The shipped service (``make_app`` with the models and jobs capabilities, a
stand-in hub, see tests/drift/drift_support.py) in front of a stand-in MLflow
on loopback holding versions, runs and experiments; jobs and runs are written
straight to the platform database, the requests (and the replay's own call of
the jobs API over loopback) are real.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest
import sqlalchemy as sa
from jobs_helpers import add_job, add_run, openapi_schema
from routes_support import openapi_spec
from stand_in_http import JSONHandler, mlflow_at, stand_in

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "drift"))

from drift_support import ACCESS, Service, start_service  # noqa: E402

from nbplatform_hub.roles import ROLE_SCOPES  # noqa: E402
from nbplatform_hub.service.audit import audit_log  # noqa: E402
from nbplatform_jobs import store  # noqa: E402

REPLAY = "/api/models/{name}/versions/{version}/replay"
STATUS = "/api/models/{name}/versions/{version}/replays/{run_id}"


class _Mlflow(JSONHandler):
    """MLflow's REST calls a replay makes, answered from ``server.state``."""

    def do_GET(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        args = {k: v[0] for k, v in parse_qs(url.query).items()}
        endpoint = url.path.removeprefix("/api/2.0/mlflow/")
        state = self.server.state  # type: ignore[attr-defined]
        if endpoint == "model-versions/get":
            found = state["versions"].get((args["name"], args["version"]))
            if found is not None:
                return self.answer(200, {"model_version": found})
        elif endpoint == "runs/get" and args["run_id"] in state["runs"]:
            return self.answer(200, {"run": state["runs"][args["run_id"]]})
        elif endpoint == "model-versions/search":
            (run_id,) = re.findall(r"run_id = '([^']*)'", args["filter"])
            versions = [v for v in state["versions"].values() if v["run_id"] == run_id]
            return self.answer(200, {"model_versions": versions})
        self.answer(404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "not found"})

    def do_POST(self) -> None:  # noqa: N802
        endpoint = urlsplit(self.path).path.removeprefix("/api/2.0/mlflow/")
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        state = self.server.state  # type: ignore[attr-defined]
        runs = state["runs"].values()
        if endpoint == "experiments/search":
            ids = sorted({r["info"]["experiment_id"] for r in runs})
            return self.answer(200, {"experiments": [{"experiment_id": i} for i in ids]})
        if endpoint == "runs/search":
            (job_run_id,) = re.findall(r"= '([^']*)'", body["filter"])
            found = [
                r
                for r in runs
                if r["info"]["experiment_id"] in body["experiment_ids"]
                and {"key": "nbp.job_run_id", "value": job_run_id} in r["data"]["tags"]
            ]
            return self.answer(200, {"runs": found})
        self.answer(404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "not found"})


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The platform service with models and jobs; its MLflow the stand-in (``service.state``)."""
    with stand_in(_Mlflow, state={"versions": {}, "runs": {}}) as mlflow:
        for running in start_service(tmp_path_factory, ("models", "jobs")):
            mlflow_at(running, mlflow)
            running.state = mlflow.state  # type: ignore[attr-defined]
            yield running


def token(service: Service, name: str, role: str = "data-scientist") -> str:
    return service.token(name, [ACCESS, *ROLE_SCOPES[role]])


def mlflow_run(
    service: Service,
    run_id: str,
    metrics: dict[str, float],
    tags: dict[str, str],
    experiment: str = "1",
    name: str = "train",
) -> None:
    """Put an MLflow run into the stand-in."""
    service.state["runs"][run_id] = {  # type: ignore[attr-defined]
        "info": {"run_id": run_id, "experiment_id": experiment, "run_name": name},
        "data": {
            "metrics": [{"key": k, "value": v} for k, v in metrics.items()],
            "tags": [{"key": k, "value": v} for k, v in tags.items()],
        },
    }


def version(service: Service, model: str, number: str, run_id: str, tags: dict[str, str]) -> None:
    """Put a model version into the stand-in."""
    service.state["versions"][(model, number)] = {  # type: ignore[attr-defined]
        "name": model,
        "version": number,
        "run_id": run_id,
        "tags": [{"key": k, "value": v} for k, v in tags.items()],
    }


def made_by_a_job(
    service: Service, model: str, owner: str = "alice", profile: str = "cpu-small"
) -> tuple[dict, dict]:
    """A job of ``owner``, a run of it that logged an MLflow run and registered version 1."""
    job = add_job(service.engine, name=f"train-{model}", owner=owner, profile=profile)
    run = add_run(service.engine, job, status="succeeded")
    lineage = {"nbp.job_id": job["id"], "nbp.job_run_id": run["id"], "nbp.profile": "cpu-small"}
    mlflow_run(service, f"orig-{model}", {"accuracy": 0.9, "loss": 0.25}, lineage)
    version(service, model, "1", f"orig-{model}", lineage)
    return job, run


def finish(service: Service, model: str, run_id: str, metrics: dict[str, float]) -> None:
    """The replay ``run_id`` ended: it logged ``metrics`` and registered version 2."""
    with service.engine.begin() as conn:
        store.update_run(conn, run_id, status="succeeded")
    tags = {"nbp.job_run_id": run_id, "nbp.job_id": "x"}
    mlflow_run(service, f"new-{model}", metrics, tags)
    version(service, model, "2", f"new-{model}", tags)


def replay_path(model: str, number: str = "1") -> str:
    return f"api/models/{model}/versions/{number}/replay"


def schema_of(path: str, verb: str, status: str) -> dict:
    operation = openapi_spec()["paths"][path][verb]
    content = operation["responses"][status]["content"]["application/json"]
    return openapi_schema(content["schema"])


def audited(service: Service, model: str, count: int) -> list[tuple[str, str, str, int]]:
    """The audit entries about ``model``, once there are ``count`` (written after answering)."""
    deadline = time.monotonic() + 10
    while True:
        with service.engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    audit_log.c.user, audit_log.c.action, audit_log.c.result, audit_log.c.status
                )
                .where(audit_log.c.model == model)
                .order_by(audit_log.c.id)
            ).all()
        if len(rows) >= count or time.monotonic() > deadline:
            return [tuple(r) for r in rows]
        time.sleep(0.05)


def test_a_replay_reruns_the_job_run_and_compares_the_metrics(service):
    job, original = made_by_a_job(service, "churn")
    alice = token(service, "alice")
    r = service.call("POST", replay_path("churn"), alice)
    assert r.status_code == 201, r.text
    started = r.json()
    jsonschema.validate(started, schema_of(REPLAY, "post", "201"))
    run = started["run"]
    assert (run["job_id"], run["source_run_id"], run["trigger"]) == (
        job["id"],
        original["id"],
        "rerun",
    )
    assert run["status"] == "queued" and run["requested_by"] == "alice"
    assert started["original"] == {
        "job_id": job["id"],
        "job_run_id": original["id"],
        "mlflow_run_id": "orig-churn",
        "profile": "cpu-small",
        "metrics": {"accuracy": 0.9, "loss": 0.25},
    }
    assert started["status_path"] == f"api/models/churn/versions/1/replays/{run['id']}"

    waiting = service.call("GET", started["status_path"], alice).json()
    jsonschema.validate(waiting, schema_of(STATUS, "get", "200"))
    assert waiting["finished"] is False and waiting["reproduced"] is None
    assert waiting["metrics"] == [] and "queued" in waiting["message"]

    finish(service, "churn", run["id"], {"accuracy": 0.9, "loss": 0.2500000001, "auc": 0.8})
    done = service.call("GET", started["status_path"], alice).json()
    jsonschema.validate(done, schema_of(STATUS, "get", "200"))
    assert done["finished"] is True and done["status"] == "succeeded"
    assert done["reproduced"] is True and done["message"] is None
    assert (done["mlflow_run_id"], done["new_version"]) == ("new-churn", "2")
    assert (done["rtol"], done["atol"]) == (1e-6, 1e-12)
    assert done["new_only"] == ["auc"]
    accuracy, loss = done["metrics"]
    assert accuracy == {
        "key": "accuracy",
        "recorded": 0.9,
        "new": 0.9,
        "abs_diff": 0.0,
        "rel_diff": 0.0,
        "reproduced": True,
    }
    assert loss["key"] == "loss" and loss["reproduced"] is True
    assert loss["abs_diff"] == pytest.approx(1e-10) and loss["rel_diff"] == pytest.approx(4e-10)

    strict = service.call("GET", started["status_path"] + "?rtol=0&atol=0", alice).json()
    assert strict["reproduced"] is False and strict["metrics"][1]["reproduced"] is False
    assert "loss" in strict["message"] and "accuracy" not in strict["message"]
    assert audited(service, "churn", 1) == [("alice", "model:replay", "allowed", 201)]


def test_a_metric_the_replay_did_not_log_is_not_reproduced(service):
    _, _ = made_by_a_job(service, "partial")
    alice = token(service, "alice")
    run = service.call("POST", replay_path("partial"), alice).json()["run"]
    finish(service, "partial", run["id"], {"accuracy": 0.9})
    done = service.call("GET", f"api/models/partial/versions/1/replays/{run['id']}", alice).json()
    assert done["reproduced"] is False
    assert done["metrics"][1] == {
        "key": "loss",
        "recorded": 0.25,
        "new": None,
        "abs_diff": None,
        "rel_diff": None,
        "reproduced": False,
    }


def test_another_data_scientist_or_a_viewer_may_not_replay_an_admin_may(service):
    made_by_a_job(service, "owned")
    bob = service.call("POST", replay_path("owned"), token(service, "bob"))
    assert bob.status_code == 403, bob.text
    assert bob.json()["message"] == "Only alice or a platform admin can change this job."
    vera = service.call("POST", replay_path("owned"), token(service, "vera", "viewer"))
    assert vera.status_code == 403, vera.text
    assert "vera lacks the scope" in vera.json()["message"]
    ada = service.call("POST", replay_path("owned"), token(service, "ada", "platform-admin"))
    assert ada.status_code == 201, ada.text
    assert ada.json()["run"]["requested_by"] == "ada"
    assert audited(service, "owned", 3) == [
        ("bob", "model:replay", "refused", 403),
        ("vera", "model:replay", "refused", 403),
        ("ada", "model:replay", "allowed", 201),
    ]
    with service.engine.connect() as conn:  # refused before anything was queued
        runs, _ = store.list_runs(conn, ada.json()["run"]["job_id"])
    assert sorted(r["trigger"] for r in runs) == ["manual", "rerun"]


def test_no_token_or_a_garbage_token_is_401(service):
    made_by_a_job(service, "anon")
    for tok in (None, "garbage"):
        r = service.call("POST", replay_path("anon"), tok)
        assert r.status_code == 401, r.text
        r = service.call("GET", "api/models/anon/versions/1/replays/0123456789abcdef", tok)
        assert r.status_code == 401, r.text


def test_a_version_not_made_by_a_job_run_is_409(service):
    mlflow_run(service, "kernel-run", {"accuracy": 0.5}, {"nbp.user": "alice"})
    version(service, "interactive", "1", "kernel-run", {"nbp.user": "alice"})
    alice = token(service, "alice")
    r = service.call("POST", replay_path("interactive"), alice)
    assert r.status_code == 409, r.text
    assert "was not made by a job run" in r.json()["message"]
    assert "nbp.job_run_id" in r.json()["message"]
    r = service.call("GET", "api/models/interactive/versions/1/replays/0123456789abcdef", alice)
    assert r.status_code == 409, r.text
    assert audited(service, "interactive", 1) == [("alice", "model:replay", "conflict", 409)]


def test_a_version_whose_job_run_is_gone_is_409(service):
    lineage = {"nbp.job_id": "00000000000000aa", "nbp.job_run_id": "00000000000000bb"}
    mlflow_run(service, "orphan-run", {"accuracy": 0.5}, lineage)
    version(service, "orphan", "1", "orphan-run", lineage)
    r = service.call("POST", replay_path("orphan"), token(service, "alice"))
    assert r.status_code == 409, r.text
    assert "00000000000000bb" in r.json()["message"] and "is gone" in r.json()["message"]


def test_a_version_whose_mlflow_run_is_gone_is_409(service):
    version(service, "runless", "1", "deleted-run", {"nbp.job_id": "a", "nbp.job_run_id": "b"})
    r = service.call("POST", replay_path("runless"), token(service, "alice"))
    assert r.status_code == 409, r.text
    assert "MLflow run" in r.json()["message"]


def test_an_unknown_model_or_version_is_404(service):
    alice = token(service, "alice")
    assert service.call("POST", replay_path("nope"), alice).status_code == 404
    made_by_a_job(service, "known")
    assert service.call("POST", replay_path("known", "9"), alice).status_code == 404
    assert service.call("POST", replay_path("known", "x"), alice).status_code == 404


def test_a_changed_profile_is_409_unless_allowed(service):
    job, _ = made_by_a_job(service, "moved", profile="gpu")
    alice = token(service, "alice")
    r = service.call("POST", replay_path("moved"), alice)
    assert r.status_code == 409, r.text
    assert "'cpu-small'" in r.json()["message"] and "'gpu'" in r.json()["message"]
    r = service.call("POST", replay_path("moved"), alice, json={"allow_profile_change": True})
    assert r.status_code == 201, r.text
    assert r.json()["run"]["job_id"] == job["id"]


def test_a_body_with_an_unknown_field_is_400(service):
    made_by_a_job(service, "bodied")
    r = service.call("POST", replay_path("bodied"), token(service, "alice"), json={"x": 1})
    assert r.status_code == 400, r.text


def test_a_run_that_is_no_replay_of_the_version_is_404(service):
    job, original = made_by_a_job(service, "strict")
    other = add_run(service.engine, job, status="succeeded")  # a run of the job, no re-run
    alice = token(service, "alice")
    base = "api/models/strict/versions/1/replays"
    for run_id in (original["id"], other["id"], "0123456789abcdef"):
        r = service.call("GET", f"{base}/{run_id}", alice)
        assert r.status_code == 404, (run_id, r.text)
    replay = service.call("POST", replay_path("strict"), alice).json()["run"]
    assert service.call("GET", f"{base}/{replay['id']}", alice).status_code == 200
    viewer = service.call("GET", f"{base}/{replay['id']}", token(service, "vera", "viewer"))
    assert viewer.status_code == 200, viewer.text


@pytest.mark.parametrize("query", ["rtol=-1", "rtol=nan", "atol=x", "rtol=1e7", "atol=inf"])
def test_a_bad_tolerance_is_400(service, query):
    r = service.call(
        "GET", f"api/models/churn/versions/1/replays/0123456789abcdef?{query}", token(service, "a")
    )
    assert r.status_code == 400, r.text
    assert r.json()["message"].startswith(query.split("=")[0] + ":")


def test_every_replay_route_is_documented_with_the_models_read_scope():
    from routes_support import documented

    from nbplatform_hub.service.handlers import replays

    paths = openapi_spec()["paths"]
    for pattern, _ in replays.routes:
        for verb, operation in paths[documented(pattern)].items():
            assert operation["x-nbp-scope"] == "custom:nbplatform:models:read", verb
