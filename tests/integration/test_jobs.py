"""Jobs on a real platform: the REST API, the scheduler service, real papermill runs.

Shares the session platform; every user here is called ``jobs-*``. Every test runs
twice: on the embedded backends (SQLite) and on PostgreSQL with moto's S3
(``BACKENDS``, see tests/conftest.py).
"""

from __future__ import annotations

import hmac
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import jsonschema
import pytest
from jobs_helpers import openapi_schema, write_notebook

# Every test here runs on each of the BACKENDS (see tests/conftest.py).
from backends_support import BACKENDS  # noqa: F401

pytestmark = pytest.mark.integration

FINAL = ("succeeded", "failed", "timed-out", "cancelled")


def schema(name: str) -> dict:
    return openapi_schema(name)


def user(platform, name: str, group: str = "data-scientist") -> str:
    token = platform.create_user(name, group)
    write_notebook(platform.home / "users" / name / "t.ipynb")
    return token


def create(platform, token: str, **body) -> dict:
    body = {"name": "t", "notebook": "t.ipynb", **body}
    r = platform.service("POST", "api/jobs", token, json=body)
    assert r.status_code == 201, r.text
    jsonschema.validate(r.json(), schema("Job"))
    return r.json()


def run_now(platform, token: str, job: dict, **body) -> dict:
    r = platform.service("POST", f"api/jobs/{job['id']}/runs", token, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def wait_run(platform, token: str, run_id: str, until=FINAL, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = platform.service("GET", f"api/runs/{run_id}", token).json()
        if run["status"] in until:
            jsonschema.validate(run, schema("Run"))
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} is still {run['status']}")


def runs_of(platform, token: str, job: dict) -> list[dict]:
    r = platform.service("GET", f"api/jobs/{job['id']}/runs", token)
    assert r.status_code == 200
    jsonschema.validate(r.json(), schema("RunList"))
    return r.json()["runs"]


def test_run_now_injects_parameters_and_keeps_everything(platform):
    token = user(platform, "jobs-alice")
    job = create(platform, token, name="params", parameters={"x": 3, "name": "ab"})
    run = wait_run(platform, token, run_now(platform, token, job)["id"])
    assert run["status"] == "succeeded", run
    # The notebook's 4 code cells, as its user counts them (not the injected one).
    assert run["progress"] == {"cell": 4, "total": 4, "failed": False}
    log = platform.service("GET", f"api/runs/{run['id']}/log", token).json()["log"]
    assert "without encryption" not in log  # the kernel's channels are CurveZMQ
    assert run["duration_seconds"] > 0 and run["attempt"] == 1
    output = platform.service("GET", f"api/runs/{run['id']}/output", token).json()
    injected = [c for c in output["cells"] if "injected-parameters" in c["metadata"]["tags"]]
    assert 'x = 3\nname = "ab"' in "".join(injected[0]["source"])
    assert "ababab" in json.dumps(output)
    log = platform.service("GET", f"api/runs/{run['id']}/log", token).json()
    jsonschema.validate(log, schema("RunLog"))
    assert "ababab" in log["log"]
    run_dir = platform.home / "jobs" / job["id"] / run["id"]
    assert {"input.ipynb", "parameters.json", "output.ipynb", "log.txt"} <= {
        p.name for p in run_dir.iterdir()
    }
    # Re-run: same snapshot and parameters, even after the notebook changed.
    write_notebook(platform.home / "users/jobs-alice/t.ipynb", body=["print('changed')"])
    r = platform.service("POST", f"api/runs/{run['id']}/rerun", token)
    assert r.status_code == 201
    again = wait_run(platform, token, r.json()["id"])
    assert again["status"] == "succeeded" and again["source_run_id"] == run["id"]
    assert again["parameters"] == {"x": 3, "name": "ab"}
    assert "ababab" in platform.service("GET", f"api/runs/{again['id']}/log", token).json()["log"]
    write_notebook(platform.home / "users/jobs-alice/t.ipynb")
    # Its snapshot removed: no re-run (it would run the workspace's notebook instead).
    (run_dir / "input.ipynb").unlink()
    for of in (run, again):  # the re-run repeats the same snapshot
        r = platform.service("POST", f"api/runs/{of['id']}/rerun", token)
        assert r.status_code == 409 and "input snapshot was removed" in r.json()["message"], r.text


def test_fast_cron_fires_and_pause_stops_it(platform):
    token = user(platform, "jobs-cron")
    job = create(platform, token, name="cron", cron="*/2 * * * * *")
    assert job["schedule"]["kind"] == "cron"
    assert job["active"] is False and job["activation"]["state"] == "testing"  # tests gate
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not job["active"]:
        time.sleep(0.3)
        job = platform.service("GET", f"api/jobs/{job['id']}", token).json()
    assert job["activation"]["state"] == "passed", job["activation"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        scheduled = [r for r in runs_of(platform, token, job) if r["trigger"] == "schedule"]
        if scheduled:
            break
        time.sleep(0.3)
    assert scheduled, "the cron schedule did not fire"
    # The time the run stands for is the trigger's fire time: a whole second in UTC, an
    # even one ("*/2" in the seconds field), at or before the run was queued.
    fired = scheduled[-1]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d[02468]\.000Z", fired["scheduled_for"]), fired
    assert fired["scheduled_for"] <= fired["created_at"], fired
    r = platform.service("GET", f"api/jobs/{job['id']}", token).json()
    assert r["next_run_at"] is not None
    r = platform.service("PATCH", f"api/jobs/{job['id']}", token, json={"active": False})
    assert r.status_code == 200 and r.json()["next_run_at"] is None
    time.sleep(1)
    count = len(runs_of(platform, token, job))
    time.sleep(4)
    assert len(runs_of(platform, token, job)) == count
    times = [r["scheduled_for"] for r in runs_of(platform, token, job) if r["scheduled_for"]]
    assert len(times) == len(set(times))


class _Hook(BaseHTTPRequestHandler):
    received: list[dict] = []
    signatures: list[tuple[bytes, str]] = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(json.loads(body))
        _Hook.signatures.append((body, self.headers.get("X-Nbp-Signature-256", "")))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    _Hook.received = []
    _Hook.signatures = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook", _Hook.received
    server.shutdown()


def test_failure_keeps_output_retries_with_backoff_and_notifies(platform, webhook):
    url, received = webhook
    token = user(platform, "jobs-fail")
    job = create(
        platform,
        token,
        name="fails",
        parameters={"fail": True},
        retries=1,
        retry_backoff_seconds=2,
        webhook_url=url,
    )
    first = wait_run(platform, token, run_now(platform, token, job)["id"])
    # Cells as the user sees them: parameters, sleep, fail, print (no injected cell)...
    assert first["status"] == "failed"
    assert first["error"] == "ValueError: boom (failed in cell 3 of 4)"
    assert first["progress"] == {"cell": 3, "total": 4, "failed": True}
    # ...while failed_cell is the failing cell's index in the output notebook.
    output = platform.service("GET", f"api/runs/{first['id']}/output", token).json()
    assert 'raise ValueError("boom")' in "".join(output["cells"][first["failed_cell"]]["source"])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        runs = runs_of(platform, token, job)
        if len(runs) == 2 and runs[0]["status"] in FINAL and received:
            break
        time.sleep(0.3)
    retry = runs[0]
    assert retry["attempt"] == 2 and retry["trigger"] == "retry" and retry["status"] == "failed"
    assert retry["source_run_id"] == first["id"]
    waited = _t(retry["started_at"]) - _t(first["ended_at"])
    assert waited >= 1.9, waited
    assert len(received) == 1  # only the last failure notifies
    notice = received[0]
    assert notice["event"] == "run.failed" and notice["run"]["id"] == retry["id"]
    assert notice["run"]["error"] == "ValueError: boom (failed in cell 3 of 4)"
    assert notice["job"]["name"] == "fails"
    (body, signature), secret = _Hook.signatures[0], job["webhook_secret"]
    assert secret and signature == "sha256=" + hmac.new(secret.encode(), body, "sha256").hexdigest()


def test_success_notices_when_asked_for(platform, webhook):
    url, received = webhook
    token = user(platform, "jobs-hooray")
    job = create(platform, token, name="ok", webhook_url=url, notify_on=["success"])
    assert job["notify_on"] == ["success"]
    run = wait_run(platform, token, run_now(platform, token, job)["id"])
    assert run["status"] == "succeeded"
    deadline = time.monotonic() + 30
    while not received and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [n["event"] for n in received] == ["run.succeeded"]
    assert received[0]["run"]["id"] == run["id"]


@pytest.mark.parametrize(
    "url",
    ["http://169.254.169.254/latest/meta-data/", "http://[::1]:8081/hub/api", "http://10.0.0.1/"],
)
def test_webhooks_to_internal_addresses_are_refused(platform, url):
    token = user(platform, "jobs-ssrf")
    r = platform.service(
        "POST", "api/jobs", token, json={"name": "ssrf", "notebook": "t.ipynb", "webhook_url": url}
    )
    assert r.status_code == 400 and "webhook_url" in r.json()["message"], r.text
    assert "NBP_WEBHOOK_ALLOW" in r.json()["message"]
    job = create(platform, token, name=f"ssrf-{abs(hash(url)) % 10**6}")
    r = platform.service("PATCH", f"api/jobs/{job['id']}", token, json={"webhook_url": url})
    assert r.status_code == 400, r.text
    assert platform.service("GET", f"api/jobs/{job['id']}", token).json()["webhook_url"] is None


def test_outputs_and_logs_are_private_unless_shared(platform):
    owner = user(platform, "jobs-private")
    other = user(platform, "jobs-curious")
    viewer = user(platform, "jobs-peek", "viewer")
    job = create(platform, owner, name="private")
    assert job["shared"] is False and job["webhook_secret"] is None
    run = wait_run(platform, owner, run_now(platform, owner, job)["id"])
    paths = [f"api/runs/{run['id']}/{what}" for what in ("output", "log", "html")]
    for token, allowed in [
        (owner, True),
        (platform.admin_token, True),
        (other, False),
        (viewer, False),
    ]:
        for path in paths:
            r = platform.service("GET", path, token)
            assert r.status_code == (200 if allowed else 403), (path, r.text)
            if not allowed:
                assert "shared: true" in r.json()["message"]
    # The run itself (status, progress) stays readable; the secret is the owner's.
    assert platform.service("GET", f"api/runs/{run['id']}", other).status_code == 200
    assert "webhook_secret" not in platform.service("GET", f"api/jobs/{job['id']}", other).json()
    r = platform.service("PATCH", f"api/jobs/{job['id']}", other, json={"shared": True})
    assert r.status_code == 403
    r = platform.service("PATCH", f"api/jobs/{job['id']}", owner, json={"shared": True})
    assert r.status_code == 200 and r.json()["shared"] is True
    for token in (other, viewer):
        assert all(platform.service("GET", p, token).status_code == 200 for p in paths)


def _t(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def test_timeout_and_cancel(platform):
    token = user(platform, "jobs-slow")
    slow = create(platform, token, name="slow", parameters={"sleep": 60}, timeout_seconds=4)
    stoppable = create(platform, token, name="stoppable", parameters={"sleep": 60})
    timed = run_now(platform, token, slow)
    cancelled = run_now(platform, token, stoppable)
    running = wait_run(platform, token, cancelled["id"], until=("running",))
    deadline = time.monotonic() + 20
    while not (running.get("progress") or {}).get("cell") and time.monotonic() < deadline:
        running = platform.service("GET", f"api/runs/{cancelled['id']}", token).json()
        time.sleep(0.2)
    r = platform.service("POST", f"api/runs/{cancelled['id']}/cancel", token)
    assert r.status_code == 200 and r.json()["cancel_requested"]
    assert wait_run(platform, token, cancelled["id"], timeout=20)["status"] == "cancelled"
    run = wait_run(platform, token, timed["id"], timeout=30)
    assert run["status"] == "timed-out" and "timeout" in run["error"]
    r = platform.service("POST", f"api/runs/{cancelled['id']}/cancel", token)
    assert r.status_code == 409


def test_a_run_goes_on_after_its_owners_server_stops(platform):
    token = user(platform, "jobs-server")
    assert platform.spawn("jobs-server").status_code in (201, 202)
    job = create(platform, token, name="server", parameters={"sleep": 3})
    run = wait_run(platform, token, run_now(platform, token, job)["id"], until=("running",))
    platform.stop_server("jobs-server")
    assert wait_run(platform, token, run["id"])["status"] == "succeeded"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"cron": "61 * * * *"}, 400, "cron:"),
        ({"cron": "0 3 * * *", "timezone": "Mars/Olympus"}, 400, "timezone:"),
        ({"parameters": {"nope": 1}}, 400, "parameters.nope:"),
        ({"parameters": {"x": "three"}}, 400, "parameters.x: expected int"),
        ({"notebook": "../jobs-alice/t.ipynb"}, 400, "'..'"),
        ({"notebook": "/etc/passwd.ipynb"}, 400, "relative to your workspace"),
        ({"notebook": "link.ipynb"}, 400, "leads out of"),
        ({"notebook": "missing.ipynb"}, 404, "does not exist"),
        ({"profile": "nope"}, 400, "profile:"),
        ({"timeout_seconds": 0}, 400, "timeout_seconds"),
        ({"owner": "jobs-alice"}, 403, "may not create jobs for"),
    ],
)
def test_bad_definitions_are_refused_naming_the_field(platform, body, status, message):
    token = user(platform, "jobs-bad")
    link = platform.home / "users/jobs-bad/link.ipynb"
    if not link.is_symlink():
        outside = write_notebook(platform.home / "outside" / "o.ipynb")
        link.symlink_to(outside)
    r = platform.service(
        "POST", "api/jobs", token, json={"name": "bad", "notebook": "t.ipynb", **body}
    )
    assert r.status_code == status, r.text
    jsonschema.validate(r.json(), schema("Error"))
    assert message in r.json()["message"]


