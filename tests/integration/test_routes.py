"""Every route of the running platform service and lab extension: who gets in, who does not.

The routes come from the applications themselves (the service's ``make_app`` with
every resource module, the lab extension's registered handlers), not from a
hand-written list, so a new route is checked the day it is added.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from jobs_helpers import write_notebook
from routes_support import PREFIX, expand, lab_routes, service_routes

from platform_harness import Platform, logged_in, login

pytestmark = pytest.mark.integration

SAFE = ("GET", "HEAD", "OPTIONS")


def call(platform: Platform, method: str, path: str, headers: dict[str, str], **kw):
    return requests.request(
        method, platform.url + path, headers=headers, timeout=60, allow_redirects=False, **kw
    )


def is_api(pattern: str) -> bool:
    return pattern.startswith(PREFIX + "api/") or pattern.startswith(PREFIX + "mlflow/")


# No token, a garbage token -------------------------------------------------------
def test_routes_come_from_the_application(tmp_path):
    routes = service_routes(tmp_path)
    patterns = {p for p, _, _ in routes}
    assert PREFIX + "api/jobs$" in patterns and PREFIX + "mlflow/(?P<path>.*)$" in patterns
    assert len([p for p in patterns if is_api(p)]) >= 18
    for pattern, _, verbs in routes:
        assert verbs, pattern
        assert expand(pattern).startswith(PREFIX)


def test_every_service_route_refuses_no_token_and_a_garbage_token(platform, tmp_path):
    checked = 0
    for pattern, _handler, verbs in service_routes(tmp_path):
        path = expand(pattern)
        for verb in verbs:
            body = {"json": {}} if verb not in SAFE else {}
            for token in (None, "garbage-" + "x" * 40):
                r = call(platform, verb, path, Platform.auth(token), **body)
                where = (verb, path, token is not None, r.status_code, r.text[:200])
                if not is_api(pattern):
                    # the index page sends a browser to log in; the OAuth callback
                    # without a state grants nothing
                    assert r.status_code in (302, 400, 401, 403, 405), where
                    if r.status_code == 302:
                        assert "/hub/" in r.headers["Location"], where
                    continue
                assert r.status_code in ((401,) if token is None else (401, 403)), where
                if verb != "HEAD":
                    assert r.json()["message"], where
                checked += 1
    assert checked >= 40


def test_every_lab_route_refuses_no_token_and_a_garbage_token(platform, tmp_path, monkeypatch):
    token = platform.create_user("routes-lab")
    routes = lab_routes(tmp_path, monkeypatch)
    assert {"GET", "POST", "PATCH", "DELETE"} <= {v for _, _, vs in routes for v in vs}
    with platform.spawned("routes-lab", "cpu-small"):
        base = "/user/routes-lab"
        for pattern, _handler, verbs in routes:
            path = base + expand(pattern)
            for verb in verbs:
                body = {"json": {}} if verb not in SAFE else {}
                for bad in (None, "garbage-" + "y" * 40):
                    r = call(platform, verb, path, Platform.auth(bad), **body)
                    where = (verb, path, bad is not None, r.status_code, r.text[:200])
                    # Jupyter Server answers API calls without a user 403 (a browser
                    # GET may be sent to log in first)
                    assert r.status_code in (302, 401, 403), where
                    if r.status_code == 302:
                        assert "/hub/" in r.headers["Location"], where
        r = call(platform, "GET", base + "/nbplatform/api/me", Platform.auth(token))
        assert r.status_code == 200, r.text


# A browser session without its XSRF token ------------------------------------------
def browser_session(platform: Platform) -> tuple[requests.Session, str]:
    """The admin logged in to the hub and, through OAuth, to the platform service."""
    session = login(platform, "admin", platform.admin_password)
    assert logged_in(session)
    r = session.get(platform.url + PREFIX, timeout=60)
    assert r.status_code == 200 and "signed in as admin" in r.text, r.text[:300]
    xsrf = next(c.value for c in session.cookies if c.name == "_xsrf" and "services" in c.path)
    return session, xsrf


def test_state_changing_routes_refuse_a_cookie_without_xsrf(platform, tmp_path):
    session, xsrf = browser_session(platform)
    checked = []
    for pattern, _handler, verbs in service_routes(tmp_path):
        if not is_api(pattern):
            continue
        path = expand(pattern)
        for verb in verbs:
            if verb in SAFE:
                continue
            kwargs: dict[str, Any] = {"timeout": 60, "allow_redirects": False, "json": {}}
            r = session.request(verb, platform.url + path, **kwargs)
            where = (verb, path, r.status_code, r.text[:200])
            assert r.status_code == 403, where
            assert "XSRF" in r.json()["message"], where
            forged = session.request(
                verb, platform.url + path, headers={"X-XSRFToken": "forged"}, **kwargs
            )
            assert forged.status_code == 403, (verb, path, forged.status_code)
            gateway = pattern.startswith(PREFIX + "mlflow/")
            if gateway and verb != "POST":
                continue  # the gateway's rules for other verbs are checked with it
            ok = session.request(verb, platform.url + path, headers={"X-XSRFToken": xsrf}, **kwargs)
            # with the token it gets in: it succeeds, or fails for another reason
            assert ok.status_code not in (401, 403), (verb, path, ok.status_code, ok.text[:200])
            assert ok.status_code < 500, (verb, path, ok.status_code, ok.text[:200])
            checked.append(f"{verb} {pattern}")
    assert len(checked) >= 10, checked
    # reads with the cookie need no XSRF token
    assert session.get(platform.url + PREFIX + "api/me", timeout=60).status_code == 200


# The role matrix of every write ----------------------------------------------------
VIEWER, DS, OTHER, ADMIN = "viewer", "ds", "other-ds", "admin"
#: README "Roles and groups", "Models" and "Jobs": who may do each write.
MAY = {
    "promotion:request": {VIEWER: False, DS: True, OTHER: True, ADMIN: True},
    "promotion:approve": {VIEWER: False, DS: False, OTHER: False, ADMIN: True},
    "promotion:reject": {VIEWER: False, DS: False, OTHER: False, ADMIN: True},
    "model:rollback": {VIEWER: False, DS: False, OTHER: False, ADMIN: True},
    "audit:read": {VIEWER: False, DS: False, OTHER: False, ADMIN: True},
    "job:create": {VIEWER: False, DS: True, OTHER: True, ADMIN: True},
    "job:create-for-ds": {VIEWER: False, DS: True, OTHER: False, ADMIN: True},
    # the DS's own job: "data scientists manage their own, platform admins all"
    "job:update": {VIEWER: False, DS: True, OTHER: False, ADMIN: True},
    "job:pause": {VIEWER: False, DS: True, OTHER: False, ADMIN: True},
    "job:resume": {VIEWER: False, DS: True, OTHER: False, ADMIN: True},
    "job:run": {VIEWER: False, DS: True, OTHER: False, ADMIN: True},
    "run:cancel": {VIEWER: False, DS: True, OTHER: False, ADMIN: True},
    "run:rerun": {VIEWER: False, DS: True, OTHER: False, ADMIN: True},
    "job:delete": {VIEWER: False, DS: True, OTHER: False, ADMIN: True},
}
#: Refused roles are tried first, so an allowed write never changes what they see.
ORDER = (VIEWER, OTHER, DS, ADMIN)


def mlflow(platform: Platform, token: str, endpoint: str, body: dict) -> dict:
    r = platform.service("POST", f"mlflow/api/2.0/mlflow/{endpoint}", token, json=body)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="module")
def people(platform):
    tokens = {
        VIEWER: platform.create_user("routes-vic", "viewer"),
        DS: platform.create_user("routes-dana", "data-scientist"),
        OTHER: platform.create_user("routes-dan", "data-scientist"),
        ADMIN: platform.admin_token,
    }
    write_notebook(platform.home / "users" / "routes-dana" / "t.ipynb")
    for name in ("routes-dan", "admin"):
        write_notebook(platform.home / "users" / name / "t.ipynb")
    return tokens


def check(platform, people, action: str, method: str, path: str, body=None, *, before=None):
    """Try ``action`` as every role; return the allowed roles' answers by role."""
    answers = {}
    for role in ORDER:
        if before is not None:
            before(role)
        kwargs = {"json": body(role) if callable(body) else body} if body is not None else {}
        r = platform.service(method, path, people[role], **kwargs)
        where = (action, role, method, path, r.status_code, r.text[:300])
        assert r.status_code < 500, where
        if MAY[action][role]:
            assert r.status_code not in (401, 403), where
        else:
            assert r.status_code == 403, where
            assert r.json()["message"], where
        answers[role] = r
    return answers


