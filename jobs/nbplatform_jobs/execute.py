"""Execute one run with papermill: ``python -m nbplatform_jobs.execute <run dir>``.

The run folder holds ``run.json`` (kernel, working directory), ``parameters.json``
and ``input.ipynb``; this writes ``output.ipynb`` (also when a cell fails: papermill
saves it first), ``progress.json`` (cell i of n, rewritten as cells start) and
``result.json`` (status, error, failing cell) and ``output.html`` (the output
rendered by nbconvert). Cells are numbered for people as they see their notebook
(see :func:`user_cells`): ``progress.json`` and the error's "failed in cell i of
n" count the notebook's code cells, not papermill's injected parameters cell nor
markdown; ``failed_cell`` stays the index of the failing cell in
``output.ipynb``, for tools that open it there. Output of the cells goes to the
log through standard output. While it lives it holds a lock on
``executor.lock`` and it does not start when the folder holds ``abandoned``
(the run was settled without it: see :func:`nbplatform_jobs.backends.stop_run`).
A test run (``trigger: test`` in ``run.json``, see :mod:`nbplatform_jobs.gate`)
runs the notebook under nbval instead (:mod:`nbplatform_jobs.nbvalgate`) and
writes the same files.
Timeouts and cancellation are the supervisor's (see
:mod:`nbplatform_jobs.backends`): it kills this process and its kernel.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def _progress_engine(run_dir: Path) -> Any:
    """A papermill engine that records progress (cell i of n) as cells start.

    The numbers are the user's (:func:`user_cells`): a markdown cell or the
    injected parameters cell leaves the previous number; a failure in the
    injected cell is cell 0 (none of the user's).
    """
    from papermill.engines import NBClientEngine

    class ProgressEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, **kwargs: Any) -> Any:
            numbers, total = user_cells(nb_man.nb.cells)
            reached = []  # the user's number reached at each cell
            for number in numbers:
                reached.append(number if number is not None else (reached[-1] if reached else 0))
            original = nb_man.cell_start

            def cell_start(cell: Any, cell_index: int | None = None, **kw: Any) -> Any:
                index = 0 if cell_index is None else cell_index
                at = reached[index] if 0 <= index < len(reached) else 0
                _write_json(run_dir / "progress.json", {"cell": at, "total": total})
                return original(cell, cell_index, **kw)

            nb_man.cell_start = cell_start
            result = super().execute_managed_notebook(nb_man, kernel_name, **kwargs)
            # Papermill stops at a failing cell without raising (it raises after
            # saving): progress then stays at that cell, marked failed.
            failed = _exception_cell(nb_man.nb)
            if failed is None:
                _write_json(run_dir / "progress.json", {"cell": total, "total": total})
            else:
                at = numbers[failed] if 0 <= failed < len(numbers) else None
                progress = {"cell": at or 0, "total": total, "failed": True}
                _write_json(run_dir / "progress.json", progress)
            return result

    return ProgressEngine


def _encrypted_kernel_manager(base: Any = None) -> Any:
    """A kernel manager that encrypts the kernel's channels (CurveZMQ) when it can.

    The platform's kernelspecs declare ``supported_encryption: [curve]``; other
    kernels run over plain TCP on loopback, as before. ``base``: the class to
    extend (papermill's ``AsyncKernelManager`` by default, whose clients are
    :class:`.kernel_client.PatientKernelClient`; nbval takes the blocking
    ``KernelManager``, whose channels poll with ``zmq_poll`` already).
    """
    from jupyter_client.client import KernelClient
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import CaselessStrEnum, DottedObjectName, Type

    from .kernel_client import PatientKernelClient

    class EncryptedKernelManager(base or AsyncKernelManager):  # type: ignore[misc]
        transport_encryption = CaselessStrEnum(
            ["disabled", "auto", "required"], default_value="auto", config=True
        )

    if base is not None:
        return EncryptedKernelManager

    class PatientKernelManager(EncryptedKernelManager):
        client_class = DottedObjectName(
            f"{PatientKernelClient.__module__}.{PatientKernelClient.__name__}"
        )
        client_factory = Type(PatientKernelClient, klass=KernelClient)

    return PatientKernelManager


def _owner_kernel_manager(spec: dict[str, Any], base: Any = None) -> Any:
    """A kernel manager that starts the run's kernel as its owner's system user.

    With isolation on, ``run.json`` names the owner's account (``run_as``). The
    executor itself stays the platform's: it writes the run folder, which the
    owner's code cannot touch; only the kernel, which runs that code, becomes the
    owner, in their workspace, with ``HOME`` there and umask 077. Its connection
    file lies in ``NBP_HOME/kernels`` (which others may pass but not list), made
    the owner's, mode 0600, so the kernel can read it and nobody else can.
    """
    import uuid

    from nbplatform_hub.host import SystemUser, user_environment

    account = spec["run_as"]
    user = SystemUser(account["name"], int(account["uid"]), int(account["gid"]))
    folder = Path(spec["kernels_dir"])
    workspace = Path(spec.get("home") or spec["cwd"])  # the owner's HOME

    class OwnerKernelManager(_encrypted_kernel_manager(base)):  # type: ignore[misc]
        async def _async_pre_start_kernel(self, **kw: Any) -> Any:
            if not self.connection_file:
                name = f"kernel-{spec['run_id']}-{uuid.uuid4().hex[:8]}.json"
                self.connection_file = str(folder / name)
            cmd, kw = await super()._async_pre_start_kernel(**kw)
            os.chown(self.connection_file, user.uid, user.gid)
            os.chmod(self.connection_file, 0o600)
            kw["env"] = user_environment(dict(kw.get("env") or os.environ), user, workspace)
            kw.update(user=user.uid, group=user.gid, extra_groups=[], umask=0o077)
            return cmd, kw

    return OwnerKernelManager


def _exception_cell(nb: Any) -> int | None:
    """Index of the cell papermill marked as failing (``metadata.papermill.exception``)."""
    for index, cell in enumerate(nb.cells):
        if cell.get("metadata", {}).get("papermill", {}).get("exception"):
            return index
    return None


def _read_output(output: Path) -> Any:
    import nbformat

    try:
        return nbformat.read(str(output), as_version=4)
    except (OSError, ValueError):
        return None


#: The tag of the cell papermill adds with the run's parameters.
INJECTED_TAG = "injected-parameters"


def _is_code(cell: Any) -> bool:
    return cell.get("cell_type") == "code"


def _is_injected(cell: Any) -> bool:
    return INJECTED_TAG in (cell.get("metadata", {}).get("tags") or [])


def user_cells(cells: Any) -> tuple[list[int | None], int]:
    """The numbers a user knows the cells of an executed notebook by, and how many.

    The user's notebook is its code cells, counted from 1: markdown and raw
    cells (papermill's error banners among them) have no number and neither has
    the cell papermill injects with the parameters (tagged
    ``injected-parameters``); the notebook's own ``parameters`` cell counts.
    """
    numbers: list[int | None] = []
    total = 0
    for cell in cells:
        if _is_code(cell) and not _is_injected(cell):
            total += 1
            numbers.append(total)
        else:
            numbers.append(None)
    return numbers, total


def where_failed(nb: Any, index: int) -> str | None:
    """``failed in cell i of n`` for the cell at ``index`` of ``nb``, as the user counts.

    ``failed in the injected parameters cell`` when that cell is the one papermill
    injected (a parameter's value broke it); ``None`` when ``index`` is no code cell.
    """
    if nb is None or not 0 <= index < len(nb.cells):
        return None
    if _is_injected(nb.cells[index]):
        return "failed in the injected parameters cell"
    numbers, total = user_cells(nb.cells)
    number = numbers[index]
    return None if number is None else f"failed in cell {number} of {total}"


def _failed_cell(output: Path, fallback: int) -> int:
    """Index of the failing cell in the output notebook.

    Papermill puts an error banner above the cells of a failed notebook and marks
    the failing cell with ``metadata.papermill.exception``.
    """
    nb = _read_output(output)
    found = _exception_cell(nb) if nb is not None else None
    return fallback if found is None else found


def _error_text(ename: str, evalue: str, output: Path, cell: int) -> str:
    """``Name: value`` of a failed cell.

    An error IPython reports only on stderr (a line magic's ``UsageError``, say)
    reaches papermill without a name or value (``CellExecutionError: ``); the
    failing cell's last stderr line names it then.
    """
    if evalue or ename not in ("CellExecutionError", ""):
        return f"{ename}: {evalue}"
    nb = _read_output(output)
    if nb is not None and 0 <= cell < len(nb.cells):
        for out in reversed(nb.cells[cell].get("outputs", [])):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                lines = [line for line in str(out.get("text", "")).splitlines() if line.strip()]
                if lines:
                    return lines[-1].strip()
    return f"{ename}: the cell failed without an error message (see the log)"


#: The executor's lock on its run folder, held until the process ends.
_LOCK: int | None = None


def _claim(run_dir: Path) -> str | None:
    """Take the run folder's lock and record this process; say why not if it cannot."""
    global _LOCK
    from .backends import ABANDONED_FILE, LOCK_FILE, write_pid

    fd = os.open(run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return "another executor runs this run"
    if (run_dir / ABANDONED_FILE).exists():
        os.close(fd)
        return "this run was settled without its executor"
    _LOCK = fd  # not inherited by the kernel (descriptors are close-on-exec)
    write_pid(run_dir, os.getpid())
    return None


def execute(run_dir: Path) -> dict[str, Any]:
    """Run the notebook of ``run_dir`` and return (and write) its result.

    Returns a failed result without executing anything, and without writing
    ``result.json``, when the run was abandoned or another executor runs it.
    """
    refused = _claim(run_dir)
    if refused is not None:
        print(f"Not executing: {refused}.", flush=True)
        return {"status": "failed", "error": f"Not executed: {refused}.", "failed_cell": None}
    import papermill
    from papermill.engines import papermill_engines
    from papermill.exceptions import PapermillExecutionError

    spec = json.loads((run_dir / "run.json").read_text())
    parameters = json.loads((run_dir / "parameters.json").read_text())
    if spec.get("trigger") == "test":  # the test that gates a schedule: nbval, not papermill
        from .nbvalgate import run_test

        result = run_test(run_dir, spec, parameters)
        render_html(run_dir)
        _write_json(run_dir / "result.json", result)
        return result
    papermill_engines.register("nbplatform", _progress_engine(run_dir))
    result: dict[str, Any] = {"status": "succeeded", "error": None, "failed_cell": None}
    extra: dict[str, Any] = {"kernel_manager_class": _encrypted_kernel_manager()}
    if spec.get("run_as"):
        extra["kernel_manager_class"] = _owner_kernel_manager(spec)
    try:
        papermill.execute_notebook(
            str(run_dir / "input.ipynb"),
            str(run_dir / "output.ipynb"),
            parameters=parameters,
            engine_name="nbplatform",
            kernel_name=spec["kernel"],
            language="python",
            cwd=spec["cwd"],
            progress_bar=False,
            log_output=True,
            stdout_file=sys.stdout,
            stderr_file=sys.stderr,
            start_timeout=spec.get("start_timeout", 60),
            **extra,
        )
    except PapermillExecutionError as e:
        output = run_dir / "output.ipynb"
        cell = _failed_cell(output, e.cell_index)
        error = _error_text(e.ename, e.evalue, output, cell)
        where = where_failed(_read_output(output), cell)
        result = {
            "status": "failed",
            "error": f"{error} ({where})" if where else error,
            "failed_cell": cell,
        }
    except Exception as e:  # the kernel would not start, the notebook is unreadable...
        traceback.print_exc()
        result = {"status": "failed", "error": f"{type(e).__name__}: {e}", "failed_cell": None}
    render_html(run_dir)
    _write_json(run_dir / "result.json", result)
    return result


def render_html(run_dir: Path) -> None:
    """Write ``output.html``, the output notebook rendered by nbconvert (lab template).

    Also for a failed run; a rendering that fails is logged and leaves no file.
    """
    output = run_dir / "output.ipynb"
    if not output.is_file():
        return
    try:
        import nbformat
        from nbconvert import HTMLExporter

        body, _ = HTMLExporter(template_name="lab").from_notebook_node(
            nbformat.read(str(output), as_version=4)
        )
        tmp = run_dir / "output.html.tmp"
        tmp.write_text(body, encoding="utf-8")
        os.replace(tmp, run_dir / "output.html")
    except Exception as e:  # noqa: BLE001 - the run's result matters more
        print(f"nbplatform: rendering output.html failed: {type(e).__name__}: {e}", flush=True)


def main() -> None:
    """Entry point: the run folder is the only argument."""
    result = execute(Path(sys.argv[1]))
    sys.exit(0 if result["status"] == "succeeded" else 1)


if __name__ == "__main__":
    main()
