"""The hub process restarts under running servers and job runs: nothing is lost.

Its own platform, because it crashes the hub: ``kill -9`` of the JupyterHub
process alone, then a new one, as a process supervisor would start it. What the
old hub started lives on (proxy, services, the scheduler, users' servers,
kernels, job runs); after the restart a user's server is the same process and
reachable through the proxy, and the job run that was running finishes and is
recorded once, its notebook executed once.
"""

from __future__ import annotations

import time

import psutil
import pytest
from jobs_helpers import (
    FINAL,
    check_output,
    crash_and_restart_hub,
    kill_home_processes,
    read_ledger,
    start_jobs_platform,
    write_ledger_notebook,
)

from platform_harness import platform_env

pytestmark = [pytest.mark.integration, pytest.mark.hardening]

USER = "restart-rita"


@pytest.fixture(scope="module")
def plat(homes):
    home = homes("nbp-restart")
    running = start_jobs_platform(platform_env(home, NBP_GPUS="none"))
    try:
        yield running
    finally:
        running.stop()
        left = kill_home_processes(home)  # the old hub's services (their own sessions)
        print("left by the crashed hub:", *left, sep="\n  ")


def server_pid(user: str) -> int | None:
    for proc in psutil.process_iter(["cmdline"]):
        try:
            cmd = " ".join(proc.info["cmdline"] or [])
            if "jupyterhub-singleuser" in cmd and proc.environ().get("JUPYTERHUB_USER") == user:
                return proc.pid
        except psutil.Error:
            continue
    return None


def get_run(platform, token, run_id):
    r = platform.service("GET", f"api/runs/{run_id}", token)
    assert r.status_code == 200, r.text
    return r.json()


def wait_run(platform, token, run_id, until, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        run = get_run(platform, token, run_id)
        if until(run):
            return run
        assert time.monotonic() < deadline, run
        time.sleep(0.3)


@pytest.mark.timeout(600)
def test_hub_restart_keeps_servers_and_finishes_running_runs_once(plat, tmp_path):
    platform = plat
    token = platform.create_user(USER, "data-scientist")
    write_ledger_notebook(platform.home / "users" / USER / "t.ipynb")
    # In the workspace: the run's kernel runs as the owner's system user.
    ledger = platform.home / "users" / USER / "ledger"
    ledger.mkdir()
    platform.spawn(USER, "cpu-small")
    before = server_pid(USER)
    assert before is not None
    assert platform.server(USER, "GET", "api/status", token).status_code == 200

    body = {
        "name": "across",
        "notebook": "t.ipynb",
        "parameters": {"ledger": str(ledger), "sleep": 12.0},
    }
    r = platform.service("POST", "api/jobs", token, json=body)
    assert r.status_code == 201, r.text
    job = r.json()
    r = platform.service("POST", f"api/jobs/{job['id']}/runs", token)
    assert r.status_code == 201, r.text
    run = wait_run(
        platform, token, r.json()["id"], lambda x: (x["progress"] or {}).get("cell", 0) >= 3
    )
    assert run["status"] == "running", run

    crash_and_restart_hub(platform)

    # The server is the same process, known to the new hub and reachable through the proxy.
    assert server_pid(USER) == before
    model = platform.hub_api("GET", f"users/{USER}").json()
    assert model["servers"][""]["ready"], model
    assert platform.server(USER, "GET", "api/status", token).status_code == 200
    assert platform.service("GET", "api/me", token).json()["name"] == USER

    # The run that was running finishes, once, its notebook executed once.
    run = wait_run(platform, token, run["id"], lambda x: x["status"] in FINAL)
    assert run["status"] == "succeeded", run
    runs = platform.service("GET", f"api/jobs/{job['id']}/runs", token).json()["runs"]
    assert [r["id"] for r in runs] == [run["id"]]
    assert read_ledger(ledger)[run["id"]][1:] == ["end"]
    check_output(platform.home / "jobs" / job["id"] / run["id"], run["id"])

    # New runs are taken after the restart, once each.
    quick = {"parameters": {"ledger": str(ledger), "sleep": 0.0}}
    r = platform.service("POST", f"api/jobs/{job['id']}/runs", token, json=quick)
    assert r.status_code == 201, r.text
    again = wait_run(platform, token, r.json()["id"], lambda x: x["status"] in FINAL, 180)
    assert again["status"] == "succeeded", again
    lines = read_ledger(ledger)
    assert [len(lines[i]) for i in (run["id"], again["id"])] == [2, 2], lines
