"""``api/jobs``: the ``permissions`` of each job are what the API then allows or refuses.

The shipped service (``make_app``, jobs mounted, a stand-in hub: see
tests/drift/drift_support.py); jobs and runs are written straight to its
database, the requests are real.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
import sqlalchemy as sa
from jobs_helpers import add_job, add_run, openapi_schema, write_notebook

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "drift"))

from drift_support import ADMIN, DATA_SCIENTIST, VIEWER, Service, start_service  # noqa: E402

from nbplatform_jobs import triggers  # noqa: E402
from nbplatform_jobs.api import jobs as handler  # noqa: E402

#: Who asks: the job's owner, another data scientist, a viewer, a platform admin.
CALLERS = {
    "owner": ("alice", DATA_SCIENTIST),
    "other": ("bob", DATA_SCIENTIST),
    "viewer": ("vera", VIEWER),
    "admin": ("ada", ADMIN),
}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The platform service with the jobs capability only."""
    for running in start_service(tmp_path_factory, ("jobs",)):
        write_notebook(running.home / "users" / "alice" / "t.ipynb")
        yield running


def token(service: Service, who: str) -> str:
    name, scopes = CALLERS[who]
    return service.token(name, scopes)


def listed(service: Service, tok: str, job_id: str, query: str = "") -> dict:
    r = service.call("GET", f"api/jobs?max_results=1000{query}", tok)
    assert r.status_code == 200, r.text
    jsonschema.validate(r.json(), openapi_schema("JobList"))
    (job,) = [j for j in r.json()["jobs"] if j["id"] == job_id]
    return job


@pytest.mark.parametrize("who", list(CALLERS))
def test_permissions_match_what_the_api_then_allows_or_refuses(service, who):
    job = add_job(service.engine, name=f"perm-{who}", owner="alice")
    tok = token(service, who)
    permissions = listed(service, tok, job["id"])["permissions"]
    one = service.call("GET", f"api/jobs/{job['id']}", tok).json()
    assert one["permissions"] == permissions
    jsonschema.validate(one, openapi_schema("Job"))
    allowed = who in ("owner", "admin")
    assert permissions["edit"] is permissions["run"] is permissions["delete"] is allowed
    assert (permissions["reason"] is None) is allowed

    attempts = [
        ("edit", "PATCH", f"api/jobs/{job['id']}", {"active": False}),
        ("run", "POST", f"api/jobs/{job['id']}/runs", {}),
        ("delete", "DELETE", f"api/jobs/{job['id']}", None),
    ]
    for action, method, path, body in attempts:
        r = service.call(method, path, tok, json=body)
        if permissions[action]:
            assert r.status_code in (200, 201, 204), (action, r.text)
        else:
            assert r.status_code == 403, (action, r.text)
            assert r.json()["message"] == permissions["reason"], action


def test_the_reasons_name_the_owner_or_the_missing_scope(service):
    job = add_job(service.engine, name="reasons", owner="alice")
    other = listed(service, token(service, "other"), job["id"])["permissions"]
    assert other["reason"] == "Only alice or a platform admin can change this job."
    viewer = listed(service, token(service, "viewer"), job["id"])["permissions"]
    assert "vera lacks the scope" in viewer["reason"] and "jobs:write" in viewer["reason"]


def test_an_admin_may_manage_a_job_of_someone_without_a_workspace(service):
    job = add_job(service.engine, name="orphan", owner="gone")
    assert listed(service, token(service, "admin"), job["id"])["permissions"]["run"] is True
    r = service.call("POST", f"api/jobs/{job['id']}/runs", token(service, "admin"), json={})
    assert r.status_code == 201, r.text


def test_mine_and_all(service):
    mine = add_job(service.engine, name="mine-a", owner="alice")
    theirs = add_job(service.engine, name="theirs-b", owner="bob")
    tok = token(service, "owner")
    r = service.call("GET", "api/jobs?owner=alice&max_results=1000", tok).json()
    ids = {j["id"] for j in r["jobs"]}
    assert mine["id"] in ids and theirs["id"] not in ids
    assert {j["owner"] for j in r["jobs"]} == {"alice"}
    r = service.call("GET", "api/jobs?max_results=1000", tok).json()
    assert {mine["id"], theirs["id"]} <= {j["id"] for j in r["jobs"]}


@pytest.mark.parametrize("owner", ["", "a" * 256, "al\x01ice", "al\nice"])
def test_a_bad_owner_filter_is_400(service, owner):
    r = service.call("GET", "api/jobs", token(service, "owner"), params={"owner": owner})
    assert r.status_code == 400, r.text
    assert r.json()["message"].startswith("owner:")


