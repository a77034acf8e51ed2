"""Job runs on a Dask cluster of separate worker processes vs the local pool, same run.

``scale_jobs``: 20 runs of a small notebook queued at once, executed by a real
scheduler process (``python -m nbplatform_jobs``, tokens minted by a real hub)
on its own platform database, twice: with ``NBP_JOBS_BACKEND=local`` (4 at once)
and with ``NBP_JOBS_BACKEND=dask`` pointed at a ``dask scheduler`` with 4
``dask worker`` processes (one thread each) started here, which share nothing
with the scheduler but the run folders. Wall time from queueing to the last
run ``succeeded``; ``ratio`` is Dask / local (the cost of placing runs through
Dask instead of forking them from a warm pool), and the peak memory of each
side's processes (scheduler and, for Dask, the cluster).

The second figure of issue 11 (idle users with a kernel before login → ready
degrades past 2×) is not measured here: it needs one server per user, which
``bench/load.py`` starts; this script says so in its JSON line.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))
import benchlib  # noqa: E402

OWNER = "bench-scale"
WORKERS = 4


def _watch_peak(pids: list[int], stop: threading.Event, peak: list[float]) -> None:
    while not stop.is_set():
        processes = []
        for pid in pids:
            processes += benchlib.tree(pid)
        peak[0] = max(peak[0], benchlib.rss_mb(processes))
        stop.wait(0.2)


def _dask_cluster(logs: Path) -> tuple[str, list[subprocess.Popen[bytes]]]:
    dask = str(benchlib.BIN / "dask")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NBP_", "JUPYTERHUB_"))}
    env["DASK_DISTRIBUTED__WORKER__DAEMON"] = "False"
    port = benchlib.free_port()
    address = f"tcp://127.0.0.1:{port}"
    out = (logs / "dask.log").open("ab")
    procs = [
        subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    ]
    for i in range(WORKERS):
        procs.append(
            subprocess.Popen(
                [dask, "worker", address, "--nthreads", "1", "--no-dashboard", "--name", f"w{i}"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        )
    from distributed import Client

    with Client(address, timeout=60) as client:
        client.wait_for_workers(WORKERS, timeout=120)
    return address, procs


def _one_side(
    helpers: Any, credentials: dict[str, str], base: Path, runs: int, **env: str
) -> dict[str, Any]:
    from nbplatform_jobs import store

    home = base / env.get("NBP_JOBS_BACKEND", "local")
    helpers.write_notebook(home / "users" / OWNER / "t.ipynb", params="n = 1", body=["print(n)"])
    engine = helpers.jobs_engine(home)
    job = helpers.add_job(engine, name="scale", owner=OWNER, max_concurrent_runs=runs)
    extra: list[subprocess.Popen[bytes]] = []
    if env.get("NBP_JOBS_BACKEND") == "dask":
        address, extra = _dask_cluster(base)
        env["NBP_JOBS_DASK_ADDRESS"] = address
    proc = helpers.start_scheduler(
        helpers.scheduler_env(home, credentials, NBP_JOBS_CONCURRENCY=str(WORKERS), **env),
        base / "scheduler.log",
    )
    stop, peak = threading.Event(), [0.0]
    watcher = threading.Thread(
        target=_watch_peak, args=([proc.pid] + [p.pid for p in extra], stop, peak), daemon=True
    )
    watcher.start()
    try:
        time.sleep(3)  # the scheduler is up (and the pool warm) before the clock starts
        started = time.perf_counter()
        with engine.begin() as conn:
            ids = [store.insert_run(conn, job, "manual")["id"] for _ in range(runs)]
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                statuses = [store.get_run(conn, i)["status"] for i in ids]
            if all(s in helpers.FINAL for s in statuses):
                break
            time.sleep(0.2)
        wall = time.perf_counter() - started
    finally:
        stop.set()
        watcher.join()
        benchlib.stop_group(proc)
        for p in extra:
            p.terminate()
        for p in extra:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        engine.dispose()
    if statuses != ["succeeded"] * runs:
        raise RuntimeError(f"runs did not all succeed: {statuses}; see {base / 'scheduler.log'}")
    return {"wall_s": round(wall, 2), "peak_rss_mb": round(peak[0], 1), "runs": runs}


def main(argv: list[str] | None = None) -> int:
    """Run both sides and print the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args(argv)
    h = benchlib.harness()
    import jobs_helpers as helpers

    wall0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nbp-bench-scale-") as tmp:
        base = Path(tmp)
        platform = helpers.start_jobs_platform(h.platform_env(base / "hub", NBP_GPUS="none"))
        try:
            platform.create_user(OWNER, "data-scientist")
            credentials = helpers.scheduler_credentials(platform.home)
            (base / "local").mkdir()
            (base / "dask").mkdir()
            local = _one_side(helpers, credentials, base / "local", args.runs)
            dask = _one_side(
                helpers, credentials, base / "dask", args.runs, NBP_JOBS_BACKEND="dask"
            )
        finally:
            platform.stop()
    ratio = round(dask["wall_s"] / local["wall_s"], 3)
    print(
        f"scale_jobs: {args.runs} runs, dask ({WORKERS} worker processes) {dask['wall_s']} s, "
        f"local pool ({WORKERS} at once) {local['wall_s']} s -> {ratio}; peak "
        f"{dask['peak_rss_mb']} MB vs {local['peak_rss_mb']} MB"
    )
    benchlib.emit(
        {
            "name": "scale",
            "ratio": ratio,
            "peak_rss_mb": dask["peak_rss_mb"],
            "scale_jobs": {"ratio": ratio, "dask": dask, "local": local, "workers": WORKERS},
            "idle_users": "not measured by this script (see bench/load.py)",
            "cpu_count": psutil.cpu_count(),
            "wall_s": round(time.perf_counter() - wall0, 1),
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
