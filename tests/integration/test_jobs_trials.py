"""``kill -9`` trials of the scheduler and of job runs, and two scheduler replicas.

Real scheduler processes (``python -m nbplatform_jobs``) on a temporary platform
database and ``NBP_HOME``, real papermill, real kernels; owners' tokens are minted
by the real hub of a platform of this module, with its scheduler's own token. The
notebook of every job appends to a ledger file per run (``start`` when it starts,
``end`` when it completes), so what really executed is known independently of
what the database says.

After every trial: each scheduled time has one chain of attempts (1, 2, ...,
all but the last failed) and succeeded at most once; no run executed twice;
every succeeded run's output notebook is whole; no process of a settled run is
left. The seed is printed; ``NBP_TRIALS_SEED=<seed>`` replays a failure (the
kill points are drawn from it; what runs where also depends on the machine).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import defaultdict
from contextlib import suppress
from pathlib import Path

import psutil
import pytest
from jobs_helpers import (
    FINAL,
    add_job,
    all_runs,
    check_output,
    home_processes,
    jobs_engine,
    read_ledger,
    run_of_process,
    scheduler_credentials,
    scheduler_env,
    start_jobs_platform,
    start_scheduler,
    write_ledger_notebook,
)

from nbplatform_jobs import store
from nbplatform_jobs.schema import job_runs
from platform_harness import platform_env

pytestmark = [pytest.mark.integration, pytest.mark.hardening]

OWNER = "trials"
#: Trials of the kill -9 test (``NBP_TRIALS`` to change; 50 by default).
TRIALS = int(os.environ.get("NBP_TRIALS") or 50)


def seed() -> int:
    value = int(os.environ.get("NBP_TRIALS_SEED") or random.SystemRandom().randrange(2**32))
    print(f"NBP_TRIALS_SEED={value}")
    return value


@pytest.fixture(scope="module")
def credentials(homes):
    """A real hub to mint owners' tokens, and its scheduler's token to ask with."""
    home = homes("nbp-trials-hub")
    platform = start_jobs_platform(platform_env(home, NBP_GPUS="none"))
    try:
        platform.create_user(OWNER, "data-scientist")
        yield scheduler_credentials(platform.home)
    finally:
        platform.stop()


def new_home(tmp_path: Path) -> tuple[Path, Path]:
    home = tmp_path / "home"
    write_ledger_notebook(home / "users" / OWNER / "t.ipynb")
    ledger = tmp_path / "ledger"
    ledger.mkdir()
    return home, ledger


def wait_for(condition, timeout: float, what: str, details=lambda: ""):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} (waited {timeout:g} s) {details()}")
        time.sleep(0.1)


def kill(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            kill(proc)


def check_invariants(engine, home: Path, ledger: Path) -> list[dict]:
    """The properties that must hold after every trial; returns the runs."""
    runs = all_runs(engine)
    by_id = {r["id"]: r for r in runs}
    executions = read_ledger(ledger)

    # No run executed twice (one `start` per run id), and never by a run not recorded.
    for run_id, lines in executions.items():
        assert run_id in by_id, f"run {run_id} executed but is not recorded"
        starts = [line for line in lines if line.startswith("start")]
        assert len(starts) == 1, f"run {run_id} executed {len(starts)} times: {lines}"

    # One chain of attempts per scheduled time, succeeded at most once.
    chains: dict[tuple, list[dict]] = defaultdict(list)
    for run in runs:
        if run["scheduled_for"] is not None:
            chains[run["job_id"], run["scheduled_for"]].append(run)
    for key, chain in chains.items():
        chain.sort(key=lambda r: r["attempt"])
        assert [r["attempt"] for r in chain] == list(range(1, len(chain) + 1)), (key, chain)
        assert all(r["status"] in ("failed", "timed-out") for r in chain[:-1]), (key, chain)
        assert sum(r["status"] == "succeeded" for r in chain) <= 1, (key, chain)

    # Succeeded runs executed once, completely, and their output notebook is whole.
    for run in runs:
        if run["status"] == "succeeded":
            assert executions.get(run["id"], [None])[-1] == "end", run
            check_output(home / "jobs" / run["job_id"] / run["id"], run["id"])
    return runs


def wait_no_orphans(engine, home: Path, timeout: float = 20) -> None:
    """Every process of a run belongs to a run still ``running``."""

    def orphans():
        running = {r["id"] for r in all_runs(engine) if r["status"] == "running"}
        found = []
        for proc in home_processes(home):
            run_id = run_of_process(proc, home)
            if run_id is not None and run_id not in running:
                found.append((run_id, proc))
        return found

    wait_for(lambda: not orphans(), timeout, "processes of settled runs are left", orphans)


def wait_settled(engine, dead_pid: int, timeout: float = 60) -> None:
    """No run is left ``running`` under a scheduler that is dead."""

    def left():
        return [
            r["id"] for r in all_runs(engine) if r["status"] == "running" and r["pid"] == dead_pid
        ]

    wait_for(lambda: not left(), timeout, f"runs of dead scheduler {dead_pid} unsettled", left)


def running_processes(engine, home: Path, kind: str) -> list[psutil.Process]:
    """Executors (``executor``) or kernels (``kernel``) of running runs."""
    running = {r["id"] for r in all_runs(engine) if r["status"] == "running"}
    found = []
    for proc in home_processes(home):
        try:
            is_kernel = "ipykernel_launcher" in " ".join(proc.cmdline())
        except psutil.Error:
            continue
        if run_of_process(proc, home) in running and is_kernel == (kind == "kernel"):
            found.append(proc)
    return found


def drain(engine, home: Path, scheduler_procs, timeout: float = 120) -> list[dict]:
    """Pause every job, cancel what is queued (as the API does), let running runs end."""
    with engine.begin() as conn:
        for job in store.list_jobs(conn)[0]:
            store.update_job(conn, job["id"], {"active": False})
    time.sleep(1)  # the schedulers see the pause (they poll every 0.1 s)
    with engine.begin() as conn:
        conn.execute(
            job_runs.update()
            .where(job_runs.c.status == "queued")
            .values(status="cancelled", cancel_requested=True, ended_at=store.utcnow())
        )

    def busy():
        return [r["id"] for r in all_runs(engine) if r["status"] in ("queued", "running")]

    wait_for(lambda: not busy(), timeout, "runs still queued or running", busy)
    for proc in scheduler_procs:
        stop(proc)
        assert proc.returncode == 0, proc.returncode
    wait_for(lambda: not home_processes(home), 20, "processes left", lambda: home_processes(home))
    return all_runs(engine)


@pytest.mark.timeout(900)
def test_kill_9_of_scheduler_executors_and_kernels_at_random_points(credentials, tmp_path):
    rng = random.Random(seed())
    home, ledger = new_home(tmp_path)
    engine = jobs_engine(home)
    log = home / "scheduler.log"
    common = {"owner": OWNER, "timeout_seconds": 60}
    tick = add_job(
        engine,
        name="tick",
        cron="*/3 * * * * *",
        retries=1,
        parameters={"sleep": 0.5, "ledger": str(ledger)},
        **common,
    )
    add_job(
        engine,
        name="slow",
        interval_seconds=4,
        parameters={"sleep": 2.0, "ledger": str(ledger)},
        **common,
    )
    flaky = add_job(engine, name="flaky", retries=1, **common)
    env = scheduler_env(home, credentials)
    proc = start_scheduler(env, log)
    kinds = {"scheduler": 0, "executor": 0, "kernel": 0}
    try:
        for trial in range(TRIALS):
            if rng.random() < 0.5:  # keep manual runs (some failing, retried) coming
                params = {"ledger": str(ledger), "sleep": rng.uniform(0, 1.5)}
                params["fail"] = rng.random() < 0.3
                with engine.begin() as conn:
                    store.insert_run(conn, flaky, "manual", params, requested_by=OWNER)
            kind = rng.choices(["scheduler", "executor", "kernel"], [2, 1.5, 1.5])[0]
            if kind != "scheduler" or rng.random() < 0.5:  # else: while it starts up
                target = "executor" if kind == "scheduler" else kind
                wait_for(
                    lambda target=target: running_processes(engine, home, target),
                    90,
                    f"no {target} of a running run appeared",
                    lambda: log.read_text()[-2000:],
                )
            time.sleep(rng.uniform(0, 1.0))  # a random point of the run's life
            victims = [] if kind == "scheduler" else running_processes(engine, home, kind)
            if not victims:
                kind = "scheduler"
            kinds[kind] += 1
            print(f"trial {trial}: kill -9 {kind}")
            if kind == "scheduler":
                dead = proc.pid
                kill(proc)
                proc = start_scheduler(env, log)
                wait_settled(engine, dead)
            else:
                victim = rng.choice(victims)
                with suppress(psutil.NoSuchProcess):
                    victim.kill()
                psutil.wait_procs([victim], timeout=10)
            check_invariants(engine, home, ledger)
            wait_no_orphans(engine, home)
        print(f"trials: {kinds}")
        runs = drain(engine, home, [proc])
    finally:
        if proc.poll() is None:
            kill(proc)
        engine.dispose()
        print(log.read_text()[-3000:])
    runs = check_invariants(engine, home, ledger)
    statuses = defaultdict(int)
    for run in runs:
        assert run["status"] in FINAL, run
        statuses[run["status"]] += 1
    print(f"runs: {dict(statuses)}")
    assert statuses["succeeded"] > 0
    # The schedule kept firing across the restarts (one chain per time, none twice).
    assert len({r["scheduled_for"] for r in runs if r["job_id"] == tick["id"]}) > 1


@pytest.mark.timeout(600)
def test_two_replicas_on_one_database_never_run_anything_twice(credentials, tmp_path):
    rng = random.Random(seed())
    home, ledger = new_home(tmp_path)
    engine = jobs_engine(home)
    common = {"owner": OWNER, "timeout_seconds": 60, "max_concurrent_runs": 2}
    params = {"sleep": 0.2, "ledger": str(ledger)}
    every = add_job(engine, name="every-second", cron="* * * * * *", parameters=params, **common)
    interval = add_job(engine, name="interval", interval_seconds=2, parameters=params, **common)
    add_job(engine, name="two", cron="*/2 * * * * *", parameters=params, **common)
    env = scheduler_env(home, credentials)
    logs = [home / "replica-a.log", home / "replica-b.log"]
    a = start_scheduler(env, logs[0])
    b = None

    def executed_by(pid: int, *, ended: bool | None = None) -> list[str]:
        """Runs whose notebook ran under scheduler ``pid`` (by the ledger, not the database)."""
        found = []
        for run_id, lines in read_ledger(ledger).items():
            under = bool(lines) and pid in {int(x) for x in lines[0].split()[2:]}
            if under and (ended is None or ended == (lines[-1] == "end")):
                found.append(run_id)
        return found

    try:
        wait_for(lambda: executed_by(a.pid), 90, "replica A executed nothing")
        b = start_scheduler(env, logs[1])  # joins while A runs runs: must leave them alone
        wait_for(
            lambda: (
                len(executed_by(a.pid, ended=True)) >= 2
                and len(executed_by(b.pid, ended=True)) >= 2
            ),
            120,
            "the replicas did not both complete runs",
        )
        time.sleep(rng.uniform(0, 3))
        # Nobody died yet: nothing may have failed (B did not settle A's runs, nor A B's).
        runs = check_invariants(engine, home, ledger)
        assert all(r["status"] in ("queued", "running", "succeeded") for r in runs), [
            r for r in runs if r["status"] not in ("queued", "running", "succeeded")
        ]
        # Then A dies: B settles A's interrupted runs and kills what is left of them.
        wait_for(lambda: executed_by(a.pid, ended=False), 30, "replica A runs nothing")
        dead = a.pid
        kill(a)
        wait_settled(engine, dead)
        check_invariants(engine, home, ledger)
        wait_no_orphans(engine, home)
        runs = drain(engine, home, [b])
    finally:
        for proc in (a, b):
            if proc is not None and proc.poll() is None:
                kill(proc)
        engine.dispose()
        for path in logs:
            if path.exists():
                print(path.name, path.read_text()[-2000:])
    runs = check_invariants(engine, home, ledger)
    executions = read_ledger(ledger)
    replicas = {dead, b.pid}
    counts = defaultdict(int)
    for run in runs:
        if run["status"] == "cancelled" and run["pid"] is None:
            continue  # still queued at the end: cancelled by the drain
        assert run["pid"] in replicas, run
        counts[run["pid"]] += 1
        if run["status"] != "succeeded":  # only A's runs interrupted by its death
            assert run["pid"] == dead and run["error"].startswith("Interrupted"), run
        lines = executions.get(run["id"])
        if lines:  # executed under its claimant only, never under the other replica
            under = {int(p) for p in lines[0].split()[2:]} & replicas
            # (an executor of A that outlived A runs on orphaned, under neither)
            assert under == {run["pid"]} or (not under and run["pid"] == dead), (run, lines)
    print(f"runs per replica: {dict(counts)}")
    # Both replicas compute the same fire times: the interval job's are 2 s apart.
    times = sorted(r["scheduled_for"] for r in runs if r["job_id"] == interval["id"])
    assert times and all((t - times[0]).total_seconds() % 2 == 0 for t in times), times
    seconds = [r["scheduled_for"] for r in runs if r["job_id"] == every["id"]]
    assert len(seconds) == len(set(seconds)) and all(t.microsecond == 0 for t in seconds)