def test_recent_runs_newest_first_at_most_five_and_last_run_is_the_first(service):
    job = add_job(service.engine, name="recent", owner="alice")
    few = add_job(service.engine, name="recent-few", owner="alice")
    none = add_job(service.engine, name="recent-none", owner="alice")
    start = datetime(2024, 1, 1)
    statuses = ["succeeded", "failed", "succeeded", "timed-out", "succeeded", "failed", "running"]
    made = []
    for i, status in enumerate(statuses):
        ended = start + timedelta(hours=i, seconds=30 + i) if status != "running" else None
        made.append(
            add_run(
                service.engine,
                job,
                status=status,
                created_at=start + timedelta(hours=i),
                started_at=start + timedelta(hours=i),
                ended_at=ended,
                failed_cell=2 if status == "failed" else None,
                error="ValueError: boom (failed in cell 1 of 3)\nTraceback"
                if status == "failed"
                else None,
            )
        )
    add_run(service.engine, few, status="queued")
    tok = token(service, "viewer")
    answer = listed(service, tok, job["id"])
    recent = answer["recent_runs"]
    assert [r["id"] for r in recent] == [r["id"] for r in reversed(made)][:5]
    assert [r["status"] for r in recent] == list(reversed(statuses))[:5]
    assert recent[1]["duration_seconds"] == 35.0 and recent[1]["failed_cell"] == 2
    assert recent[1]["error"] == "ValueError: boom (failed in cell 1 of 3)"  # its first line
    assert recent[0]["duration_seconds"] is None and recent[0]["error"] is None
    assert answer["last_run"]["id"] == recent[0]["id"]
    assert [r["status"] for r in listed(service, tok, few["id"])["recent_runs"]] == ["queued"]
    empty = listed(service, tok, none["id"])
    assert empty["recent_runs"] == [] and empty["last_run"] is None


def test_the_list_asks_the_database_the_same_number_of_times_for_any_number_of_jobs(service):
    owner = "counted"
    tok = token(service, "admin")
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    def queries() -> int:
        statements.clear()
        sa.event.listen(service.engine, "before_cursor_execute", count)
        try:
            r = service.call("GET", f"api/jobs?owner={owner}&max_results=1000", tok)
        finally:
            sa.event.remove(service.engine, "before_cursor_execute", count)
        assert r.status_code == 200, r.text
        return len(statements)

    for i in range(2):
        add_run(service.engine, add_job(service.engine, name=f"n-{i}", owner=owner))
    with_two = queries()
    for i in range(2, 8):
        add_run(service.engine, add_job(service.engine, name=f"n-{i}", owner=owner))
    assert queries() == with_two


def test_next_run_comes_from_the_schedulers_trigger_until_it_stored_one(service):
    cron = add_job(service.engine, name="nightly", owner="alice", cron="0 3 * * *")
    paused = add_job(service.engine, name="paused", owner="alice", cron="0 3 * * *", active=False)
    manual = add_job(service.engine, name="by-hand", owner="alice")
    tok = token(service, "owner")
    before = datetime.now(UTC).replace(tzinfo=None)
    got = listed(service, tok, cron["id"])["next_run_at"]
    when = datetime.fromisoformat(got.removesuffix("Z"))
    assert (when.hour, when.minute, when.second) == (3, 0, 0)
    assert before < when <= before + timedelta(days=1)
    assert listed(service, tok, paused["id"])["next_run_at"] is None
    assert listed(service, tok, manual["id"])["next_run_at"] is None


def test_next_fire_time_uses_the_scheduler_anchor_for_intervals():
    changed = datetime(2024, 1, 1, 12, 0, 0)
    job = {"active": True, "cron": None, "timezone": "UTC", "interval_seconds": 600}
    now = datetime(2024, 1, 1, 12, 25, tzinfo=UTC)
    assert triggers.next_fire_time({**job, "updated_at": changed}, now) == datetime(
        2024, 1, 1, 12, 30
    )
    assert triggers.next_fire_time({**job, "cron": "not cron", "interval_seconds": None}) is None
    assert handler.RECENT_RUNS == 5


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("who", list(CALLERS))
def test_the_outputs_permission_matches_what_the_log_endpoint_answers(service, who, shared):
    job = add_job(service.engine, name=f"out-{who}-{shared}", owner="alice", shared=shared)
    run = add_run(service.engine, job, status="succeeded")
    tok = token(service, who)
    permissions = listed(service, tok, job["id"])["permissions"]
    assert permissions["outputs"] is (shared or who in ("owner", "admin"))
    r = service.call("GET", f"api/runs/{run['id']}/log", tok)
    if permissions["outputs"]:
        assert r.status_code == 200, r.text
        assert permissions["outputs_reason"] is None
    else:
        assert r.status_code == 403, r.text
        assert r.json()["message"] == permissions["outputs_reason"]
