"""``POST api/promotions`` starts the review: a platform notebook run as the requester's job.

The shipped service (``make_app`` with the models and jobs capabilities, a
stand-in hub, see tests/drift/drift_support.py) in front of a stand-in MLflow
holding model versions and aliases; the request's own call of the jobs API over
loopback, with the requester's token, is real (no scheduler runs the runs).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest
import sqlalchemy as sa
from jobs_helpers import add_job, openapi_schema
from routes_support import openapi_spec
from stand_in_http import JSONHandler, mlflow_at, stand_in

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "drift"))

from drift_support import ACCESS, Service, start_service  # noqa: E402

from nbplatform_hub.roles import ROLE_SCOPES  # noqa: E402
from nbplatform_hub.service import loopback, promotion_review  # noqa: E402
from nbplatform_hub.service.audit import audit_log  # noqa: E402
from nbplatform_jobs import store  # noqa: E402

NOTEBOOK = "nbplatform:review_promotion.ipynb"
#: Groups of the stand-in hub's users, by name (data-scientist unless named here).
GROUPS = {"gina": ["gpu-only"]}


class _Mlflow(JSONHandler):
    """The MLflow calls of a promotion request: a version, a registered model's aliases."""

    def do_GET(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        args = {k: v[0] for k, v in parse_qs(url.query).items()}
        endpoint = url.path.removeprefix("/api/2.0/mlflow/")
        models = self.server.models  # type: ignore[attr-defined]
        model = models.get(args.get("name"))
        if endpoint == "model-versions/get" and model and args["version"] in model["versions"]:
            return self.answer(
                200, {"model_version": {"name": args["name"], "version": args["version"]}}
            )
        if endpoint == "registered-models/get" and model:
            aliases = [{"alias": k, "version": v} for k, v in model["aliases"].items()]
            found = {"name": args["name"], "aliases": aliases}
            return self.answer(200, {"registered_model": found})
        self.answer(404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "not found"})


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The platform service with models and jobs; MLflow holds ``churn`` 1, 2, 3 (champion 1)."""
    models = {
        "churn": {"versions": {"1", "2", "3"}, "aliases": {"champion": "1"}},
        "fresh": {"versions": {"1"}, "aliases": {}},
    }
    with stand_in(_Mlflow, models=models) as mlflow:
        for running in start_service(tmp_path_factory, ("models", "jobs")):
            mlflow_at(running, mlflow)

            async def get_user(name: str) -> dict:  # the stand-in hub knows tokens only
                return {"name": name, "groups": GROUPS.get(name, ["data-scientist"])}

            running.context.hub.get_user = get_user
            yield running


def token(service: Service, name: str, role: str = "data-scientist") -> str:
    return service.token(name, [ACCESS, *ROLE_SCOPES[role]])


def request(service: Service, tok: str, model: str = "churn", version: str = "2"):
    return service.call("POST", "api/promotions", tok, json={"model": model, "version": version})


def jobs_of(service: Service, owner: str) -> list[dict]:
    with service.engine.connect() as conn:
        jobs, _ = store.list_jobs(conn, owner, 1000, None)
    return jobs


def promotion_schema() -> dict:
    operation = openapi_spec()["paths"]["/api/promotions"]["post"]
    return openapi_schema(operation["responses"]["201"]["content"]["application/json"]["schema"])


def audit_details(service: Service, user: str, action: str, count: int) -> list[str | None]:
    """The details of ``user``'s ``action`` entries, once there are ``count``."""
    deadline = time.monotonic() + 10
    while True:
        with service.engine.connect() as conn:
            rows = conn.execute(
                sa.select(audit_log.c.detail)
                .where(audit_log.c.user == user, audit_log.c.action == action)
                .order_by(audit_log.c.id)
            ).all()
        if len(rows) >= count or time.monotonic() > deadline:
            return [r[0] for r in rows]
        time.sleep(0.05)


def test_a_request_starts_its_review_as_the_requesters_job(service):
    alice = token(service, "alice")
    r = request(service, alice)
    assert r.status_code == 201, r.text
    created = r.json()
    jsonschema.validate(created, promotion_schema())
    review = created["review"]
    assert review["error"] is None and review["job_id"] and review["run_id"]
    (job,) = [j for j in jobs_of(service, "alice") if j["name"] == "promotion-review"]
    assert (job["id"], job["notebook"], job["profile"]) == (review["job_id"], NOTEBOOK, "cpu-small")
    assert job["cron"] is None and job["interval_seconds"] is None  # manual
    with service.engine.connect() as conn:
        run = store.get_run(conn, review["run_id"])
    assert (run["job_id"], run["requested_by"], run["status"]) == (job["id"], "alice", "queued")
    assert run["parameters"] == {
        "model_name": "churn",
        "version": "2",
        "alias": "champion",
        "champion_version": "1",
        "promotion_id": created["id"],
    }
    again = service.call("GET", f"api/promotions/{created['id']}", token(service, "ada", "viewer"))
    assert again.json()["review"] == review
    listed = service.call("GET", "api/promotions", alice).json()["promotions"]
    assert next(p for p in listed if p["id"] == created["id"])["review"] == review
    details = audit_details(service, "alice", "promotion:request", 1)
    assert details[-1] == f"review: job {job['id']}, run {review['run_id']}"

    # The next request runs the same job again.
    second = request(service, alice, version="3").json()["review"]
    assert second["job_id"] == job["id"] and second["run_id"] != review["run_id"]
    assert [j["name"] for j in jobs_of(service, "alice")].count("promotion-review") == 1


