"""The scheduler itself (no hub: token minting is replaced), on both backends.

A cron trigger fires, its run executes with papermill, a failure is retried
with backoff and the interrupted-run recovery settles what a crash left.
"""

from __future__ import annotations

import time

import pytest
from jobs_helpers import add_job

from nbplatform_jobs import runfiles, store
from nbplatform_jobs.backends import DaskBackend, LocalBackend
from nbplatform_jobs.scheduler import Scheduler
from nbplatform_jobs.settings import JobsSettings


@pytest.fixture(autouse=True)
def no_hub(monkeypatch):
    """No hub here: a run's token is not minted."""
    monkeypatch.setattr(runfiles, "mint_token", lambda *a, **k: "not-a-real-token")


def runs_of(engine, job):
    with engine.connect() as conn:
        return store.list_runs(conn, job["id"])[0]


def drive(scheduler, until, timeout=90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        scheduler.tick()
        if until():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


@pytest.mark.parametrize("kind", ["local", "dask"])
def test_a_cron_job_fires_and_succeeds_on_each_backend(home, engine, kind):
    backend = LocalBackend(1) if kind == "local" else DaskBackend(1)
    scheduler = Scheduler(JobsSettings(home=home), engine, backend, "", "", "http://127.0.0.1:9/")
    job = add_job(engine, cron="*/2 * * * * *", parameters={"x": 2})
    scheduler.start()
    try:
        drive(scheduler, lambda: any(r["status"] == "succeeded" for r in runs_of(engine, job)))
    finally:
        scheduler.stop()
    run = next(r for r in runs_of(engine, job) if r["status"] == "succeeded")
    assert run["trigger"] == "schedule" and run["scheduled_for"].second % 2 == 0
    assert run["backend"] == backend.name
    log = (home / "jobs" / job["id"] / run["id"] / "log.txt").read_text()
    assert "aa" in log


def test_failures_are_retried_with_backoff(home, engine):
    scheduler = Scheduler(
        JobsSettings(home=home), engine, LocalBackend(2), "", "", "http://127.0.0.1:9/"
    )
    job = add_job(engine, parameters={"fail": True}, retries=2, retry_backoff_seconds=0.5)
    with engine.begin() as conn:
        store.insert_run(conn, job, "manual")
    scheduler.start()
    try:
        drive(scheduler, lambda: [r["status"] for r in runs_of(engine, job)] == ["failed"] * 3)
    finally:
        scheduler.stop()
    runs = sorted(runs_of(engine, job), key=lambda r: r["attempt"])
    assert [r["attempt"] for r in runs] == [1, 2, 3]
    pairs = zip(runs, runs[1:], strict=False)
    waits = [(b["started_at"] - a["ended_at"]).total_seconds() for a, b in pairs]
    assert waits[0] >= 0.45 and waits[1] >= 0.95, waits
    assert {r["source_run_id"] for r in runs[1:]} == {runs[0]["id"]}


def test_recovery_settles_runs_left_running(home, engine):
    job = add_job(engine)
    with engine.begin() as conn:
        run = store.insert_run(conn, job, "manual")
        store.update_run(conn, run["id"], status="running", started_at=store.utcnow())
    scheduler = Scheduler(
        JobsSettings(home=home), engine, LocalBackend(1), "", "", "http://127.0.0.1:9/"
    )
    scheduler.recover()
    with engine.connect() as conn:
        settled = store.get_run(conn, run["id"])
    assert settled["status"] == "failed" and settled["error"].startswith("Interrupted")
    scheduler.backend.close()


def test_max_concurrent_runs_per_job_holds_runs_queued(home, engine):
    scheduler = Scheduler(
        JobsSettings(home=home), engine, LocalBackend(2), "", "", "http://127.0.0.1:9/"
    )
    job = add_job(engine, parameters={"sleep": 1.0}, max_concurrent_runs=1)
    with engine.begin() as conn:
        for _ in range(2):
            store.insert_run(conn, job, "manual")
    scheduler.start()
    most = 0

    def done() -> bool:
        nonlocal most
        statuses = [r["status"] for r in runs_of(engine, job)]
        most = max(most, statuses.count("running"))
        return statuses == ["succeeded", "succeeded"]

    try:
        drive(scheduler, done)
    finally:
        scheduler.stop()
    assert most == 1


def test_a_gpu_run_takes_a_device_from_the_shared_allocator_and_waits_for_one(
    home, engine, monkeypatch
):
    from jobs_helpers import write_notebook

    from nbplatform_hub.gpus import GpuAllocator, lease_file

    monkeypatch.setenv("NBP_GPUS", "0")  # one (pretend) device on this machine
    write_notebook(
        home / "users" / "alice" / "gpu.ipynb",
        params="x = 1",
        body=["import os\nprint('devices=' + os.environ['CUDA_VISIBLE_DEVICES'] + '.')"],
    )
    hub = GpuAllocator(["0"], leases=lease_file(home))
    assert hub.allocate("alice/", 1) == ["0"]  # a GPU server holds the only device
    scheduler = Scheduler(
        JobsSettings(home=home), engine, LocalBackend(1), "", "", "http://127.0.0.1:9/"
    )
    job = add_job(engine, notebook="gpu.ipynb", profile="gpu")
    with engine.begin() as conn:
        store.insert_run(conn, job, "manual")
    scheduler.start()
    try:
        for _ in range(10):
            scheduler.tick()
            time.sleep(0.05)
        assert [r["status"] for r in runs_of(engine, job)] == ["queued"]
        hub.release("alice/")  # the server stops
        drive(scheduler, lambda: runs_of(engine, job)[0]["status"] == "running")
        assert hub.holdings() == {f"job:{runs_of(engine, job)[0]['id']}": ["0"]}
        ok, reason = hub.availability(1, profile="gpu")
        assert not ok and "a job run" in reason  # the spawn page says why
        drive(scheduler, lambda: runs_of(engine, job)[0]["status"] == "succeeded")
    finally:
        scheduler.stop()
    run = runs_of(engine, job)[0]
    log = (home / "jobs" / job["id"] / run["id"] / "log.txt").read_text()
    assert "devices=0." in log
    assert hub.holdings() == {}  # given back when the run ended
