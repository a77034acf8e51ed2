"""Shared helpers of the benchmarks in ``bench/`` (imported by path, never run by ``make bench``).

A bench script prints human-readable lines and, last, one JSON object with at
least ``name``, ``ratio`` (ours ÷ baseline, lower is better) and ``peak_rss_mb``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterable, Sequence
from contextlib import suppress
from pathlib import Path
from types import ModuleType
from typing import Any

import psutil

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MB = 1024 * 1024


def harness() -> ModuleType:
    """Import ``tests/platform_harness.py`` (the real-platform test harness).

    Returns:
        The harness module.
    """
    tests = str(REPO / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    import platform_harness

    return platform_harness


def free_port() -> int:
    """Return a free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: Sequence[float], q: float) -> float:
    """Return the ``q``-th percentile (0-100) of ``values``, linearly interpolated.

    Args:
        values: The samples (at least one).
        q: The percentile, 0 to 100.

    Returns:
        The interpolated percentile.
    """
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no samples")
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def summary(values: Sequence[float]) -> dict[str, float]:
    """Return p50, p95, min and max of ``values``, rounded to the millisecond."""
    return {
        "p50_s": round(percentile(values, 50), 4),
        "p95_s": round(percentile(values, 95), 4),
        "min_s": round(min(values), 4),
        "max_s": round(max(values), 4),
    }


def tree(pid: int) -> list[psutil.Process]:
    """Return the process ``pid`` and all its descendants (those still alive)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def rss_mb(processes: Iterable[psutil.Process]) -> float:
    """Return the summed resident set size of ``processes`` in MiB."""
    total = 0
    for proc in processes:
        with suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += proc.memory_info().rss
    return total / MB


def tree_rss_mb(pid: int) -> float:
    """Return the summed RSS in MiB of process ``pid`` and its descendants."""
    return rss_mb(tree(pid))


class PeakRss:
    """Sample the RSS of process trees in a background thread and keep the peak of each.

    Use as a context manager; :meth:`watch` adds a tree under a label.

    Args:
        interval: Seconds between samples.
        seen: If given, filled with ``pid -> create_time`` of every process sampled
            (so that a caller can reap what outlives its parents).
    """

    def __init__(self, interval: float = 0.25, seen: dict[int, float] | None = None) -> None:
        self.interval = interval
        self.seen = seen
        self.roots: dict[str, int] = {}
        self.peaks: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def watch(self, label: str, pid: int) -> None:
        """Sample the tree rooted at ``pid`` under ``label``."""
        self.roots[label] = pid
        self.sample()

    def sample(self) -> None:
        """Take one sample of every watched tree now."""
        for label, pid in list(self.roots.items()):
            procs = tree(pid)
            if self.seen is not None:
                for proc in procs:
                    with suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                        self.seen[proc.pid] = proc.create_time()
            value = rss_mb(procs)
            self.peaks[label] = max(self.peaks.get(label, 0.0), value)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def peak(self, label: str) -> float:
        """Return the peak RSS in MiB seen for ``label`` (0 if never sampled)."""
        return round(self.peaks.get(label, 0.0), 1)


def stop_group(proc: subprocess.Popen[Any] | None, timeout: float = 30) -> None:
    """Stop a process started with ``start_new_session=True``: SIGINT, then SIGKILL its group.

    Args:
        proc: The group leader (nothing happens for ``None``).
        timeout: Seconds to wait after SIGINT before SIGKILL.
    """
    if proc is None:
        return
    if proc.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        with suppress(subprocess.TimeoutExpired):
            proc.wait(timeout)
    # Whatever is left in the group (children that outlived the leader) goes too.
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with suppress(subprocess.TimeoutExpired):
        proc.wait(10)


def kill_tree(pids: Iterable[int]) -> None:
    """SIGKILL every process in ``pids`` that is still alive (a last resort)."""
    for pid in pids:
        with suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            psutil.Process(pid).kill()


def emit(result: dict[str, Any]) -> None:
    """Print the result as the script's last line: one JSON object."""
    for key in ("name", "ratio", "peak_rss_mb"):
        if key not in result:
            raise KeyError(f"a bench result needs {key!r}")
    print(json.dumps(result, sort_keys=False), flush=True)


def reap(seen: dict[int, float]) -> list[int]:
    """SIGKILL processes seen in a platform's tree that are still alive; return their pids.

    Args:
        seen: ``pid -> create_time`` as recorded while the platform ran (a pid
            reused since by another process is left alone).

    Returns:
        The pids killed.
    """
    killed = []
    for pid, created in seen.items():
        with suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            proc = psutil.Process(pid)
            if proc.create_time() == created and proc.pid != os.getpid():
                proc.kill()
                killed.append(pid)
    return killed
