"""Memory limits for local single-user servers and all their kernels.

A profile's ``mem_limit`` caps the memory of one single-user server *together
with every process it starts* (kernels, their subprocesses, terminals). The
local spawner calls :func:`limit_memory` for each server it starts and
``attach(pid)`` with the server's pid right after starting it, before any
kernel exists; ``close()`` when the server stops. Two mechanisms enforce it:

``cgroup`` (preferred, used when a writable cgroup memory controller exists)
    The server is moved into its own memory cgroup, ``nbplatform/<name>``,
    created next to the hub's own cgroup (cgroup v1, e.g.
    ``/sys/fs/cgroup/memory/<hub's cgroup>/nbplatform/<name>``) or at the root of
    the cgroup v2 hierarchy (``/sys/fs/cgroup/nbplatform/<name>``). Its limit is
    ``memory.limit_in_bytes`` plus ``memory.memsw.limit_in_bytes`` (v1) or
    ``memory.max`` plus ``memory.swap.max = 0`` (v2), so swap cannot stretch it.
    Processes forked later inherit the cgroup, so kernels are covered. The
    Linux kernel enforces the limit itself: when the group's total resident
    memory (including page cache it can't reclaim) would pass the limit, the
    kernel's OOM killer kills the group's biggest process, which is normally
    the kernel that allocated, with SIGKILL. Nothing polls; no allocation can
    overshoot. Needs root or a delegated cgroup subtree.

``watchdog`` (fallback, no privileges needed)
    A daemon thread samples, every ``interval`` seconds (default 2), the
    resident set size (RSS, via psutil) of the server and all its descendants.
    When the sum is over the limit it sends SIGKILL to the largest descendant
    (normally the kernel; the server survives and JupyterLab reports that the
    kernel died), then the next largest, until the sum is under the limit; if
    the server process alone is over the limit, the server and its processes
    are killed. Each kill is logged with the sizes. This is best effort: a
    process can overshoot between two samples, and shared pages count once per
    process.

``none`` attaches nothing (for development, or when an outer system such as
a container runtime already limits memory).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading

import psutil

from nbplatform.errors import ConfigurationError, InvalidParameterError

from .cgroups import cgroup_available, find_site, group_name, read_text, write

__all__ = [
    "BACKENDS",
    "CgroupMemoryLimit",
    "MemoryLimit",
    "NoMemoryLimit",
    "WatchdogMemoryLimit",
    "cgroup_available",
    "limit_memory",
]

BACKENDS = ("auto", "cgroup", "watchdog", "none")

_log = logging.getLogger(__name__)


def _mib(size: int) -> str:
    return f"{size / 2**20:.0f} MiB"


class MemoryLimit:
    """A memory limit on one server's process tree.

    Subclasses enforce it; use :func:`limit_memory` to get the right one. Usable
    as a context manager (``close()`` on exit).

    Args:
        name: Name of the server, unique on this hub (e.g. ``alice`` or
            ``alice-gpu2``); used for the cgroup and in log lines.
        limit_bytes: The limit for the server and all its descendants.
        log: Logger; this module's logger if None.
    """

    backend = "base"

    def __init__(self, name: str, limit_bytes: int, *, log: logging.Logger | None = None) -> None:
        if limit_bytes <= 0:
            raise InvalidParameterError(
                f"Memory limit for {name!r} must be above 0 bytes, got {limit_bytes}."
            )
        self.name = name
        self.limit_bytes = int(limit_bytes)
        self.log = log or _log

    def attach(self, pid: int) -> None:
        """Put the process ``pid`` (and everything it starts later) under the limit.

        Args:
            pid: The single-user server's process id.
        """
        raise NotImplementedError

    def close(self) -> None:
        """Stop enforcing and clean up; safe to call more than once."""

    def describe(self) -> str:
        """Return one line saying what is enforced and how, for logs and status pages."""
        raise NotImplementedError

    def __enter__(self) -> MemoryLimit:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"


class NoMemoryLimit(MemoryLimit):
    """Enforces nothing (``backend="none"``)."""

    backend = "none"

    def attach(self, pid: int) -> None:
        """Do nothing: this backend does not limit memory.

        Args:
            pid: Ignored.
        """

    def describe(self) -> str:
        """Return one line saying that nothing is enforced."""
        wanted = _mib(self.limit_bytes)
        return f"{self.name}: memory not limited (enforcement 'none'; the profile says {wanted})"


# ---------------------------------------------------------------------------
# cgroups (where a group can be made: :mod:`.cgroups`)


class CgroupMemoryLimit(MemoryLimit):
    """Enforces the limit with a memory cgroup and the kernel's OOM killer.

    The group is created (or reused, after a hub restart) when this object is.

    Args:
        name: Server name; the group is ``nbplatform/<name>``.
        limit_bytes: The limit for the server and all its descendants.
        log: Logger; this module's logger if None.

    Raises:
        ConfigurationError: No writable cgroup memory controller here.
    """

    backend = "cgroup"

    def __init__(self, name: str, limit_bytes: int, *, log: logging.Logger | None = None) -> None:
        super().__init__(name, limit_bytes, log=log)
        site = find_site()
        if site is None:
            raise ConfigurationError(
                "Memory enforcement 'cgroup' needs a writable cgroup memory controller "
                "(cgroup v2 with the memory controller, or /sys/fs/cgroup/memory), and none "
                "is usable here. Run the hub as root or in a delegated cgroup, or set "
                "NBP_MEMORY_ENFORCEMENT=watchdog."
            )
        self.version = site.version
        self._home = site.home
        self.path = site.parent / group_name(name)
        self._closed = False
        self.path.mkdir(exist_ok=True)
        try:
            self._set_limit()
        except OSError:
            self._remove()
            raise

    def _set_limit(self) -> None:
        limit = str(self.limit_bytes)
        if self.version == 2:
            write(self.path / "memory.max", limit)
            if (self.path / "memory.swap.max").exists():
                write(self.path / "memory.swap.max", "0")
            return
        memory = self.path / "memory.limit_in_bytes"
        memsw = self.path / "memory.memsw.limit_in_bytes"
        if not memsw.exists():
            write(memory, limit)
            return
        # memsw (memory + swap) may never be below memory: raise it first when growing.
        current = int(read_text(memory).strip() or 0)
        order = [memsw, memory] if self.limit_bytes > current else [memory, memsw]
        for path in order:
            write(path, limit)

    def attach(self, pid: int) -> None:
        """Move ``pid`` into the group; processes it forks later stay in it.

        Args:
            pid: The single-user server's process id.

        Raises:
            ProcessLookupError: There is no process ``pid``.
            OSError: The kernel refused the move.
        """
        write(self.path / "cgroup.procs", str(pid))
        self.log.debug("%s; pid %s attached", self.describe(), pid)

    def pids(self) -> list[int]:
        """Return the pids in the group."""
        return [int(p) for p in read_text(self.path / "cgroup.procs").split()]

    def _remove(self) -> None:
        for pid in self.pids():
            with contextlib.suppress(OSError):
                write(self._home / "cgroup.procs", str(pid))
        try:
            self.path.rmdir()
        except FileNotFoundError:
            pass
        except OSError as exc:
            self.log.warning("Could not remove cgroup %s: %s", self.path, exc)

    def close(self) -> None:
        """Move leftover processes out to the hub's group and remove the group."""
        if not self._closed:
            self._closed = True
            self._remove()

    def describe(self) -> str:
        """Return one line saying what is enforced and how."""
        return (
            f"{self.name}: memory limited to {_mib(self.limit_bytes)} by cgroup "
            f"v{self.version} {self.path} (kernel OOM killer)"
        )


