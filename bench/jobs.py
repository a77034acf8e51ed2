"""Notebook jobs through the platform's scheduler vs the bare ``papermill`` CLI, same run.

Three measurements on a real platform (``tests/platform_harness.py``):

* ``jobs_single``: one trivial notebook, ``POST api/jobs/<id>/runs`` until the run
  reads ``succeeded`` with its output stored, vs ``papermill in.ipynb out.ipynb``
  with the same kernel (``nbplatform-cpu``) and working directory. Turns
  alternate. Goal: p50 ratio <= 1.2.
* ``jobs_throughput``: 20 runs queued at once (``NBP_JOBS_CONCURRENCY=2``) until all
  succeeded, vs 20 sequential bare papermill runs. Goal: ratio <= 0.7.
* ``jobs_definitions_rss``: RSS of the scheduler process with 1,000 active cron
  definitions loaded. Goal: under 300 MB (``ratio`` is RSS / 300 MB).

Each prints a JSON line; the last line is the last of them.
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))
import benchlib  # noqa: E402

KERNEL = "nbplatform-cpu"
FINAL = ("succeeded", "failed", "timed-out", "cancelled")


def write_trivial(path: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    params = nbformat.v4.new_code_cell("n = 1")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("print(n + 1)")]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def bare_papermill(workspace: Path, out: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [
            str(benchlib.BIN / "papermill"),
            str(workspace / "t.ipynb"),
            str(out),
            "-k",
            KERNEL,
            "--cwd",
            str(workspace),
            "--no-progress-bar",
        ],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def wait_all(platform: Any, token: str, run_ids: list[str], timeout: float = 600) -> None:
    pending = set(run_ids)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for run_id in list(pending):
            run = platform.service("GET", f"api/runs/{run_id}", token).json()
            if run["status"] in FINAL:
                if run["status"] != "succeeded":
                    raise RuntimeError(f"run {run_id}: {run['status']} {run['error']}")
                pending.discard(run_id)
        time.sleep(0.05)
    if pending:
        raise RuntimeError(f"{len(pending)} runs did not finish")


def scheduler_pid(home: Path) -> int:
    for proc in psutil.process_iter(["cmdline"]):
        try:
            cmd = proc.info["cmdline"] or []
            if cmd[-2:] == ["-m", "nbplatform_jobs"] and proc.environ().get("NBP_HOME") == str(
                home
            ):
                return proc.pid
        except psutil.Error:
            continue
    raise RuntimeError("no scheduler process")


def main(argv: list[str] | None = None) -> int:
    """Run the three measurements and print their JSON lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5, help="measured single runs per side")
    parser.add_argument("--runs", type=int, default=20, help="runs of the throughput test")
    parser.add_argument("--definitions", type=int, default=1000)
    args = parser.parse_args(argv)
    harness = benchlib.harness()
    wall0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nbp-bench-jobs-") as tmp:
        home = Path(tmp) / "home"
        platform = harness.Platform(harness.platform_env(home, NBP_GPUS="none")).start()
        try:
            token = platform.create_user("bench", "data-scientist")
            workspace = home / "users" / "bench"
            write_trivial(workspace / "t.ipynb")
            job = platform.service(
                "POST",
                "api/jobs",
                token,
                json={"name": "bench", "notebook": "t.ipynb", "max_concurrent_runs": args.runs},
            ).json()
            sched = scheduler_pid(home)
            with benchlib.PeakRss() as rss:
                rss.watch("scheduler", sched)
                # jobs_single -------------------------------------------------
                ours: list[float] = []
                bare: list[float] = []
                for i in range(args.n + 1):  # the first turn of each side warms caches
                    started = time.perf_counter()
                    run = platform.service("POST", f"api/jobs/{job['id']}/runs", token).json()
                    wait_all(platform, token, [run["id"]])
                    took = time.perf_counter() - started
                    out = Path(tmp) / f"bare-{i}.ipynb"
                    bare_took = bare_papermill(workspace, out)
                    if i:
                        ours.append(took)
                        bare.append(bare_took)
                o, b = benchlib.summary(ours), benchlib.summary(bare)
                ratio = round(o["p50_s"] / b["p50_s"], 3)
                print(f"single: ours p50 {o['p50_s']:.3f} s, bare {b['p50_s']:.3f} s -> {ratio}")
                benchlib.emit(
                    {
                        "name": "jobs_single",
                        "ratio": ratio,
                        "peak_rss_mb": rss.peak("scheduler"),
                        "ours": o,
                        "baseline": b,
                        "goal": {"ratio_max": 1.2},
                        "met": ratio <= 1.2,
                    }
                )
                # jobs_throughput ---------------------------------------------
                started = time.perf_counter()
                ids = [
                    platform.service("POST", f"api/jobs/{job['id']}/runs", token).json()["id"]
                    for _ in range(args.runs)
                ]
                wait_all(platform, token, ids)
                ours_s = time.perf_counter() - started
                started = time.perf_counter()
                for i in range(args.runs):
                    bare_papermill(workspace, Path(tmp) / f"seq-{i}.ipynb")
                bare_s = time.perf_counter() - started
                ratio = round(ours_s / bare_s, 3)
                print(
                    f"throughput: {args.runs} queued {ours_s:.1f} s, sequential bare {bare_s:.1f} s"
                )
                benchlib.emit(
                    {
                        "name": "jobs_throughput",
                        "ratio": ratio,
                        "peak_rss_mb": rss.peak("scheduler"),
                        "ours_s": round(ours_s, 3),
                        "baseline_s": round(bare_s, 3),
                        "runs": args.runs,
                        "concurrency": 2,
                        "goal": {"ratio_max": 0.7},
                        "met": ratio <= 0.7,
                    }
                )
            # jobs_definitions_rss --------------------------------------------
            started = time.perf_counter()
            for i in range(args.definitions):
                r = platform.service(
                    "POST",
                    "api/jobs",
                    token,
                    json={"name": f"def-{i}", "notebook": "t.ipynb", "cron": f"{i % 60} 3 * * *"},
                )
                assert r.status_code == 201, r.text
            created_s = time.perf_counter() - started
            db = home / "platform" / "platform.sqlite"
            deadline = time.monotonic() + 300
            loaded = 0
            while time.monotonic() < deadline:
                with sqlite3.connect(db) as conn:
                    loaded = conn.execute("select count(*) from apscheduler_jobs").fetchone()[0]
                if loaded >= args.definitions:
                    break
                time.sleep(0.5)
            time.sleep(3)  # a few scheduler passes with everything loaded
            samples = []
            for _ in range(10):
                samples.append(psutil.Process(sched).memory_info().rss / benchlib.MB)
                time.sleep(0.3)
            rss_mb = round(max(samples), 1)
            print(
                f"definitions: {loaded} loaded (created in {created_s:.1f} s); "
                f"scheduler RSS {rss_mb} MB"
            )
            wall = time.perf_counter() - wall0
            benchlib.emit(
                {
                    "name": "jobs_definitions_rss",
                    "ratio": round(rss_mb / 300, 3),
                    "peak_rss_mb": rss_mb,
                    "definitions": loaded,
                    "goal": {"rss_mb_max": 300},
                    "met": rss_mb < 300 and loaded >= args.definitions,
                    "wall_s": round(wall, 1),
                }
            )
        finally:
            platform.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
