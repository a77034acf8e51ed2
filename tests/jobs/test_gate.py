"""Tests gate schedules (``nbplatform_jobs.gate``): a schedule starts once its notebook passed.

The policy alone (:func:`gate.decide`), then the shipped service (``make_app``,
jobs mounted, a stand-in hub: see tests/drift/drift_support.py) with a real
scheduler in this process (no hub: a run's token is not minted) executing the
test runs with nbval: requests are real, and so are the kernels.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import jsonschema
import pytest
import sqlalchemy as sa
from jobs_helpers import PARAMS, openapi_schema, write_notebook

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "drift"))

from drift_support import DATA_SCIENTIST, Service, start_service  # noqa: E402

from nbplatform_jobs import gate, runfiles  # noqa: E402
from nbplatform_jobs.backends import LocalBackend  # noqa: E402
from nbplatform_jobs.scheduler import Scheduler  # noqa: E402
from nbplatform_jobs.settings import JobsSettings  # noqa: E402

pytestmark = pytest.mark.timeout(300)

CRON = "0 3 * * *"


# The policy ---------------------------------------------------------------------
def stored(**values) -> dict:
    job = {"active": True, "cron": CRON, "interval_seconds": None, "notebook": "t.ipynb"}
    return {**job, "test_parameters": None, "activation_state": None, **values}


def test_creating_an_active_scheduled_job_tests_it_a_manual_or_paused_one_not():
    assert gate.decide(None, stored()) == ({**stored(), "active": False}, gate.TEST)
    manual = stored(cron=None)
    assert gate.decide(None, manual) == (manual, None)
    paused = stored(active=False)
    assert gate.decide(None, paused) == (paused, None)
    assert gate.decide(None, stored(), enabled=False) == (stored(), None)


def test_resuming_or_a_new_notebook_tests_again_other_changes_do_not():
    paused, active = stored(active=False), stored()
    assert gate.decide(paused, {"active": True}) == ({"active": False}, gate.TEST)
    assert gate.decide(active, {"notebook": "u.ipynb"}) == (
        {"notebook": "u.ipynb", "active": False},
        gate.TEST,
    )
    assert gate.decide(active, {"test_parameters": {"x": 2}})[1] == gate.TEST
    assert gate.decide(active, {"tags": ["a"]}) == ({"tags": ["a"]}, None)
    assert gate.decide(active, {"active": True}) == ({"active": True}, None)
    assert gate.decide(stored(cron=None), {"cron": CRON})[1] == gate.TEST  # manual -> scheduled
    assert gate.decide(paused, {"tags": ["a"]}) == ({"tags": ["a"]}, None)  # stays paused


def test_while_testing_the_job_stays_inactive_a_pause_or_no_schedule_drops_the_test():
    testing = stored(active=False, activation_state="testing")
    assert gate.decide(testing, {"tags": ["a"]}) == ({"tags": ["a"], "active": False}, None)
    assert gate.decide(testing, {"active": True}) == ({"active": False}, None)
    assert gate.decide(testing, {"notebook": "u.ipynb"})[1] == gate.TEST
    assert gate.decide(testing, {"active": False}) == ({"active": False}, gate.CLEAR)
    assert gate.decide(testing, {"cron": None}) == ({"cron": None, "active": True}, gate.CLEAR)
    assert gate.decide(testing, {}, enabled=False) == ({"active": True}, gate.CLEAR)


def test_the_reason_of_a_failure_is_the_runs_error_first_line():
    reason = gate.failure_reason("r1", "failed", "ValueError: boom (failed in cell 3 of 4)\nTb")
    assert reason.startswith("The test run r1 failed: ValueError: boom (failed in cell 3 of 4).")
    assert "stays inactive" in reason
    assert gate.failure_reason("r1", "cancelled", None).startswith("The test run r1 was cancelled")


def test_the_switch_is_read_from_the_environment():
    from nbplatform.errors import ConfigurationError

    assert JobsSettings.from_env({}).test_gate is True
    assert JobsSettings.from_env({"NBP_JOBS_TEST_GATE": "off"}).test_gate is False
    assert JobsSettings.from_env({"NBP_JOBS_TEST_GATE": "ON"}).test_gate is True
    with pytest.raises(ConfigurationError, match="NBP_JOBS_TEST_GATE"):
        JobsSettings.from_env({"NBP_JOBS_TEST_GATE": "maybe"})


# Through the API, with a scheduler --------------------------------------------------
@contextmanager
def scheduler_running(service: Service) -> Iterator[Scheduler]:
    """A scheduler on the service's database, ticking in a thread (tokens not minted)."""
    minted = runfiles.mint_token
    runfiles.mint_token = lambda *a, **k: "not-a-real-token"
    settings = JobsSettings(home=service.home)
    scheduler = Scheduler(settings, service.engine, LocalBackend(2), "", "", "http://127.0.0.1:9/")
    scheduler.start()
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            with suppress(Exception):  # as the service's loop: keep going
                scheduler.tick()
            stop.wait(0.1)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield scheduler
    finally:
        stop.set()
        thread.join(30)
        scheduler.stop()
        runfiles.mint_token = minted


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The platform service (jobs only) and a scheduler running its runs."""
    for running in start_service(tmp_path_factory, ("jobs",)):
        users = running.home / "users" / "alice"
        write_notebook(users / "t.ipynb")
        write_notebook(users / "broken.ipynb", PARAMS.replace("fail = False", "fail = True"))

        async def get_user(name: str) -> dict:  # the stand-in hub knows tokens only
            return {"name": name, "groups": ["data-scientist"]}

        running.context.hub.get_user = get_user
        with scheduler_running(running):
            yield running


def owner(service: Service) -> str:
    return service.token("alice", DATA_SCIENTIST)


def create(service: Service, tok: str, **body) -> dict:
    r = service.call("POST", "api/jobs", tok, json={"notebook": "t.ipynb", **body})
    assert r.status_code == 201, r.text
    jsonschema.validate(r.json(), openapi_schema("Job"))
    return r.json()


def patch(service: Service, tok: str, job_id: str, **body) -> dict:
    r = service.call("PATCH", f"api/jobs/{job_id}", tok, json=body)
    assert r.status_code == 200, r.text
    jsonschema.validate(r.json(), openapi_schema("Job"))
    return r.json()


def settled(service: Service, tok: str, job_id: str, timeout: float = 180) -> dict:
    """The job once its test decided (``activation.state`` no longer ``testing``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = service.call("GET", f"api/jobs/{job_id}", tok).json()
        if (job["activation"] or {}).get("state") != "testing":
            jsonschema.validate(job, openapi_schema("Job"))
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still testing after {timeout} s")


def test_run(service: Service, tok: str, run_id: str) -> dict:
    r = service.call("GET", f"api/runs/{run_id}", tok)
    assert r.status_code == 200, r.text
    return r.json()


test_run.__test__ = False  # type: ignore[attr-defined]


def audit_of(service: Service, job_id: str) -> list[dict]:
    from nbplatform_hub.service.audit import audit_log

    with service.engine.connect() as conn:
        rows = conn.execute(
            sa.select(audit_log).where(audit_log.c.action == "jobs:activate")
        ).mappings()
        return [dict(r) for r in rows if r["path"] == f"api/jobs/{job_id}"]


def test_a_failing_notebook_keeps_the_schedule_inactive_and_says_why(service):
    tok = owner(service)
    job = create(service, tok, name="broken", notebook="broken.ipynb", cron=CRON)
    assert job["active"] is False and job["next_run_at"] is None
    assert job["activation"]["state"] == "testing" and job["activation"]["run_id"]
    done = settled(service, tok, job["id"])
    assert done["active"] is False and done["next_run_at"] is None
    assert done["activation"]["state"] == "failed"
    assert "ValueError: boom (failed in cell 3 of 4)" in done["activation"]["reason"]
    run = test_run(service, tok, done["activation"]["run_id"])
    assert run["trigger"] == "test" and run["status"] == "failed" and run["attempt"] == 1
    assert run["error"] == "ValueError: boom (failed in cell 3 of 4)"
    assert run["parameters"] == {}  # the parameters cell's defaults
    (entry,) = audit_of(service, job["id"])
    assert entry["result"] == "refused" and entry["user"] == "alice"
    assert "failed in cell 3 of 4" in entry["detail"]


def test_a_passing_notebook_becomes_active_with_its_next_run_time(service):
    tok = owner(service)
    job = create(service, tok, name="good", cron=CRON)
    assert job["active"] is False and job["activation"]["state"] == "testing"
    done = settled(service, tok, job["id"])
    assert done["active"] is True and done["activation"]["state"] == "passed"
    assert done["next_run_at"] is not None and done["next_run_at"].endswith("T03:00:00.000Z")
    run = test_run(service, tok, done["activation"]["run_id"])
    assert run["trigger"] == "test" and run["status"] == "succeeded"
    runs = service.call("GET", f"api/jobs/{job['id']}/runs", tok).json()["runs"]
    assert [r["trigger"] for r in runs] == ["test"]  # in the run history
    (entry,) = audit_of(service, job["id"])
    assert entry["result"] == "allowed"


def test_changing_the_notebook_of_an_active_job_tests_it_again(service):
    tok = owner(service)
    job = create(service, tok, name="changed", cron=CRON)
    first = settled(service, tok, job["id"])
    assert first["active"] is True
    changing = patch(service, tok, job["id"], notebook="broken.ipynb")
    assert changing["active"] is False and changing["activation"]["state"] == "testing"
    assert changing["activation"]["run_id"] != first["activation"]["run_id"]
    done = settled(service, tok, job["id"])
    assert done["active"] is False and done["activation"]["state"] == "failed"
    fixed = patch(service, tok, job["id"], notebook="t.ipynb")  # a failed job stays paused
    assert fixed["activation"]["state"] == "failed" and fixed["active"] is False
    back = patch(service, tok, job["id"], active=True)  # as the reason says
    assert back["activation"]["state"] == "testing"
    assert settled(service, tok, job["id"])["active"] is True
    assert [e["result"] for e in audit_of(service, job["id"])] == ["allowed", "refused", "allowed"]


def test_a_manual_job_is_not_gated(service):
    tok = owner(service)
    job = create(service, tok, name="by-hand", notebook="broken.ipynb")
    assert job["active"] is True and job["activation"] is None
    assert service.call("GET", f"api/jobs/{job['id']}/runs", tok).json()["runs"] == []


def test_the_test_runs_with_the_defaults_or_the_test_parameters(service):
    tok = owner(service)
    # The job's own parameters would fail; its test uses the parameters cell's defaults.
    defaults = create(service, tok, name="defaults", cron=CRON, parameters={"fail": True})
    assert defaults["test_parameters"] is None
    assert settled(service, tok, defaults["id"])["active"] is True
    given = create(service, tok, name="given", cron=CRON, test_parameters={"fail": True, "x": 2})
    assert given["test_parameters"] == {"fail": True, "x": 2}
    done = settled(service, tok, given["id"])
    assert done["activation"]["state"] == "failed"
    run = test_run(service, tok, done["activation"]["run_id"])
    assert run["parameters"] == {"fail": True, "x": 2}
    assert run["error"] == "ValueError: boom (failed in cell 3 of 4)"
    fixed = patch(service, tok, given["id"], test_parameters={"x": 3}, active=True)
    assert fixed["activation"]["state"] == "testing"
    assert settled(service, tok, given["id"])["active"] is True


def test_test_parameters_are_checked_like_parameters(service):
    tok = owner(service)
    r = service.call(
        "POST",
        "api/jobs",
        tok,
        json={
            "name": "bad-test",
            "notebook": "t.ipynb",
            "cron": CRON,
            "test_parameters": {"x": "a"},
        },
    )
    assert r.status_code == 400, r.text
    assert r.json()["message"].startswith("test_parameters.x: expected int")


def test_resuming_tests_and_pausing_while_testing_drops_the_test(service):
    tok = owner(service)
    job = create(service, tok, name="resumed", cron=CRON, active=False)
    assert job["active"] is False and job["activation"] is None
    resumed = patch(service, tok, job["id"], active=True)
    assert resumed["active"] is False and resumed["activation"]["state"] == "testing"
    paused = patch(service, tok, job["id"], active=False)
    assert paused["active"] is False and paused["activation"] is None
    run = test_run(service, tok, resumed["activation"]["run_id"])
    assert run["status"] == "cancelled" or run["cancel_requested"] is True
    again = patch(service, tok, job["id"], active=True)
    assert settled(service, tok, again["id"])["active"] is True
