"""GPU discovery and assignment of GPUs to single-user servers on one machine.

The hub finds the machine's GPUs once (:func:`discover_gpus`, in
:mod:`.gpu_discovery`) and a
:class:`GpuAllocator` hands them out: each server of a GPU profile gets its own
devices (exposed to it as ``CUDA_VISIBLE_DEVICES`` by the spawner) until it
stops. After a hub restart, :meth:`GpuAllocator.reconcile` rebuilds the state
from what the still-running servers hold.

Servers and job runs share the devices: with a :class:`GpuLeaseFile`
(``NBP_HOME/run/gpus.json``) the hub's allocator and the scheduler's keep who
holds what in one file, under an exclusive lock, so a GPU is never given to a
server and a job run at once. Job runs hold devices as ``job:<run id>``.

On Kubernetes none of this runs: the NVIDIA device plugin assigns GPUs to pods
from their ``nvidia.com/gpu`` limits (see :mod:`nbplatform_hub.k8s`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from nbplatform.errors import UnavailableError

from .gpu_discovery import GPUS_ENV, _discover, discover_gpus, no_gpu_reason

__all__ = [
    "GPUS_ENV",
    "JOB_PREFIX",
    "GpuAllocator",
    "GpuLeaseFile",
    "lease_file",
    "GpuUnavailableError",
    "discover_gpus",
    "no_gpu_reason",
]

#: Owners that are job runs (``job:<run id>``), not servers.
JOB_PREFIX = "job:"

_log = logging.getLogger(__name__)


class GpuUnavailableError(UnavailableError):
    """No GPU can be assigned right now; the message says why and what to do."""


def _user_of(owner: str) -> str:
    if owner.startswith(JOB_PREFIX):
        return "a job run"
    return owner.split("/", 1)[0] or owner


def lease_file(home: str | Path | None = None) -> GpuLeaseFile | None:
    """The machine's shared GPU lease file, ``NBP_HOME/run/gpus.json`` (``None`` without a home).

    Args:
        home: ``NBP_HOME``; read from the environment when omitted.
    """
    home = home if home is not None else os.environ.get("NBP_HOME")
    return GpuLeaseFile(Path(home) / "run" / "gpus.json") if home else None


class GpuLeaseFile:
    """Who holds which GPU, in a JSON file every platform process of a machine shares.

    ``{owner: [device, ...]}``, read and written under an exclusive ``flock`` on
    ``<path>.lock`` and replaced atomically, so the hub (servers) and the
    scheduler (job runs) never hand out the same device.

    Args:
        path: The file, e.g. ``NBP_HOME/run/gpus.json`` (its folder is created).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @contextlib.contextmanager
    def locked(self) -> Iterator[dict[str, list[str]]]:
        """Hold the lock; yield the holdings, written back when the block ends without error."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                held = self._read()
                before = json.dumps(held, sort_keys=True)
                yield held
                if json.dumps(held, sort_keys=True) != before:
                    tmp = self.path.with_name(f".{self.path.name}.tmp")
                    tmp.write_text(json.dumps(held, sort_keys=True))
                    os.replace(tmp, self.path)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self) -> dict[str, list[str]]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            _log.warning("GPU leases in %s are unreadable; starting afresh", self.path)
            return {}
        if not isinstance(data, dict):
            return {}
        return {
            str(owner): [str(d) for d in devices]
            for owner, devices in data.items()
            if isinstance(devices, list) and devices
        }


class GpuAllocator:
    """Hands out a machine's GPUs to servers and job runs, each device to one at a time.

    Used from JupyterHub's event loop (servers) and the scheduler (job runs); a
    lock makes each call atomic in case a spawner calls from a thread, and with
    ``leases`` the holdings live in a file both processes share.

    Args:
        devices: The GPUs to hand out, e.g. from :func:`discover_gpus`.
        no_gpu_reason: Why ``devices`` is empty, for the error message: a clause
            that begins a sentence (see :func:`no_gpu_reason`); without one the
            message says no more than that there is no GPU to hand out.
        log: Logger for reconciliation conflicts; this module's logger if None.
        leases: Keep the holdings in this shared file (else in this process only).
    """

    def __init__(
        self,
        devices: Sequence[str],
        *,
        no_gpu_reason: str | None = None,
        log: logging.Logger | None = None,
        leases: GpuLeaseFile | None = None,
    ) -> None:
        self._devices = list(dict.fromkeys(str(d) for d in devices))
        self._no_gpu_reason = no_gpu_reason or "this machine has no GPU the platform hands out"
        self._log = log or _log
        self._lock = threading.Lock()
        self._held: dict[str, list[str]] = {}
        self._leases = leases

    @contextlib.contextmanager
    def _state(self) -> Iterator[dict[str, list[str]]]:
        """Hold the lock (and the lease file's); yield the holdings to read or change."""
        with self._lock:
            if self._leases is None:
                yield self._held
                return
            with self._leases.locked() as held:
                self._held = held
                yield held

    @classmethod
    def from_environment(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        log: logging.Logger | None = None,
        leases: GpuLeaseFile | None = None,
    ) -> GpuAllocator:
        """Build an allocator over the GPUs :func:`discover_gpus` finds.

        Args:
            env: Environment for discovery; ``os.environ`` when None.
            log: Logger for the allocator.
            leases: The shared lease file, if any.

        Returns:
            The allocator.
        """
        devices, reason = _discover(os.environ if env is None else env)
        return cls(devices, no_gpu_reason=reason, log=log, leases=leases)

    @property
    def devices(self) -> list[str]:
        """All GPUs this allocator hands out, in order."""
        return list(self._devices)

    def holdings(self) -> dict[str, list[str]]:
        """Return a copy of who holds what: ``{owner: [device, ...]}``."""
        with self._state() as state:
            return {owner: list(held) for owner, held in state.items()}

    def free(self) -> list[str]:
        """Return the GPUs no server or job run holds, in device order."""
        with self._state():
            return self._free_locked()

    def _free_locked(self, owner: str | None = None) -> list[str]:
        taken = {d for who, held in self._held.items() if who != owner for d in held}
        return [device for device in self._devices if device not in taken]

    def _refusal(self, count: int, free: int, profile: str | None, owner: str | None) -> str:
        what = f"the {profile!r} profile" if profile else "a GPU profile"
        if not self._devices:
            reason = self._no_gpu_reason
            return f"{reason[:1].upper()}{reason[1:]}, so {what} cannot start. Pick a CPU profile."
        total = len(self._devices)
        if count > total:
            return (
                f"{what[0].upper()}{what[1:]} needs {count} GPUs but this machine has only "
                f"{total}. Ask a platform admin to fix the profile, or pick another one."
            )
        others = [who for who, held in self._held.items() if held and who != owner]
        users = list(dict.fromkeys(_user_of(who) for who in others))
        by = f" (by {', '.join(users)})" if users else ""
        ends = []
        if any(not who.startswith(JOB_PREFIX) for who in others):
            ends.append("one of their servers stops")
        if any(who.startswith(JOB_PREFIX) for who in others):
            ends.append("a job run ends")
        when = " or ".join(ends) or "a GPU is freed"
        if free == 0:
            plural = "GPU is" if total == 1 else f"{total} GPUs are"
            head = f"No free GPU: {'the only' if total == 1 else 'all'} {plural} in use{by}."
        else:
            head = (
                f"Not enough free GPUs: {what} needs {count}, only {free} of {total} "
                f"{'is' if free == 1 else 'are'} free (the others are in use{by})."
            )
        return f"{head} Try again when {when}, or pick a CPU profile."

    def availability(
        self, count: int, *, profile: str | None = None, owner: str | None = None
    ) -> tuple[bool, str]:
        """Say whether ``count`` GPUs could be had now, to mark a profile unavailable.

        Args:
            count: GPUs the profile needs.
            profile: The profile's slug, named in the reason.
            owner: The server that would start; what it already holds counts as free.

        Returns:
            ``(True, "")``, or ``(False, reason)`` with the sentence
            :meth:`allocate` would raise.
        """
        if count <= 0:
            return True, ""
        with self._state():
            free = len(self._free_locked(owner))
            if free >= count:
                return True, ""
            return False, self._refusal(count, free, profile, owner)

    def allocate(self, owner: str, count: int, *, profile: str | None = None) -> list[str]:
        """Assign ``count`` GPUs to a server.

        Args:
            owner: The server's key, ``"<user>/<server name>"`` (``"alice/"`` for
                the default server).
            count: GPUs it needs; ``0`` releases what it held and returns ``[]``.
            profile: The profile's slug, named in error messages.

        Returns:
            The devices now held by ``owner``. If it already holds ``count``
            devices, those are returned unchanged.

        Raises:
            GpuUnavailableError: Not enough free GPUs (or none on this machine);
                the message says who holds them and what to do.
        """
        with self._state():
            held = self._held.get(owner, [])
            if count <= 0:
                self._held.pop(owner, None)
                return []
            if len(held) == count:
                return list(held)
            free = self._free_locked(owner)
            if len(free) < count:
                raise GpuUnavailableError(self._refusal(count, len(free), profile, owner))
            keep = [d for d in held if d in free][:count]
            chosen = keep + [d for d in free if d not in keep][: count - len(keep)]
            chosen.sort(key=self._devices.index)
            self._held[owner] = chosen
            return list(chosen)

    def release(self, owner: str) -> list[str]:
        """Free the GPUs held by ``owner``.

        Args:
            owner: The server's key, as given to :meth:`allocate`.

        Returns:
            The devices released (``[]`` if it held none).
        """
        with self._state():
            return self._held.pop(owner, [])

    def claim(self, owner: str, devices: Sequence[str]) -> list[str]:
        """Record that a running server holds ``devices``, e.g. from its saved state.

        Like :meth:`reconcile` for one server: devices this machine lacks, or
        that another server holds, are left out and logged.

        Args:
            owner: The server's key, as given to :meth:`allocate`.
            devices: The devices it was started with.

        Returns:
            The devices ``owner`` now holds.
        """
        with self._state():
            taken = {d: who for who, held in self._held.items() if who != owner for d in held}
            kept: list[str] = []
            for device in dict.fromkeys(str(d) for d in devices):
                if device not in self._devices:
                    self._log.warning(
                        "GPU %s held by %s is not on this machine; ignoring it", device, owner
                    )
                elif device in taken:
                    self._log.warning(
                        "GPU %s is held by both %s and %s; leaving it with %s",
                        device,
                        taken[device],
                        owner,
                        taken[device],
                    )
                else:
                    kept.append(device)
            if kept:
                self._held[owner] = kept
            else:
                self._held.pop(owner, None)
            return list(kept)

    def reconcile(self, holdings: Mapping[str, Sequence[str]]) -> None:
        """Replace the servers' holdings with what running servers hold (after a hub restart).

        Devices this machine does not have are dropped; a device claimed by two
        servers stays with the first and the conflict is logged. What job runs
        hold (``job:<run id>``, kept by the scheduler) stays as it is.

        Args:
            holdings: ``{owner: [device, ...]}`` of the servers still running.
        """
        with self._state() as state:
            jobs = {o: list(d) for o, d in state.items() if o.startswith(JOB_PREFIX)}
            new = self._reconciled(holdings, jobs)
            state.clear()
            state.update(new)

    def _reconciled(
        self, holdings: Mapping[str, Sequence[str]], jobs: dict[str, list[str]]
    ) -> dict[str, list[str]]:
        new: dict[str, list[str]] = dict(jobs)
        claimed: dict[str, str] = {d: owner for owner, held in jobs.items() for d in held}
        for owner, devices in holdings.items():
            kept: list[str] = []
            for device in (str(d) for d in devices):
                if device not in self._devices:
                    self._log.warning(
                        "GPU %s held by %s is not on this machine (%s); ignoring it",
                        device,
                        owner,
                        ", ".join(self._devices) or "no GPU",
                    )
                elif device in claimed:
                    self._log.warning(
                        "GPU %s is held by both %s and %s; leaving it with %s",
                        device,
                        claimed[device],
                        owner,
                        claimed[device],
                    )
                elif device not in kept:
                    claimed[device] = owner
                    kept.append(device)
            if kept:
                new[owner] = kept
        return new
