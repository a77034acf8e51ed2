"""``kill -9`` of the scheduler mid-run, a hub restart, YAML definitions synced at start.

Its own platform, because it kills the scheduler service (the hub restarts it:
JupyterHub polls its managed services every 30 s or so).
"""

from __future__ import annotations

import os
import signal
import textwrap
import time
from datetime import datetime

import psutil
import pytest
from jobs_helpers import write_notebook

from platform_harness import Platform, platform_env

pytestmark = pytest.mark.integration

FINAL = ("succeeded", "failed", "timed-out", "cancelled")


@pytest.fixture(scope="module")
def plat(homes):
    home = homes("nbp-jobs-recovery")
    folder = home.parent / f"{home.name}-definitions"
    folder.mkdir()
    (folder / "jobs.yaml").write_text(
        textwrap.dedent(
            """
            jobs:
              - owner: jobs-yaml
                name: from-yaml
                notebook: t.ipynb
                cron: "0 3 * * *"
                timezone: Europe/Berlin
                parameters: {x: 2}
              - owner: jobs-yaml
                name: broken
                notebook: t.ipynb
                parameters: {nope: 1}
            """
        )
    )
    env = platform_env(
        home, NBP_GPUS="none", NBP_JOBS_DIR=str(folder), NBP_JOBS_MISFIRE_GRACE="300"
    )
    running = Platform(env).start()
    try:
        yield running
    finally:
        running.stop()


def scheduler_pid(platform) -> int | None:
    for proc in psutil.process_iter(["cmdline"]):
        try:
            cmd = proc.info["cmdline"] or []
            if cmd[-2:] == ["-m", "nbplatform_jobs"] and proc.environ().get("NBP_HOME") == str(
                platform.home
            ):
                return proc.pid
        except (psutil.Error, IndexError):
            continue
    return None


def run_processes(run_id: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("NBP_RUN_ID") == run_id:
                found.append(proc)
        except psutil.Error:
            continue
    return found


def get(platform, token, path):
    r = platform.service("GET", path, token)
    assert r.status_code == 200, r.text
    return r.json()


def scheduled(runs: list[dict]) -> list[dict]:
    """The runs the schedule made (not the test run that gated its activation)."""
    return [r for r in runs if r["trigger"] == "schedule"]


def stamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_kill_9_loses_nothing_and_runs_nothing_twice(plat):
    token = plat.create_user("jobs-rec", "data-scientist")
    write_notebook(plat.home / "users/jobs-rec/t.ipynb")
    plat.create_user("jobs-yaml", "data-scientist")
    write_notebook(plat.home / "users/jobs-yaml/t.ipynb")

    def create(**body):
        r = plat.service("POST", "api/jobs", token, json={"notebook": "t.ipynb", **body})
        assert r.status_code == 201, r.text
        return r.json()

    long = create(name="long", parameters={"sleep": 120})
    tick = create(name="tick", cron="*/2 * * * * *")
    run = plat.service("POST", f"api/jobs/{long['id']}/runs", token).json()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run = get(plat, token, f"api/runs/{run['id']}")
        ticks = scheduled(get(plat, token, f"api/jobs/{tick['id']}/runs")["runs"])
        if (run["progress"] or {}).get("cell", 0) >= 2 and ticks:
            break
        time.sleep(0.3)
    assert run["status"] == "running" and ticks, (run, ticks)
    assert run_processes(run["id"])

    old = scheduler_pid(plat)
    assert old is not None
    killed_at = time.time()
    os.kill(old, signal.SIGKILL)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        new = scheduler_pid(plat)
        if new and new != old:
            break
        time.sleep(0.5)
    assert new and new != old, "the hub did not restart the scheduler"

    # The interrupted run is settled (failed, no retries asked) and its kernel is gone.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        run = get(plat, token, f"api/runs/{run['id']}")
        if run["status"] in FINAL:
            break
        time.sleep(0.3)
    assert run["status"] == "failed" and run["error"].startswith("Interrupted"), run
    assert not run_processes(run["id"])

    # Every definition is still there; the YAML one was synced at the restart.
    names = {j["name"] for j in get(plat, token, "api/jobs?owner=jobs-rec")["jobs"]}
    assert names == {"long", "tick"}
    yaml_jobs = get(plat, token, "api/jobs?owner=jobs-yaml")["jobs"]
    assert [(j["name"], j["source"], j["parameters"]) for j in yaml_jobs] == [
        ("from-yaml", "yaml:jobs.yaml", {"x": 2})
    ]
    # The restarted scheduler schedules it again once it has synced its triggers
    # (it settles interrupted runs first).
    deadline = time.monotonic() + 60
    while yaml_jobs[0]["next_run_at"] is None and time.monotonic() < deadline:
        time.sleep(0.5)
        yaml_jobs = get(plat, token, "api/jobs?owner=jobs-yaml")["jobs"]
    assert yaml_jobs[0]["next_run_at"] is not None

    # Fire times missed while down were coalesced into one run; none ran twice.
    time.sleep(4)
    ticks = scheduled(get(plat, token, f"api/jobs/{tick['id']}/runs?max_results=1000")["runs"])
    times = [stamp(r["scheduled_for"]) for r in ticks]
    assert len(times) == len(set(times))
    first = min(
        (r for r in ticks if stamp(r["created_at"]) > killed_at), key=lambda r: r["created_at"]
    )
    resumed = stamp(first["created_at"])
    missed = len(range(int(killed_at) // 2 + 1, int(resumed) // 2 + 1))
    in_gap = [t for t in times if killed_at < t <= resumed]
    assert missed >= 2 and in_gap == [stamp(first["scheduled_for"])], (missed, in_gap)

    # A hub restart keeps definitions and runs.
    before = get(plat, token, f"api/jobs/{long['id']}/runs")["runs"]
    plat.stop()
    plat.start()
    assert {j["name"] for j in get(plat, token, "api/jobs?owner=jobs-rec")["jobs"]} == names
    after = get(plat, token, f"api/jobs/{long['id']}/runs")["runs"]
    assert [(r["id"], r["status"]) for r in after] == [(r["id"], r["status"]) for r in before]
