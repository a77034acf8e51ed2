"""Acknowledge, mute, watch and retrain (through the jobs API of the same service)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from drift_support import ADMIN, DATA_SCIENTIST, VIEWER, check_body, column
from jobs_helpers import add_job, write_notebook

DRIFT_PARAMETERS = (
    "drift_monitor = ''\ndrift_check_id = None\ndrift_window_start = None\ndrift_window_end = None"
)


@pytest.fixture(scope="module")
def people(service):
    return {
        "dora": service.token("dora", DATA_SCIENTIST),
        "dave": service.token("dave", DATA_SCIENTIST),
        "vera": service.token("vera", VIEWER),
        "admin": service.token("admin", ADMIN),
    }


def make(service, people, name: str, **fields) -> str:
    body = {"name": name, "feature_view": "customers", **fields}
    r = service.call("POST", "api/drift/monitors", people["dora"], json=body)
    assert r.status_code == 201, r.text
    return f"api/drift/monitors/{name}"


def test_acknowledge_needs_an_alert_and_a_change_of_status_clears_it(service, people):
    path = make(service, people, "acked")
    r = service.call("POST", f"{path}/acknowledge", people["dora"], json={})
    assert r.status_code == 409 and "no alert" in r.json()["message"]
    drift = check_body(column("a", True, 2.0))
    assert service.call("POST", f"{path}/checks", people["dora"], json=drift).status_code == 201
    for who in ("dave", "vera"):
        r = service.call("POST", f"{path}/acknowledge", people[who], json={})
        assert r.status_code == 403, r.text
    r = service.call("POST", f"{path}/acknowledge", people["dora"], json={"comment": "seen"})
    assert r.status_code == 200
    assert r.json()["acknowledged_by"] == "dora" and r.json()["acknowledge_comment"] == "seen"
    assert service.call("POST", f"{path}/checks", people["dora"], json=drift).status_code == 201
    assert service.call("GET", path, people["dora"]).json()["acknowledged_by"] == "dora"
    warning = check_body(column("a", True, 2.0), column("b", False, 0.1), dataset_drift=False)
    assert service.call("POST", f"{path}/checks", people["dora"], json=warning).status_code == 201
    after = service.call("GET", path, people["dora"]).json()
    assert after["status"] == "warning" and after["acknowledged_by"] is None
    r = service.call("POST", f"{path}/acknowledge", people["admin"], json={"comment": "x" * 2001})
    assert r.status_code == 400


def test_mute_and_unmute(service, people):
    path = make(service, people, "muted")
    for minutes in (0, 525_601, "ten"):
        r = service.call("POST", f"{path}/mute", people["dora"], json={"minutes": minutes})
        assert r.status_code == 400, minutes
    assert (
        service.call("POST", f"{path}/mute", people["dave"], json={"minutes": 5}).status_code == 403
    )
    r = service.call("POST", f"{path}/mute", people["dora"], json={"minutes": 60})
    until = datetime.fromisoformat(r.json()["muted_until"])
    assert timedelta(minutes=59) < until - datetime.now(UTC) <= timedelta(minutes=60)
    assert service.call("DELETE", f"{path}/mute", people["vera"]).status_code == 403
    r = service.call("DELETE", f"{path}/mute", people["admin"])
    assert r.status_code == 200 and r.json()["muted_until"] is None


def test_anyone_who_reads_may_watch(service, people):
    path = make(service, people, "watched")
    assert service.call("POST", f"{path}/watch", people["vera"]).json()["watchers"] == ["vera"]
    assert service.call("POST", f"{path}/watch", people["vera"]).json()["watchers"] == ["vera"]
    mine = service.call("GET", "api/drift/monitors?mine=1", people["vera"]).json()["monitors"]
    assert "watched" in [m["name"] for m in mine]
    assert service.call("DELETE", f"{path}/watch", people["vera"]).json()["watchers"] == []
    nobody = service.token("nobody", ["access:services!service=platform"])
    assert service.call("POST", f"{path}/watch", nobody).status_code == 403
    r = service.call("POST", f"{path}/watch", people["vera"], json={"x": 1})
    assert r.status_code == 400


def test_retrain_runs_the_job_through_the_jobs_api_with_the_window(service, people):
    write_notebook(service.home / "users" / "dora" / "train.ipynb", params=DRIFT_PARAMETERS)
    job = add_job(service.engine, owner="dora", name="train", notebook="train.ipynb")
    path = make(service, people, "retrained")
    r = service.call("POST", f"{path}/retrain", people["dora"], json={})
    assert r.status_code == 409 and "retrain_job_id" in r.json()["message"]
    r = service.call("PATCH", path, people["dora"], json={"retrain_job_id": job["id"]})
    assert r.status_code == 200, r.text
    body = check_body(
        column("a", True, 2.0),
        window_start="2026-11-30T00:00:00+00:00",
        window_end="2026-12-01T00:00:00+00:00",
    )
    check = service.call("POST", f"{path}/checks", people["dora"], json=body).json()
    assert service.call("POST", f"{path}/retrain", people["dave"], json={}).status_code == 403
    r = service.call("POST", f"{path}/retrain", people["dora"], json={})
    assert r.status_code == 201, r.text
    assert r.json()["job_id"] == job["id"]
    run = r.json()["run"]
    assert run["job_id"] == job["id"] and run["requested_by"] == "dora"
    assert run["parameters"] == {
        "drift_monitor": "retrained",
        "drift_check_id": check["id"],
        "drift_window_start": "2026-11-30T00:00:00+00:00",
        "drift_window_end": "2026-12-01T00:00:00+00:00",
    }
    r = service.call("POST", f"{path}/retrain", people["dora"], json={"check_id": 999_999})
    assert r.status_code == 404


def test_the_jobs_api_refusal_is_passed_on(service, people):
    # dave owns the monitor; the job is dora's: the jobs API refuses him, and says why.
    job = add_job(service.engine, owner="dora", name="not-daves", notebook="train.ipynb")
    body = {"name": "daves", "feature_view": "v", "retrain_job_id": job["id"]}
    assert service.call("POST", "api/drift/monitors", people["dave"], json=body).status_code == 201
    r = service.call("POST", "api/drift/monitors/daves/retrain", people["dave"], json={})
    assert r.status_code == 403, r.text
    assert "jobs API refused" in r.json()["message"] and "dora" in r.json()["message"]
    r = service.call(
        "PATCH", "api/drift/monitors/daves", people["dave"], json={"retrain_job_id": "0" * 16}
    )
    r = service.call("POST", "api/drift/monitors/daves/retrain", people["dave"], json={})
    assert r.status_code == 404 and "jobs API refused" in r.json()["message"]
