"""The executor numbers cells as their user sees them (``nbplatform_jobs.execute``).

Errors say ``failed in cell i of n`` and progress counts the notebook's code cells:
not markdown, not papermill's injected parameters cell (a failure there is named as
such). ``failed_cell`` stays the index of the failing cell in the output notebook.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest

from nbplatform_jobs.backends import RunSpec, supervise
from nbplatform_jobs.execute import user_cells, where_failed


def code(source: str, *tags: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def notebook(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = list(cells)
    return nb


def test_user_cells_count_code_cells_but_not_the_injected_one():
    md = nbformat.v4.new_markdown_cell
    cells = [
        md("# Title"),
        code("x = 1", "parameters"),
        code("x = 2", "injected-parameters"),
        nbformat.v4.new_raw_cell("raw"),
        code("y = x"),
        md("papermill's banner"),
        code("z = y"),
    ]
    assert user_cells(cells) == ([None, 1, None, None, 2, None, 3], 3)
    nb = notebook(*cells)
    assert where_failed(nb, 6) == "failed in cell 3 of 3"
    assert where_failed(nb, 1) == "failed in cell 1 of 3"  # the notebook's own parameters
    assert where_failed(nb, 2) == "failed in the injected parameters cell"
    assert where_failed(nb, 0) is None  # no code cell
    assert where_failed(nb, 99) is None and where_failed(None, 0) is None


def run(tmp_path: Path, nb: nbformat.NotebookNode, parameters: dict) -> tuple[dict, Path]:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    nbformat.write(nb, run_dir / "input.ipynb")
    (run_dir / "parameters.json").write_text(json.dumps(parameters))
    (run_dir / "run.json").write_text(json.dumps({"kernel": "python3", "cwd": str(tmp_path)}))
    env = {**os.environ, "NBP_RUN_ID": "numbered"}
    return supervise(RunSpec(run_id="numbered", run_dir=str(run_dir), env=env, timeout=60)), run_dir


@pytest.fixture
def three_cells() -> nbformat.NotebookNode:
    """A markdown cell, then three code cells: parameters, one that works, one that fails."""
    return notebook(
        nbformat.v4.new_markdown_cell("# A report"),
        code("fail = False", "parameters"),
        code("x = 1"),
        code('if fail:\n    raise ValueError("boom")'),
    )


def test_a_failure_names_the_users_cell_and_keeps_the_output_index(tmp_path, three_cells):
    outcome, run_dir = run(tmp_path, three_cells, {"fail": True})
    assert outcome["status"] == "failed"
    assert outcome["error"] == "ValueError: boom (failed in cell 3 of 3)"
    progress = json.loads((run_dir / "progress.json").read_text())
    assert progress == {"cell": 3, "total": 3, "failed": True}
    # The output holds papermill's banner, its anchor and the injected cell too:
    # failed_cell points into it, at the failing cell.
    output = nbformat.read(run_dir / "output.ipynb", as_version=4)
    failed = output.cells[outcome["failed_cell"]]
    assert 'raise ValueError("boom")' in failed.source
    assert outcome["failed_cell"] == 6
    assert json.loads((run_dir / "result.json").read_text())["failed_cell"] == 6


def test_a_success_counts_the_users_cells(tmp_path, three_cells):
    outcome, run_dir = run(tmp_path, three_cells, {"fail": False})
    assert outcome["status"] == "succeeded", (run_dir / "log.txt").read_text()
    assert json.loads((run_dir / "progress.json").read_text()) == {"cell": 3, "total": 3}


def test_a_failure_in_the_injected_parameters_cell_says_so(tmp_path, three_cells):
    # A parameter named after a keyword breaks the cell papermill writes (``class = 1``).
    outcome, run_dir = run(tmp_path, three_cells, {"class": 1})
    assert outcome["status"] == "failed"
    assert outcome["error"].startswith("SyntaxError: ")
    assert outcome["error"].endswith(" (failed in the injected parameters cell)")
    assert "cell 2 of" not in outcome["error"]
    output = nbformat.read(run_dir / "output.ipynb", as_version=4)
    assert "injected-parameters" in output.cells[outcome["failed_cell"]].metadata["tags"]
    progress = json.loads((run_dir / "progress.json").read_text())
    assert progress == {"cell": 0, "total": 3, "failed": True}
