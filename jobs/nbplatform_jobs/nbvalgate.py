"""The executor of a test run: the notebook under ``pytest --nbval-lax``, in its run folder.

A test run (:mod:`nbplatform_jobs.gate`) is prepared like any run (snapshot
``input.ipynb``, ``parameters.json``, ``run.json``) and supervised like one (the
job's timeout, cancellation); its executor calls :func:`run_test` instead of
papermill. The test parameters (none: the ``parameters`` cell's defaults stand)
are injected by papermill into ``test-input.ipynb``, which nbval runs in lax
mode: every code cell must run without an error (``raises-exception`` and
``NBVAL_RAISES_EXCEPTION`` cells may raise, ``NBVAL_SKIP`` cells are skipped)
and cells marked ``NBVAL_CHECK_OUTPUT`` must reproduce their saved outputs.
pytest stops at the first failing cell.

The kernel is the job's profile's, started as a run's is: as the owner's
system user when users are isolated, in the notebook's folder, its channels
encrypted when the kernelspec allows. Nothing of the platform's test setup is
read (no ini file, no ``conftest.py``, no other installed pytest plugin). The
run folder gets what a papermill run writes: ``output.ipynb`` (the outputs of the
cells that ran), ``progress.json`` (cell i of n) and the result, whose error
says where it failed as a failed run's does (``ValueError: boom (failed in cell
2 of 4)``); pytest's report goes to the log.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

#: The notebook nbval runs: the snapshot with the test parameters injected.
TEST_NOTEBOOK = "test-input.ipynb"
#: The error of a cell whose outputs differ from those saved in the notebook.
OUTPUTS_DIFFER = "Outputs differ from those saved in the notebook (NBVAL_CHECK_OUTPUT)"


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def kernel_manager_class(spec: dict[str, Any]) -> Any:
    """The kernel manager nbval uses for this run: the owner's kernel, where a run's starts.

    nbval would start its kernel where the notebook it runs lies (the run folder);
    this one starts where a run's kernel does, in the job's notebook's folder in
    the workspace, so relative paths mean what they mean in the job's runs.
    """
    from jupyter_client.manager import KernelManager

    from .execute import _encrypted_kernel_manager, _owner_kernel_manager

    if spec.get("run_as"):
        base = _owner_kernel_manager(spec, KernelManager)
    else:
        base = _encrypted_kernel_manager(KernelManager)
    workspace = spec["cwd"]

    class WorkspaceKernelManager(base):  # type: ignore[misc, valid-type]
        async def _async_pre_start_kernel(self, **kw: Any) -> Any:
            kw["cwd"] = workspace
            return await super()._async_pre_start_kernel(**kw)

    return WorkspaceKernelManager


class GatePlugin:
    """A pytest plugin following nbval's cells: progress, outputs, the first failure.

    Args:
        run_dir: The run folder (``progress.json`` is written there).
        nb: The notebook nbval runs (:data:`TEST_NOTEBOOK`).
    """

    def __init__(self, run_dir: Path, nb: Any) -> None:
        from .execute import user_cells

        self.run_dir = run_dir
        self.nb = nb
        #: Index in ``nb.cells`` of each code cell, in nbval's order (its ``cell_num``).
        self.code = [i for i, cell in enumerate(nb.cells) if cell.get("cell_type") == "code"]
        self.numbers, self.total = user_cells(nb.cells)
        self.outputs: dict[int, list[Any]] = {}
        self.ran: list[int] = []
        self.failure: dict[str, Any] | None = None

    def index(self, item: Any) -> int | None:
        """The index in the notebook of the cell an nbval item runs (None: not a cell)."""
        number = getattr(item, "cell_num", None)
        if number is None or not 0 <= number < len(self.code):
            return None
        return self.code[number]

    def _progress(self, index: int | None, failed: bool = False) -> None:
        at = 0
        if index is not None:
            at = next((n for n in reversed(self.numbers[: index + 1]) if n is not None), 0)
        progress: dict[str, Any] = {"cell": at, "total": self.total}
        if failed:
            progress["failed"] = True
        _write_json(self.run_dir / "progress.json", progress)

    def pytest_runtest_setup(self, item: Any) -> None:
        """Record that the item's cell starts (progress: cell i of n)."""
        self._progress(self.index(item))

    def pytest_runtest_makereport(self, item: Any, call: Any) -> None:
        """Keep the outputs of each cell that ran, and the first failure with its error."""
        index = self.index(item)
        if call.when == "call" and index is not None:
            outputs = list(getattr(item, "test_outputs", None) or [])
            self.outputs[index] = outputs
            self.ran.append(index)
            for out in outputs:  # the cells' printed output goes to the log, as in runs
                if out.get("output_type") == "stream":
                    print(out.get("text", ""), end="", flush=True)
        import pytest

        if call.excinfo is None or self.failure is not None:
            return
        if call.excinfo.errisinstance((pytest.skip.Exception, pytest.xfail.Exception)):
            return
        where = index if call.when == "call" else None  # setup: the kernel, not a cell
        self.failure = {"index": where, "error": self._error(item, call, index)}
        self._progress(where, failed=True)

    def _error(self, item: Any, call: Any, index: int | None) -> str:
        """``Name: value`` of the failure (the cell's error output, else nbval's message)."""
        for out in self.outputs.get(index, []) if index is not None else []:
            if out.get("output_type") == "error":
                return f"{out.get('ename')}: {out.get('evalue')}"
        message = str(call.excinfo.value).strip()
        if call.when == "setup":
            return f"The test's kernel did not start: {call.excinfo.typename}: {message}"
        if message == "Cell outputs differ":
            return OUTPUTS_DIFFER
        return message or call.excinfo.typename

    def output_notebook(self) -> Any:
        """The tested notebook with the outputs of the cells that ran (others cleared)."""
        import copy

        nb = copy.deepcopy(self.nb)
        count = 0
        for index in self.code:
            cell = nb.cells[index]
            cell.outputs = []
            cell.execution_count = None
            if index in self.outputs:
                count += 1
                cell.execution_count = count
                for out in self.outputs[index]:
                    if out.get("output_type") == "execute_result":
                        out["execution_count"] = count
                    cell.outputs.append(out)
        if self.failure is not None and self.failure["index"] is not None:
            meta = nb.cells[self.failure["index"]].metadata
            meta.setdefault("papermill", {})["exception"] = True
        return nb


