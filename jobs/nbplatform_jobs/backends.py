"""Where runs execute: a local process pool or a Dask cluster, behind one interface.

Both backends call :func:`supervise` for a run: it starts the papermill executor
(:mod:`nbplatform_jobs.execute`) in a process group of its own, then watches it
for the run's timeout and for a ``cancel`` file that the scheduler drops into the
run folder; either kills the executor and its kernel. The run folder is the only
channel between the scheduler and the run, so a Dask worker on another machine
works the same way when ``NBP_HOME`` is a shared volume.

An executor holds an exclusive lock on ``executor.lock`` in its run folder for as
long as it lives and refuses to start once the folder holds ``abandoned``; that
is how a scheduler settling the run of a dead one (:func:`stop_run`) knows for
sure that no executor of it runs, or will run, any more.
"""

from __future__ import annotations

import fcntl
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import psutil

POLL_SECONDS = 0.1
#: Held by a run's executor while it lives (see :func:`stop_run`).
LOCK_FILE = "executor.lock"
#: Dropped into a run folder whose run was settled without its executor.
ABANDONED_FILE = "abandoned"
#: Imported once by the warm executors' fork server.
WARM_MODULES = [
    "nbplatform_jobs.forkserver_guard",  # first: the server dies with the scheduler
    "papermill",
    "nbclient",
    "jupyter_client",
    "nbformat",
    "nbconvert",
    "nbplatform_jobs.execute",
]


@dataclass
class RunSpec:
    """What a backend needs to execute one run.

    Attributes:
        run_id: The run.
        run_dir: Its folder (``run.json``, ``input.ipynb``, ``parameters.json``).
        env: The executor's environment (owner's token, platform URL, ids).
        timeout: Seconds before the run is stopped as ``timed-out``.
        python: Interpreter of the executor.
        token_id: The hub's id of the run's token (the audit log names the run by it).
        lineage: What it executes (``notebook``, ``git_commit``, ``git_dirty``).
        profile: The job's profile (a Dask backend places the run on a worker of it).
    """

    run_id: str
    run_dir: str
    env: dict[str, str]
    timeout: float
    python: str = field(default_factory=lambda: sys.executable)
    token_id: str | None = None
    lineage: dict[str, Any] = field(default_factory=dict)
    profile: str | None = None