# ---------------------------------------------------------------------------
# watchdog


class WatchdogMemoryLimit(MemoryLimit):
    """Enforces the limit by sampling RSS and killing the largest process.

    ``attach(pid)`` starts a daemon thread that calls :meth:`check` every
    ``interval`` seconds until the server exits or :meth:`close` is called. A
    thread (rather than a task on the hub's event loop) needs no running loop,
    and the process-table scans never block the hub.

    Args:
        name: Server name, for log lines.
        limit_bytes: The limit for the server and all its descendants.
        interval: Seconds between two samples.
        log: Logger; this module's logger if None.
    """

    backend = "watchdog"

    def __init__(
        self,
        name: str,
        limit_bytes: int,
        *,
        interval: float = 2.0,
        log: logging.Logger | None = None,
    ) -> None:
        super().__init__(name, limit_bytes, log=log)
        if interval <= 0:
            raise InvalidParameterError(f"Watchdog interval must be above 0, got {interval}.")
        self.interval = interval
        self.pid: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def attach(self, pid: int) -> None:
        """Watch ``pid`` and its descendants, starting the watchdog thread.

        Args:
            pid: The single-user server's process id.

        Raises:
            ProcessLookupError: There is no process ``pid``.
        """
        if not psutil.pid_exists(pid):
            raise ProcessLookupError(f"No process {pid} to limit.")
        self.pid = pid
        self.log.debug("%s; pid %s attached", self.describe(), pid)
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, name=f"nbplatform-memory-{self.name}", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                if self.pid is None or not psutil.pid_exists(self.pid):
                    break
                self.check()
            except Exception:
                self.log.exception("Memory watchdog for %s failed a check", self.name)

    def _kill(self, process: psutil.Process, size: int, why: str) -> bool:
        try:
            command = " ".join(process.cmdline()[:4]) or process.name()
        except psutil.Error:
            command = "?"
        try:
            process.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            return False
        except psutil.Error as exc:
            self.log.error("Could not kill pid %s of %s: %s", process.pid, self.name, exc)
            return False
        self.log.warning(
            "Killed pid %s (%s, %s resident) of server %s: %s",
            process.pid,
            command,
            _mib(size),
            self.name,
            why,
        )
        return True

    def check(self) -> list[int]:
        """Sample once and kill what is needed to get back under the limit.

        Returns:
            The pids killed (empty when under the limit or the server is gone).
        """
        if self.pid is None:
            return []
        try:
            server = psutil.Process(self.pid)
            tree = [server, *server.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []
        sizes: dict[int, int] = {}
        for process in tree:
            try:
                sizes[process.pid] = process.memory_info().rss
            except psutil.Error:
                continue
        total = sum(sizes.values())
        if total <= self.limit_bytes:
            return []
        limit = _mib(self.limit_bytes)
        killed: list[int] = []
        server_size = sizes.get(server.pid, 0)
        if server_size > self.limit_bytes:
            why = f"the server alone uses {_mib(server_size)}, over its {limit} limit"
            for process in [*tree[1:], server]:
                if self._kill(process, sizes.get(process.pid, 0), why):
                    killed.append(process.pid)
            return killed
        children = sorted(
            (p for p in tree[1:] if p.pid in sizes), key=lambda p: sizes[p.pid], reverse=True
        )
        for child in children:
            if total <= self.limit_bytes:
                break
            why = f"server and kernels used {_mib(total)}, over the {limit} limit"
            if self._kill(child, sizes[child.pid], why):
                killed.append(child.pid)
            total -= sizes[child.pid]
        return killed

    def close(self) -> None:
        """Stop the watchdog thread."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self.interval + 5)

    def describe(self) -> str:
        """Return one line saying what is enforced and how."""
        return (
            f"{self.name}: memory limited to {_mib(self.limit_bytes)} by a watchdog "
            f"(RSS sampled every {self.interval:g} s, largest process killed)"
        )


def limit_memory(
    name: str,
    limit_bytes: int,
    *,
    backend: str = "auto",
    interval: float = 2.0,
    log: logging.Logger | None = None,
) -> MemoryLimit:
    """Create the memory limit for one server.

    Args:
        name: Server name, unique on this hub (e.g. ``alice`` or ``alice-gpu2``).
        limit_bytes: The limit for the server and all its descendants.
        backend: ``"auto"`` (cgroup when :func:`cgroup_available`, else
            watchdog), ``"cgroup"``, ``"watchdog"`` or ``"none"``; the spawner
            reads its default from ``NBP_MEMORY_ENFORCEMENT``.
        interval: Watchdog sampling interval in seconds.
        log: Logger; this module's logger if None.

    Returns:
        The limit, not yet attached: call ``attach(pid)`` with the server's pid
        and ``close()`` when it stops.

    Raises:
        ConfigurationError: ``backend`` is unknown, or ``"cgroup"`` is asked for
            and no writable cgroup memory controller exists.
    """
    choice = (backend or "auto").strip().lower()
    if choice not in BACKENDS:
        raise ConfigurationError(
            f"Unknown memory enforcement {backend!r}; use one of {', '.join(BACKENDS)} "
            "(NBP_MEMORY_ENFORCEMENT)."
        )
    if choice == "none":
        return NoMemoryLimit(name, limit_bytes, log=log)
    if choice == "cgroup" or (choice == "auto" and cgroup_available()):
        return CgroupMemoryLimit(name, limit_bytes, log=log)
    return WatchdogMemoryLimit(name, limit_bytes, interval=interval, log=log)