def pytest_args(run_dir: Path, notebook: Path, spec: dict[str, Any]) -> list[str]:
    """The command line of pytest: nbval lax on ``notebook``, nothing else of pytest's setup."""
    timeout = int(spec.get("timeout_seconds") or 3600)
    return [
        str(notebook),
        "-p",
        "nbval.plugin",
        "-p",
        "no:cacheprovider",
        "--nbval-lax",
        f"--nbval-kernel-name={spec['kernel']}",
        f"--nbval-kernel-startup-timeout={int(spec.get('start_timeout', 60))}",
        f"--nbval-cell-timeout={timeout}",
        "--exitfirst",
        "-c",
        os.devnull,
        f"--rootdir={run_dir}",
        f"--confcutdir={run_dir}",
        "--color=no",
        "-q",
        "-rN",
    ]


def _where(nb: Any, index: int | None) -> str | None:
    from .execute import where_failed

    return None if index is None else where_failed(nb, index)


def run_test(run_dir: Path, spec: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    """Run the snapshot of ``run_dir`` under nbval lax with ``parameters``; return the result.

    Writes ``test-input.ipynb``, ``output.ipynb`` and ``progress.json``; the
    caller writes ``result.json``.

    Returns:
        ``{"status": "succeeded"|"failed", "error", "failed_cell"}`` as runs have them.
    """
    import nbformat
    import pytest
    from nbval import kernel as nbval_kernel
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    try:
        nb = load_notebook_node(str(run_dir / "input.ipynb"))  # papermill's metadata added
        if parameters:
            nb = parameterize_notebook(
                nb, parameters, kernel_name=spec["kernel"], language="python"
            )
        notebook = run_dir / TEST_NOTEBOOK
        nbformat.write(nb, str(notebook))
    except Exception as e:  # noqa: BLE001 - an unreadable snapshot fails the test
        return {"status": "failed", "error": f"{type(e).__name__}: {e}", "failed_cell": None}
    plugin = GatePlugin(run_dir, nb)
    plugin._progress(None)
    nbval_kernel.KernelManager = kernel_manager_class(spec)
    saved = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # only nbval among installed plugins
    try:
        code = pytest.main(pytest_args(run_dir, notebook, spec), plugins=[plugin])
    finally:
        if saved is None:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = saved
    output = plugin.output_notebook()
    nbformat.write(output, str(run_dir / "output.ipynb"))
    if plugin.failure is None and code in (0, 5):  # 5: no code cell to test
        plugin._progress(plugin.code[-1] if plugin.code else None)
        return {"status": "succeeded", "error": None, "failed_cell": None}
    if plugin.failure is None:
        error = f"pytest --nbval-lax ended with exit code {int(code)} (see the log)"
        return {"status": "failed", "error": error, "failed_cell": None}
    index = plugin.failure["index"]
    where = _where(output, index)
    error = plugin.failure["error"]
    return {
        "status": "failed",
        "error": f"{error} ({where})" if where else error,
        "failed_cell": index,
    }