def test_permissions(platform):
    owner = user(platform, "jobs-owner")
    other = user(platform, "jobs-other")
    viewer = user(platform, "jobs-viewer", "viewer")
    admin = user(platform, "jobs-admin", "platform-admin")
    job = create(platform, owner, name="perm")
    # Viewers read, never write.
    assert platform.service("GET", "api/jobs", viewer).status_code == 200
    assert platform.service("GET", f"api/jobs/{job['id']}", viewer).status_code == 200
    r = platform.service("POST", "api/jobs", viewer, json={"name": "v", "notebook": "t.ipynb"})
    assert r.status_code == 403
    # Another data scientist may not touch it.
    for method, path in [
        ("PATCH", f"api/jobs/{job['id']}"),
        ("POST", f"api/jobs/{job['id']}/runs"),
        ("DELETE", f"api/jobs/{job['id']}"),
    ]:
        r = platform.service(
            method, path, other, json={"active": False} if method == "PATCH" else None
        )
        assert r.status_code == 403, (method, path, r.text)
    # A platform admin manages it, and may create jobs for others within their profiles.
    r = platform.service("PATCH", f"api/jobs/{job['id']}", admin, json={"active": False})
    assert r.status_code == 200 and r.json()["active"] is False
    r = platform.service(
        "POST",
        "api/jobs",
        admin,
        json={
            "name": "for-viewer",
            "notebook": "t.ipynb",
            "owner": "jobs-viewer",
            "profile": "cpu-large",
        },
    )
    assert r.status_code == 403 and "profile" in r.json()["message"]
    r = platform.service("DELETE", f"api/jobs/{job['id']}", admin)
    assert r.status_code == 204
    assert platform.service("GET", f"api/jobs/{job['id']}", owner).status_code == 404
    # Every write, allowed or refused, is in the audit log.
    entries = platform.service("GET", "api/audit?action=jobs:&max_results=200", admin).json()
    seen = {
        (e["user"], e["action"], e["result"])
        for e in entries["entries"]
        if e["resource"] and e["resource"].startswith(f"jobs/{job['id']}")
    }
    assert ("jobs-other", "jobs:delete", "refused") in seen
    assert ("jobs-admin", "jobs:patch", "allowed") in seen
    assert ("jobs-admin", "jobs:delete", "allowed") in seen