def _kill_tree(pid: int) -> None:
    """Kill a process, its process group and every descendant (kernels included)."""
    try:
        parent = psutil.Process(pid)
        victims = [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        victims = []
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    for proc in victims:
        with suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(victims, timeout=5)


def _warm_context() -> Any:
    """A ``forkserver`` context whose server has papermill imported already.

    Forking an executor from it skips the interpreter start and papermill's
    import (about a second of CPU per run).
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(WARM_MODULES)
    return context


def _warm_child(run_dir: str, env: dict[str, str]) -> None:
    """Body of a warm executor: own session, log as stdout, the run's environment."""
    os.setsid()
    fd = os.open(Path(run_dir) / "log.txt", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(run_dir)
    from .execute import execute

    result = execute(Path(run_dir))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0 if result["status"] == "succeeded" else 1)


class _Executor:
    """The executor process of one run, cold (``python -m``) or warm (forked)."""

    def __init__(self, spec: RunSpec, warm: bool) -> None:
        run_dir = Path(spec.run_dir)
        if warm:
            self.proc: Any = _warm_context().Process(
                target=_warm_child, args=(spec.run_dir, spec.env), name=f"run-{spec.run_id}"
            )
            self.proc.start()
        else:
            with (run_dir / "log.txt").open("ab") as log:
                self.proc = subprocess.Popen(
                    [spec.python or sys.executable, "-m", "nbplatform_jobs.execute", str(run_dir)],
                    env=spec.env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=str(run_dir),
                    start_new_session=True,
                )
        self.pid: int = self.proc.pid
        self.warm = warm

    def poll(self) -> int | None:
        """The exit code, or ``None`` while it runs."""
        return self.proc.exitcode if self.warm else self.proc.poll()

    def wait(self) -> int | None:
        """Wait for the end; return the exit code."""
        if self.warm:
            self.proc.join()
            return self.proc.exitcode
        return self.proc.wait()


def write_pid(run_dir: Path, pid: int) -> None:
    """Record the executor as ``<pid> <create time>`` (a recycled pid will not match)."""
    with suppress(psutil.NoSuchProcess, OSError):
        created = psutil.Process(pid).create_time()
        tmp = run_dir / f"pid.{os.getpid()}.tmp"
        tmp.write_text(f"{pid} {created}")
        os.replace(tmp, run_dir / "pid")  # readers never see half a line


def read_pid(run_dir: Path) -> int | None:
    """The executor's pid if that very process still exists, else ``None``."""
    try:
        pid_text, created = (run_dir / "pid").read_text().split()
        pid = int(pid_text)
        if psutil.Process(pid).create_time() == float(created):
            return pid
    except (OSError, ValueError, psutil.Error):
        pass
    return None


def run_processes(run_id: str, run_dir: Path) -> list[psutil.Process]:
    """Processes of one run still alive.

    A cold executor and a kernel (and what that starts) carry the run's
    environment (``NBP_RUN_ID``); a warm executor, forked from the fork server,
    shows the server's environment and command line, and papermill moves it to the
    workspace, but it writes its log into the run folder (and holds its lock).
    """
    me = os.getpid()
    folder = str(run_dir)
    inside = folder + os.sep
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if proc.pid == me:
            continue
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            ours = proc.environ().get("NBP_RUN_ID") == run_id or proc.cwd() == folder
            if not ours and "multiprocessing.forkserver" in " ".join(proc.info["cmdline"] or []):
                ours = any(f.path.startswith(inside) for f in proc.open_files())
            if ours:
                found.append(proc)
        except psutil.Error:
            continue
    return found


def kill_leftovers(run_id: str, run_dir: Path) -> None:
    """Kill every process of a run that outlived its executor (e.g. a kernel).

    Also removes the connection files its kernels left in ``NBP_HOME/kernels``
    (with isolation on), which a killed executor could not clean up.
    """
    victims = run_processes(run_id, run_dir)
    for proc in victims:
        with suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(victims, timeout=5)
    try:
        folder = json.loads((run_dir / "run.json").read_text()).get("kernels_dir")
    except (OSError, ValueError, AttributeError):
        folder = None
    if folder:
        for leftover in Path(folder).glob(f"kernel-{run_id}-*.json"):
            with suppress(OSError):
                leftover.unlink()


def _lock_free(run_dir: Path) -> bool:
    """Whether no executor holds the run's lock (taking it for an instant)."""
    try:
        fd = os.open(run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return True  # no folder: no executor ever started
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # also releases the lock
    return True


def stop_run(run_id: str, run_dir: Path, timeout: float = 30.0) -> None:
    """Make sure no process of a run lives or starts any more (settling it elsewhere).

    Drops ``abandoned`` into the run folder first, so that an executor that has not
    taken its lock yet gives up when it does; then kills the executor holding the
    lock (with its kernel) until the lock is free, and whatever is left of the run.
    """
    if run_dir.is_dir():
        with suppress(OSError):
            (run_dir / ABANDONED_FILE).touch()
    deadline = time.monotonic() + timeout
    while not _lock_free(run_dir) and time.monotonic() < deadline:
        pid = read_pid(run_dir)
        if pid is not None:
            _kill_tree(pid)
        else:
            time.sleep(POLL_SECONDS / 2)  # it has the lock but not written its pid yet
    pid = read_pid(run_dir)
    if pid is not None:
        _kill_tree(pid)
    kill_leftovers(run_id, run_dir)


def supervise(spec: RunSpec, warm: bool = False) -> dict[str, Any]:
    """Execute one run and return ``{"status", "error", "failed_cell", "exit_code"}``.

    Blocks until the run ends, is cancelled or times out.

    Args:
        spec: The run.
        warm: Fork the executor from a server with papermill imported (the local
            backend) instead of starting ``python -m nbplatform_jobs.execute``.
    """
    run_dir = Path(spec.run_dir)
    proc = _Executor(spec, warm)
    write_pid(run_dir, proc.pid)
    deadline = time.monotonic() + spec.timeout
    outcome: dict[str, Any] | None = None
    while proc.poll() is None:
        if (run_dir / "cancel").exists():
            outcome = {"status": "cancelled", "error": "Cancelled.", "failed_cell": None}
        elif time.monotonic() > deadline:
            outcome = {
                "status": "timed-out",
                "error": f"Stopped after the job's timeout of {spec.timeout:g} s.",
                "failed_cell": None,
            }
        if outcome is not None:
            _kill_tree(proc.pid)
            proc.wait()
            break
        time.sleep(POLL_SECONDS)
    if outcome is None:
        try:
            outcome = json.loads((run_dir / "result.json").read_text())
        except (OSError, ValueError):
            outcome = {
                "status": "failed",
                "error": f"The executor ended with exit code {proc.poll()} "
                "before recording a result; see the log.",
                "failed_cell": None,
            }
    outcome["exit_code"] = proc.poll()
    kill_leftovers(spec.run_id, run_dir)  # a kernel whose executor was killed, say
    return outcome


class Backend(Protocol):
    """Runs :func:`supervise` somewhere and hands back a future."""

    name: str

    def submit(self, spec: RunSpec) -> Future[dict[str, Any]]:
        """Start a run; the future's result is :func:`supervise`'s."""
        ...

    def close(self) -> None:
        """Release the backend's resources."""
        ...


class LocalBackend:
    """Runs on this machine, at most ``concurrency`` at once (``NBP_JOBS_CONCURRENCY``)."""

    name = "local"

    def __init__(self, concurrency: int = 2, warm: bool = True) -> None:
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="run")
        self.warm = warm
        if warm:
            # Start the fork server now, from this (long-lived) thread: it imports
            # papermill while the scheduler starts, and dies with this thread.
            from multiprocessing import forkserver

            _warm_context()
            forkserver.ensure_running()

    def submit(self, spec: RunSpec) -> Future[dict[str, Any]]:  # noqa: D102
        return self.pool.submit(supervise, spec, self.warm)

    def close(self) -> None:  # noqa: D102
        self.pool.shutdown(wait=False, cancel_futures=True)


class DaskBackend:
    """Runs on a Dask cluster: an existing scheduler, a ``LocalCluster`` or a ``KubeCluster``.

    A run executes with the worker's own interpreter (the scheduler's path may not
    exist there). Where the workers declare profile resources (``nbp-<profile>``,
    as the ``dask-kubernetes`` worker groups do, :mod:`.dask_cluster`), each run
    asks for its profile's, so it lands on a worker of its profile.

    Args:
        concurrency: Workers of a ``LocalCluster`` (and of each ``KubeCluster`` group).
        address: An existing Dask scheduler to use instead of starting a cluster.
        kubernetes: Start a ``dask_kubernetes`` ``KubeCluster`` (one pod per worker).
        settings: The scheduler's settings (image, volume, namespace) for ``kubernetes``.
    """

    name = "dask"

    def __init__(
        self,
        concurrency: int = 2,
        address: str | None = None,
        kubernetes: bool = False,
        settings: Any = None,
    ) -> None:
        from distributed import Client, LocalCluster

        self.cluster: Any = None
        self._by_profile: bool | None = None
        if address:
            self.client = Client(address)
        elif kubernetes:  # pragma: no cover - no cluster is reachable in tests
            from nbplatform_hub import host

            from .dask_cluster import open_kube_cluster

            self.name = "dask-kubernetes"
            profiles = host.load_platform_profiles()
            self.cluster = open_kube_cluster(settings, profiles, concurrency)
            self.client = Client(self.cluster)
            self._by_profile = True
        else:
            self.cluster = LocalCluster(
                n_workers=concurrency,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            )
            self.client = Client(self.cluster)

    def _places_by_profile(self) -> bool:
        if self._by_profile is None:
            workers = self.client.scheduler_info().get("workers", {}).values()
            self._by_profile = any(
                name.startswith("nbp-") for w in workers for name in (w.get("resources") or {})
            )
        return self._by_profile

    def submit(self, spec: RunSpec) -> Future[dict[str, Any]]:  # noqa: D102
        from dataclasses import replace

        from .dask_cluster import resource_name

        extra: dict[str, Any] = {}
        if spec.profile and self._places_by_profile():
            extra["resources"] = {resource_name(spec.profile): 1}
        return self.client.submit(
            supervise, replace(spec, python=""), pure=False, key=f"run-{spec.run_id}", **extra
        )

    def close(self) -> None:  # noqa: D102
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def make_backend(
    name: str, concurrency: int, dask_address: str | None = None, settings: Any = None
) -> Backend:
    """Build the backend named by ``NBP_JOBS_BACKEND``."""
    if name == "local":
        return LocalBackend(concurrency)
    return DaskBackend(
        concurrency, dask_address, kubernetes=name == "dask-kubernetes", settings=settings
    )