def test_the_review_of_a_first_promotion_has_no_champion(service):
    created = request(service, token(service, "fred"), model="fresh", version="1").json()
    with service.engine.connect() as conn:
        run = store.get_run(conn, created["review"]["run_id"])
    assert run["parameters"]["champion_version"] is None


def test_only_the_requester_and_admins_read_the_review(service):
    review = request(service, token(service, "olga")).json()["review"]
    path = f"api/runs/{review['run_id']}/output"
    bob = service.call("GET", path, token(service, "bob"))
    assert bob.status_code == 403, bob.text
    assert "private to its owner and platform admins" in bob.json()["message"]
    for tok in (token(service, "olga"), token(service, "root", "platform-admin")):
        r = service.call("GET", path, tok)
        assert r.status_code == 404, r.text  # may read it; the run has not written it yet
        assert "no output notebook yet" in r.json()["message"]


def test_a_review_job_set_to_another_notebook_is_set_back(service):
    job = add_job(
        service.engine,
        name="promotion-review",
        owner="mallory",
        notebook="rosy.ipynb",
        parameters={"verdict": "great"},
    )
    review = request(service, token(service, "mallory")).json()["review"]
    assert review["job_id"] == job["id"] and review["error"] is None
    with service.engine.connect() as conn:
        stored = store.get_job(conn, job["id"])
        run = store.get_run(conn, review["run_id"])
    assert (stored["notebook"], stored["parameters"]) == (NOTEBOOK, {})
    assert "verdict" not in run["parameters"]


def test_a_requester_without_a_cpu_profile_gets_the_request_and_the_reason(service):
    r = request(service, token(service, "gina"))
    assert r.status_code == 201, r.text
    review = r.json()["review"]
    assert review["job_id"] is None and review["run_id"] is None
    assert "gina may use no CPU profile" in review["error"]
    assert jobs_of(service, "gina") == []
    details = audit_details(service, "gina", "promotion:request", 1)
    assert details[-1].startswith("review not started: gina may use no CPU profile")


def test_a_requester_the_jobs_api_refuses_gets_the_request_and_its_reason(service):
    scopes = [ACCESS, *(s for s in ROLE_SCOPES["data-scientist"] if "jobs:write" not in s)]
    r = request(service, service.token("nora", scopes))
    assert r.status_code == 201, r.text
    error = r.json()["review"]["error"]
    assert error.startswith("the jobs API refused (HTTP 403): nora lacks the scope"), error
    assert jobs_of(service, "nora") == []


def test_refusals_are_unchanged_and_start_no_review(service):
    viewer = request(service, token(service, "vic", "viewer"))
    assert viewer.status_code == 403, viewer.text
    unknown = request(service, token(service, "uma"), version="9")
    assert unknown.status_code == 404, unknown.text
    previous = service.call(
        "POST",
        "api/promotions",
        token(service, "uma"),
        json={"model": "churn", "version": "2", "alias": "previous-champion"},
    )
    assert previous.status_code == 400, previous.text
    assert jobs_of(service, "vic") == [] and jobs_of(service, "uma") == []


class _Handler:
    """Enough of a request handler for :func:`promotion_review.start`."""

    class context:  # noqa: N801
        class hub:  # noqa: N801
            @staticmethod
            async def get_user(name: str) -> dict:
                return {"name": name, "groups": ["data-scientist"]}


def test_without_the_jobs_capability_the_review_says_so(monkeypatch):
    async def call(handler, method, path, body=None, agent="nbplatform"):
        return 404, {"message": "Not Found"}, b'{"message": "Not Found"}'

    monkeypatch.setattr(loopback, "call", call)
    promotion = {"id": 1, "model": "m", "version": "2", "alias": "champion", "requested_by": "a"}
    review = asyncio.run(promotion_review.start(_Handler(), promotion))
    assert review == promotion_review.Review(
        error="the jobs capability is not installed (api/jobs answered 404)."
    )


def test_an_unexpected_failure_is_a_review_error_not_a_failed_request(monkeypatch):
    async def call(handler, method, path, body=None, agent="nbplatform"):
        raise RuntimeError("boom")

    monkeypatch.setattr(loopback, "call", call)
    promotion = {"id": 1, "model": "m", "version": "2", "alias": "champion", "requested_by": "a"}
    review = asyncio.run(promotion_review.start(_Handler(), promotion))
    assert review.error == "RuntimeError: boom" and review.run_id is None


def test_with_reviews_off_a_request_starts_none(service, monkeypatch):
    import dataclasses

    settings = dataclasses.replace(service.context.settings, promotion_review=False)
    monkeypatch.setattr(service.context, "settings", settings)
    r = request(service, token(service, "otto"))
    assert r.status_code == 201, r.text
    assert r.json()["review"] is None
    assert jobs_of(service, "otto") == []
    details = audit_details(service, "otto", "promotion:request", 1)
    assert details[-1] == "review off (NBP_PROMOTION_REVIEW=0)"


@pytest.mark.parametrize(
    ("raw", "on"), [(None, True), ("1", True), ("on", True), ("0", False), ("off", False)]
)
def test_the_review_switch_is_read_from_the_environment(raw, on):
    from nbplatform_hub.service.settings import ServiceSettings
    from nbplatform_hub.settings import Settings

    env = {"JUPYTERHUB_API_URL": "http://127.0.0.1:1/hub/api", "JUPYTERHUB_API_TOKEN": "t"}
    if raw is not None:
        env["NBP_PROMOTION_REVIEW"] = raw
    assert ServiceSettings.from_env(env).promotion_review is on
    assert Settings.from_env({**env, "NBP_HOME": "/tmp/x"}).promotion_review is on