def test_listing_pages_and_unknown_ids(platform):
    token = user(platform, "jobs-pages")
    for i in range(3):
        create(platform, token, name=f"page-{i}")
    r = platform.service("GET", "api/jobs?owner=jobs-pages&max_results=2", token).json()
    jsonschema.validate(r, schema("JobList"))
    assert len(r["jobs"]) == 2 and r["next_page_token"]
    r2 = platform.service(
        "GET", f"api/jobs?owner=jobs-pages&max_results=2&page_token={r['next_page_token']}", token
    ).json()
    assert [j["name"] for j in r2["jobs"]] == ["page-2"] and r2["next_page_token"] is None
    assert platform.service("GET", "api/jobs?max_results=0", token).status_code == 400
    assert platform.service("GET", "api/runs/abc123", token).status_code == 404
    assert platform.service("GET", "api/jobs/abc123", token).status_code == 404


def test_library_and_cli(platform, tmp_path):
    import subprocess
    import sys

    from nbplatform import jobs
    from nbplatform.client import PlatformClient

    token = user(platform, "jobs-lib")
    url = f"{platform.url}/services/platform/"
    client = PlatformClient(url, token)
    job = jobs.schedule("t.ipynb", name="lib", parameters={"x": 2}, client=client)
    run = jobs.wait(jobs.run_now(job, client=client), timeout=60, progress=False, client=client)
    assert run["status"] == "succeeded"
    assert jobs.runs(job, client=client)[0]["id"] == run["id"]
    # What a notebook shows of the real answers: tables with readable times.
    shown = jobs.runs(job, client=client)
    assert "<table" in shown._repr_html_() and "succeeded" in repr(shown)
    assert " UTC (" in repr(shown) and run["started_at"] not in repr(shown)
    listed = jobs.list_jobs(owner="jobs-lib", client=client)
    assert listed[0]["id"] == job["id"] and "<table" in listed._repr_html_()
    assert repr(listed).splitlines()[0] == "1 job" and "manual" in repr(listed)
    env = {"NBP_PLATFORM_URL": url, "NBP_TOKEN": token, "PATH": str(Path(sys.executable).parent)}
    cli = [str(Path(sys.executable).parent / "nbplatform"), "jobs"]
    out = subprocess.run(
        [*cli, "list", "--owner", "jobs-lib"], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0 and "lib" in out.stdout, out.stderr
    out = subprocess.run([*cli, "logs", run["id"]], env=env, capture_output=True, text=True)
    assert "aa" in out.stdout
    out = subprocess.run(
        [*cli, "create", "t.ipynb", "--name", "cli", "--cron", "0 99 * * *"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2 and "cron:" in out.stderr
    out = subprocess.run([*cli, "pause", job["id"]], env=env, capture_output=True, text=True)
    assert out.returncode == 0 and "False" in out.stdout


def test_deleting_a_job_stops_its_running_run(platform):
    token = user(platform, "jobs-delete")
    job = create(platform, token, name="doomed", parameters={"sleep": 60})
    run = run_now(platform, token, job)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        run = platform.service("GET", f"api/runs/{run['id']}", token).json()
        if (run.get("progress") or {}).get("cell", 0) >= 2:
            break
        time.sleep(0.2)
    assert platform.service("DELETE", f"api/jobs/{job['id']}", token).status_code == 204
    assert platform.service("GET", f"api/runs/{run['id']}", token).status_code == 404
    job_dir = platform.home / "jobs" / job["id"]
    deadline = time.monotonic() + 20
    while job_dir.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not job_dir.exists()


def test_creates_with_an_idempotency_token_never_duplicate(platform):
    token = user(platform, "jobs-retry")
    body = {"name": "once", "notebook": "t.ipynb", "idempotency_token": "create-1"}
    first = platform.service("POST", "api/jobs", token, json=body)
    again = platform.service("POST", "api/jobs", token, json=body)
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    other = platform.service("POST", "api/jobs", token, json={**body, "name": "twice"})
    assert other.status_code == 409 and "idempotency_token" in other.json()["message"]
    # Another user's token of the same text is theirs.
    mine = user(platform, "jobs-retry-2")
    assert platform.service("POST", "api/jobs", mine, json=body).status_code == 201

    job = first.json()
    run_body = {"idempotency_token": "run-1"}
    run = platform.service("POST", f"api/jobs/{job['id']}/runs", token, json=run_body)
    rerun = platform.service("POST", f"api/jobs/{job['id']}/runs", token, json=run_body)
    assert (run.status_code, rerun.status_code) == (201, 200)
    assert rerun.json()["id"] == run.json()["id"]
    wait_run(platform, token, run.json()["id"])
    assert len(runs_of(platform, token, job)) == 1
    bad = platform.service("POST", "api/jobs", token, json={**body, "idempotency_token": "a b"})
    assert bad.status_code == 400 and "idempotency_token" in bad.text


def test_a_long_log_says_it_was_cut_and_pages_through_whole(platform):
    import nbplatform as nbp

    token = user(platform, "jobs-chatty")
    line = "é" * 999
    write_notebook(
        platform.home / "users" / "jobs-chatty" / "chatty.ipynb",
        body=[f"for i in range(800):\n    print(i, {line!r})"],
    )
    job = create(platform, token, name="chatty", notebook="chatty.ipynb")
    run = wait_run(platform, token, run_now(platform, token, job)["id"])
    assert run["status"] == "succeeded", run
    tail = platform.service("GET", f"api/runs/{run['id']}/log", token).json()
    jsonschema.validate(tail, schema("RunLog"))
    assert tail["truncated"] and tail["size"] > 1 << 20 and tail["next_offset"] == tail["size"]
    assert tail["offset"] > 0 and "\ufffd" not in tail["log"]
    client = nbp.client.PlatformClient(f"{platform.url}/services/platform/", token=token)
    whole = nbp.jobs.log(run, client=client)
    assert len(whole.encode()) == tail["size"]
    assert all(f"{i} {line}" in whole for i in (0, 399, 799))
    r = platform.service("GET", f"api/runs/{run['id']}/log?offset=5&tail=3", token)
    assert r.status_code == 400 and "tail" in r.json()["message"]


def test_each_run_keeps_an_html_rendering_served_sandboxed(platform):
    token = user(platform, "jobs-html")
    job = create(platform, token, name="rendered", parameters={"fail": True})
    run = wait_run(platform, token, run_now(platform, token, job)["id"])
    assert run["status"] == "failed"  # failed runs are rendered too
    r = platform.service("GET", f"api/runs/{run['id']}/html", token)
    assert r.status_code == 200 and "<html" in r.json()["html"]
    assert "ValueError" in r.json()["html"]
    r = platform.service("GET", f"api/runs/{run['id']}/html?download=1", token)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert r.headers["Content-Security-Policy"].startswith("sandbox")
    assert r.headers["Content-Disposition"].startswith('attachment; filename="rendered-')
    assert b"<html" in r.content
    bad = platform.service("GET", f"api/runs/{run['id']}/html?download=yes", token)
    assert bad.status_code == 400


def test_jobs_and_runs_lie_in_the_platform_database_it_was_given(platform, servers):
    token = user(platform, "jobs-where")
    job = create(platform, token, name="where")
    run = wait_run(platform, token, run_now(platform, token, job)["id"])
    assert run["status"] == "succeeded", run
    sqlite = platform.home / "platform" / "platform.sqlite"
    if "NBP_PLATFORM_DB_URL" not in platform.env:  # embedded
        assert sqlite.is_file()
        return
    assert not sqlite.exists()
    database = platform.env["NBP_PLATFORM_DB_URL"].rsplit("/", 1)[1]
    with servers.postgres.connect(database) as conn:
        jobs = conn.execute("SELECT owner, name FROM jobs WHERE id = %s", (job["id"],)).fetchall()
        runs = conn.execute(
            "SELECT status FROM job_runs WHERE job_id = %s", (job["id"],)
        ).fetchall()
        chains = {
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_name LIKE 'alembic_version%%'"
            )
        }
    assert jobs == [("jobs-where", "where")] and runs == [("succeeded",)]
    assert {"alembic_version", "alembic_version_jobs"} <= chains


def test_a_notebook_may_start_another_job_but_not_its_own(platform):
    token = user(platform, "jobs-chain")
    other = create(platform, token, name="chain-other")
    body = [
        "import os\nimport nbplatform as nbp\nfrom nbplatform.errors import ConflictError",
        f"started = nbp.jobs.run_now({other['id']!r})\nprint('started', started['id'])",
        "try:\n"
        "    nbp.jobs.run_now(os.environ['NBP_JOB_ID'])\n"
        "except ConflictError as e:\n"
        "    print('refused:', e)",
    ]
    write_notebook(platform.home / "users/jobs-chain/chain.ipynb", body=body)
    job = create(platform, token, name="chain", notebook="chain.ipynb")
    run = wait_run(platform, token, run_now(platform, token, job)["id"], timeout=120)
    assert run["status"] == "succeeded", run
    log = platform.service("GET", f"api/runs/{run['id']}/log", token).json()["log"]
    started = re.search(r"started ([0-9a-f]+)", log).group(1)
    child = wait_run(platform, token, started)
    assert child["parent_run_id"] == run["id"] and child["job_id"] == other["id"]
    assert f"refused: Job {job['id']} is already part of this chain of runs" in log
    assert [r["id"] for r in runs_of(platform, token, job)] == [run["id"]]