def test_role_matrix_of_every_write(platform, people):
    started = time.time()
    # Models: a registered version of the data scientist's model to promote.
    model = "routes-churn"
    mlflow(platform, people[DS], "registered-models/create", {"name": model})
    run = mlflow(platform, people[DS], "runs/create", {"experiment_id": "0"})["run"]["info"]
    for _ in range(2):
        mlflow(
            platform,
            people[DS],
            "model-versions/create",
            {"name": model, "source": run["artifact_uri"] + "/m", "run_id": run["run_id"]},
        )
    asked = check(
        platform,
        people,
        "promotion:request",
        "POST",
        "api/promotions",
        {"model": model, "version": "1", "note": "m"},
    )
    assert {asked[r].status_code for r in (DS, OTHER, ADMIN)} == {201}
    first, second = asked[DS].json()["id"], asked[OTHER].json()["id"]
    approved = check(
        platform, people, "promotion:approve", "POST", f"api/promotions/{first}/approve", {}
    )
    assert approved[ADMIN].status_code == 200 and approved[ADMIN].json()["state"] == "approved"
    rejected = check(
        platform, people, "promotion:reject", "POST", f"api/promotions/{second}/reject", {}
    )
    assert rejected[ADMIN].json()["state"] == "rejected"
    rolled = check(platform, people, "model:rollback", "POST", f"api/models/{model}/rollback", {})
    assert rolled[ADMIN].status_code == 409  # champion has no previous holder: nothing to undo
    read = check(platform, people, "audit:read", "GET", "api/audit")
    assert read[ADMIN].status_code == 200

    # Jobs: each role creates its own; the data scientist's is the one others try to change.
    created = check(
        platform,
        people,
        "job:create",
        "POST",
        "api/jobs",
        lambda role: {"name": f"routes-{role}", "notebook": "t.ipynb"},
    )
    assert {created[r].status_code for r in (DS, OTHER, ADMIN)} == {201}
    for_ds = check(
        platform,
        people,
        "job:create-for-ds",
        "POST",
        "api/jobs",
        lambda role: {"name": f"for-ds-by-{role}", "notebook": "t.ipynb", "owner": "routes-dana"},
    )
    assert for_ds[ADMIN].json()["owner"] == "routes-dana"
    job = created[DS].json()["id"]
    check(platform, people, "job:update", "PATCH", f"api/jobs/{job}", {"retries": 1})
    check(platform, people, "job:pause", "PATCH", f"api/jobs/{job}", {"active": False})
    check(platform, people, "job:resume", "PATCH", f"api/jobs/{job}", {"active": True})
    runs = check(
        platform, people, "job:run", "POST", f"api/jobs/{job}/runs", {"parameters": {"sleep": 30.0}}
    )
    run_id = runs[DS].json()["id"]
    cancels = check(platform, people, "run:cancel", "POST", f"api/runs/{run_id}/cancel")
    assert cancels[DS].status_code == 200, cancels[DS].text
    # A queued run is cancelled at once: the admin's cancel then finds it ended (409). A
    # running one is asked to stop: the admin may ask again (200), unless the scheduler
    # stopped it in between (409, and the run is cancelled).
    admin_cancel = cancels[ADMIN].status_code
    if cancels[DS].json()["status"] == "cancelled":
        assert admin_cancel == 409, cancels[ADMIN].text
    else:
        now = platform.service("GET", f"api/runs/{run_id}", people[ADMIN]).json()["status"]
        assert admin_cancel == 200 or (admin_cancel == 409 and now == "cancelled"), (
            admin_cancel,
            now,
        )
    reruns = check(platform, people, "run:rerun", "POST", f"api/runs/{run_id}/rerun")
    for role in (DS, ADMIN):
        assert reruns[role].status_code == 201
        platform.service("POST", f"api/runs/{reruns[role].json()['id']}/cancel", people[DS])
    admin_run = runs[ADMIN].json()["id"]
    platform.service("POST", f"api/runs/{admin_run}/cancel", people[ADMIN])

    # Delete: the data scientist deletes their own; the admin deletes the one it made for them.
    deletes = iter([job, for_ds[ADMIN].json()["id"]])
    targets = {}

    def pick(role: str) -> None:
        if role in (DS, ADMIN):
            targets[role] = next(deletes)

    for role in ORDER:
        pick(role)
        target = targets.get(role, job)
        r = platform.service("DELETE", f"api/jobs/{target}", people[role])
        if MAY["job:delete"][role]:
            assert r.status_code == 204, (role, r.text)
        else:
            assert r.status_code == 403, (role, r.status_code, r.text)

    # Every write above is in the audit log, naming its resource; refusals as refused.
    entries = [
        e
        for e in platform.service(
            "GET", "api/audit", people[ADMIN], params={"max_results": 1000}
        ).json()["entries"]
        if e["user"].startswith("routes-") and e["ts"] >= _iso(started)
    ]
    assert entries
    assert all(e["resource"] for e in entries), [e for e in entries if not e["resource"]]
    refused = [e for e in entries if e["result"] == "refused"]
    assert {e["user"] for e in refused} == {"routes-vic", "routes-dan", "routes-dana"}
    assert all(e["status"] == 403 for e in refused)
    assert any(e["user"] == "routes-dan" and e["resource"] == f"jobs/{job}" for e in refused)


def _iso(ts: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts - 1, UTC).isoformat()
