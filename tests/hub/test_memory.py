"""Memory limits on real process trees: a kernel over the limit dies, the server lives."""

from __future__ import annotations

import subprocess
import sys

import psutil
import pytest

from nbplatform.errors import ConfigurationError, InvalidParameterError
from nbplatform_hub.memory import (
    CgroupMemoryLimit,
    MemoryLimit,
    NoMemoryLimit,
    WatchdogMemoryLimit,
    cgroup_available,
    limit_memory,
)

MiB = 2**20
LIMIT = 150 * MiB

# A "kernel": allocates and touches N MiB, holds it, then exits 0.
KERNEL = (
    "import sys, time\ndata = b'x' * (int(sys.argv[1]) * 2**20)\ntime.sleep(float(sys.argv[2]))\n"
)
# A "server": waits until it is attached, starts one kernel, prints how it ended.
SERVER = (
    "import subprocess, sys\n"
    "sys.stdin.readline()\n"
    "kernel = subprocess.Popen([sys.executable, '-c', sys.argv[1], sys.argv[2], sys.argv[3]])\n"
    "print(kernel.wait(), flush=True)\n"
)

CGROUP_SKIP = pytest.mark.skipif(
    not cgroup_available(),
    reason="no writable cgroup memory controller here (needs root or a delegated cgroup v2 "
    "subtree, or a writable /sys/fs/cgroup/memory); the watchdog backend is tested instead",
)
BACKENDS = [pytest.param("cgroup", marks=CGROUP_SKIP), "watchdog"]


def _make_limit(backend: str, name: str) -> MemoryLimit:
    if backend == "watchdog":
        return WatchdogMemoryLimit(name, LIMIT, interval=0.1)
    return limit_memory(name, LIMIT, backend=backend)


def _run_server(limit: MemoryLimit, kernel_mib: int, hold_s: float) -> tuple[str, int]:
    """Start a server, attach it, let its kernel allocate; return (kernel exit, server exit)."""
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, KERNEL, str(kernel_mib), str(hold_s)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        limit.attach(server.pid)
        out, _ = server.communicate("go\n", timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    return out.strip(), server.returncode


@pytest.mark.parametrize("backend", BACKENDS)
def test_kernel_over_the_limit_is_killed_and_server_survives(backend: str) -> None:
    with _make_limit(backend, f"test-big-{backend}") as limit:
        kernel_exit, server_exit = _run_server(limit, kernel_mib=400, hold_s=30)
    assert kernel_exit == "-9"  # SIGKILL, from the OOM killer or the watchdog
    assert server_exit == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_kernel_under_the_limit_survives(backend: str) -> None:
    with _make_limit(backend, f"test-small-{backend}") as limit:
        kernel_exit, server_exit = _run_server(limit, kernel_mib=50, hold_s=1)
    assert kernel_exit == "0"
    assert server_exit == 0


def test_watchdog_kills_a_server_that_alone_is_over_the_limit() -> None:
    server = subprocess.Popen([sys.executable, "-c", KERNEL, "400", "30"])
    try:
        with WatchdogMemoryLimit("test-alone", LIMIT, interval=0.1) as limit:
            limit.attach(server.pid)
            assert server.wait(timeout=60) == -9
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_watchdog_check_does_nothing_under_the_limit() -> None:
    limit = WatchdogMemoryLimit("test-check", 10 * 2**30)
    limit.pid = psutil.Process().pid
    assert limit.check() == []
    assert "watchdog" in limit.describe()


@CGROUP_SKIP
def test_cgroup_close_removes_the_group_and_keeps_leftover_processes() -> None:
    limit = limit_memory("test-close", LIMIT, backend="cgroup")
    assert isinstance(limit, CgroupMemoryLimit)
    assert limit.path.is_dir()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        limit.attach(sleeper.pid)
        assert limit.pids() == [sleeper.pid]
        assert "cgroup" in limit.describe()
        limit.close()
        assert not limit.path.exists()
        assert sleeper.poll() is None  # moved out, not killed
    finally:
        sleeper.kill()
        sleeper.wait()
    limit.close()  # a second close is harmless


def test_auto_picks_cgroup_when_available_else_watchdog() -> None:
    with limit_memory("test-auto", LIMIT) as limit:
        expected = "cgroup" if cgroup_available() else "watchdog"
        assert limit.backend == expected


def test_none_backend_enforces_nothing() -> None:
    limit = limit_memory("test-none", LIMIT, backend="none")
    assert isinstance(limit, NoMemoryLimit)
    limit.attach(psutil.Process().pid)
    assert "not limited" in limit.describe()
    limit.close()


def test_bad_backend_and_limit_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="auto, cgroup, watchdog, none"):
        limit_memory("x", LIMIT, backend="ulimit")
    with pytest.raises(InvalidParameterError):
        limit_memory("x", 0, backend="watchdog")


@CGROUP_SKIP
def test_cgroup_is_reused_with_a_new_limit_after_a_restart() -> None:
    first = limit_memory("test-reuse", 100 * MiB, backend="cgroup")
    again = limit_memory("test-reuse", 300 * MiB, backend="cgroup")  # the hub restarted
    try:
        assert isinstance(again, CgroupMemoryLimit)
        assert again.path == first.path
        limit_file = "memory.max" if again.version == 2 else "memory.limit_in_bytes"
        assert int((again.path / limit_file).read_text()) == 300 * MiB
    finally:
        again.close()
    assert not first.path.exists()
