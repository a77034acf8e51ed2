"""The same run executes on both backends: the local process pool and Dask (LocalCluster).

Real papermill runs of a tiny notebook on the ``python3`` kernel; the run folder
is prepared as the scheduler prepares it.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from jobs_helpers import write_notebook

from nbplatform_jobs.backends import DaskBackend, LocalBackend, RunSpec, supervise


def make_run(tmp_path: Path, name: str, parameters: dict, timeout: float = 60) -> RunSpec:
    run_dir = tmp_path / name
    run_dir.mkdir()
    write_notebook(run_dir / "input.ipynb")
    (run_dir / "parameters.json").write_text(json.dumps(parameters))
    (run_dir / "run.json").write_text(json.dumps({"kernel": "python3", "cwd": str(tmp_path)}))
    env = {**os.environ, "NBP_RUN_ID": name}
    return RunSpec(run_id=name, run_dir=str(run_dir), env=env, timeout=timeout)


def printed(run_dir: str) -> str:
    nb = nbformat.read(Path(run_dir) / "output.ipynb", as_version=4)
    return "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))


@pytest.fixture(scope="module")
def dask_backend():
    backend = DaskBackend(concurrency=1)
    yield backend
    backend.close()


@pytest.mark.parametrize("kind", ["local", "dask"])
def test_the_same_job_runs_on_both_backends(tmp_path, kind, request):
    backend = LocalBackend(1) if kind == "local" else request.getfixturevalue("dask_backend")
    spec = make_run(tmp_path, f"run-{kind}", {"x": 3, "name": "ab"})
    outcome = backend.submit(spec).result(timeout=120)
    assert outcome["status"] == "succeeded", Path(spec.run_dir, "log.txt").read_text()
    assert "ababab" in printed(spec.run_dir)
    progress = json.loads(Path(spec.run_dir, "progress.json").read_text())
    assert progress["cell"] == progress["total"] == 4  # the injected parameters cell is not
    if kind == "local":
        backend.close()


def test_a_failing_cell_keeps_the_output_and_is_named(tmp_path):
    spec = make_run(tmp_path, "fails", {"fail": True})
    outcome = supervise(spec)
    assert outcome["status"] == "failed"
    # The user's cells: parameters, sleep, fail, print (not the injected parameters cell).
    assert outcome["error"] == "ValueError: boom (failed in cell 3 of 4)"
    # failed_cell is the index in the output notebook, papermill's cells counted.
    nb = nbformat.read(Path(spec.run_dir) / "output.ipynb", as_version=4)
    failed = nb.cells[outcome["failed_cell"]]
    assert 'raise ValueError("boom")' in failed.source
    assert any(o.get("output_type") == "error" for o in failed.outputs)
    # Progress stops at the failing cell, marked failed, numbered as the error says.
    progress = json.loads(Path(spec.run_dir, "progress.json").read_text())
    assert progress == {"cell": 3, "total": 4, "failed": True}


def test_an_error_reported_on_stderr_only_is_named(tmp_path):
    spec = make_run(tmp_path, "magic", {})
    nb = nbformat.read(Path(spec.run_dir) / "input.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("%no_such_magic 1"))
    nbformat.write(nb, Path(spec.run_dir) / "input.ipynb")
    outcome = supervise(spec)
    assert outcome["status"] == "failed"
    assert outcome["error"] == (
        "UsageError: Line magic function `%no_such_magic` not found. (failed in cell 5 of 5)"
    )


def _kernels_of(run_dir: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline", "environ"]):
        try:
            env = proc.info["environ"] or {}
        except psutil.Error:
            continue
        if env.get("NBP_RUN_ID") == Path(run_dir).name and "ipykernel" in " ".join(
            proc.info["cmdline"] or []
        ):
            found.append(proc)
    return found


def test_timeout_and_cancel_kill_the_executor_and_its_kernel(tmp_path):
    spec = make_run(tmp_path, "slow", {"sleep": 60}, timeout=4)
    started = time.monotonic()
    outcome = supervise(spec)
    assert outcome["status"] == "timed-out"
    assert time.monotonic() - started < 15
    assert not _kernels_of(spec.run_dir)

    spec = make_run(tmp_path, "cancelled", {"sleep": 60})
    future = LocalBackend(1).submit(spec)
    deadline = time.monotonic() + 30
    while not _kernels_of(spec.run_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    (Path(spec.run_dir) / "cancel").touch()
    assert future.result(timeout=20)["status"] == "cancelled"
    assert not _kernels_of(spec.run_dir)
    shutil.rmtree(spec.run_dir)
