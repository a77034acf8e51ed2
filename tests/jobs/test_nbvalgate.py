"""A test run's executor: the notebook under ``pytest --nbval-lax`` (``nbplatform_jobs.nbvalgate``).

Real kernels, in a run folder as the scheduler prepares it: the parameters
cell's defaults stand unless test parameters are injected, a failure is named
as failed runs name it (the cell as the user counts, and the error), nbval's
markers hold, and the folder gets an output notebook and progress.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from jobs_helpers import PARAMS, write_notebook

from nbplatform_jobs.execute import execute
from nbplatform_jobs.nbvalgate import OUTPUTS_DIFFER

pytestmark = pytest.mark.timeout(300)


def run_folder(tmp_path: Path, nb_path: Path, parameters: dict | None = None) -> Path:
    """A test run's folder as :func:`nbplatform_jobs.runfiles.snapshot` fills it."""
    run_dir = tmp_path / "jobs" / "j" / "r"
    run_dir.mkdir(parents=True)
    (run_dir / "input.ipynb").write_bytes(nb_path.read_bytes())
    (run_dir / "parameters.json").write_text(json.dumps(parameters or {}))
    workspace = tmp_path / "ws"
    workspace.mkdir(exist_ok=True)
    spec = {
        "kernel": "python3",
        "cwd": str(workspace),
        "run_id": "r",
        "trigger": "test",
        "timeout_seconds": 120,
    }
    (run_dir / "run.json").write_text(json.dumps(spec))
    return run_dir


def test_the_defaults_of_the_parameters_cell_pass(tmp_path):
    nb = write_notebook(tmp_path / "t.ipynb")
    run_dir = run_folder(tmp_path, nb)
    result = execute(run_dir)
    assert result == {"status": "succeeded", "error": None, "failed_cell": None}
    assert json.loads((run_dir / "result.json").read_text()) == result
    out = nbformat.read(run_dir / "output.ipynb", as_version=4)
    assert "a" in out.cells[-1].outputs[0]["text"]  # print(name * x) with the defaults
    assert all(c.execution_count for c in out.cells)
    assert json.loads((run_dir / "progress.json").read_text()) == {"cell": 4, "total": 4}
    assert (run_dir / "output.html").is_file()


def test_test_parameters_are_injected_and_a_failure_names_the_cell_and_error(tmp_path):
    nb = write_notebook(tmp_path / "t.ipynb")
    run_dir = run_folder(tmp_path, nb, {"fail": True})
    result = execute(run_dir)
    assert result["status"] == "failed"
    assert result["error"] == "ValueError: boom (failed in cell 3 of 4)"
    out = nbformat.read(run_dir / "output.ipynb", as_version=4)
    assert "injected-parameters" in out.cells[1].metadata["tags"]
    assert result["failed_cell"] == 3 and out.cells[3].outputs[-1]["ename"] == "ValueError"
    assert out.cells[4].execution_count is None  # pytest stopped at the failing cell
    progress = json.loads((run_dir / "progress.json").read_text())
    assert progress == {"cell": 3, "total": 4, "failed": True}


def test_the_kernel_runs_in_the_workspace(tmp_path):
    nb = write_notebook(
        tmp_path / "t.ipynb", PARAMS, ["import os\nassert os.getcwd().endswith('ws'), os.getcwd()"]
    )
    assert execute(run_folder(tmp_path, nb))["status"] == "succeeded"


def test_nbval_markers_hold_skip_raises_and_check_output(tmp_path):
    body = [
        "# NBVAL_SKIP\nraise RuntimeError('skipped')",
        "# NBVAL_RAISES_EXCEPTION\nraise KeyError('expected')",
        "print('fine')",
    ]
    nb = write_notebook(tmp_path / "ok.ipynb", PARAMS, body)
    assert execute(run_folder(tmp_path, nb))["status"] == "succeeded"

    checked = write_notebook(tmp_path / "checked.ipynb", PARAMS, ["# NBVAL_CHECK_OUTPUT\nprint(1)"])
    saved = nbformat.read(checked, as_version=4)
    saved.cells[1].execution_count = 1
    saved.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="2\n")]
    nbformat.write(saved, checked)
    result = execute(run_folder(tmp_path / "c", checked))
    assert result["error"] == f"{OUTPUTS_DIFFER} (failed in cell 2 of 2)"
