"""GPUs of job runs: taken from the machine's shared leases, as servers take theirs.

A run of a GPU profile on the local backend holds its devices under the owner
``<GPU_JOB_PREFIX><run id>`` in the same lease file the hub's spawner uses, so
a server and a run never get the same device. A run that finds none free
waits, queued, and starts on a later pass. A cluster backend's workers get
their devices from the cluster instead (:meth:`RunGpus.for_backend` gives
``None`` there).
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from nbplatform_hub import host

from .definitions import profile_gpus
from .schema import job_runs

log = logging.getLogger("nbplatform.jobs")

__all__ = ["RunGpus"]


class RunGpus:
    """The GPUs that one scheduler's runs hold.

    Args:
        allocator: The machine's allocator (with the shared lease file).
        engine: The platform database.
        pid: The scheduler's pid (its claim on a run).
    """

    def __init__(self, allocator: host.GpuAllocator, engine: Engine, pid: int) -> None:
        self.allocator = allocator
        self.engine = engine
        self.pid = pid
        self._waiting: set[str] = set()

    @classmethod
    def for_backend(cls, backend: str, home: Any, engine: Engine, pid: int) -> RunGpus | None:
        """The run GPUs of a scheduler on ``backend``: ``None`` unless runs are local."""
        if backend != "local":
            return None
        leases = host.gpu_lease_file(home)
        return cls(host.GpuAllocator.from_environment(leases=leases), engine, pid)

    @staticmethod
    def owner(run_id: str) -> str:
        """The lease owner of a run's devices."""
        return f"{host.GPU_JOB_PREFIX}{run_id}"

    def free_for(self, run_id: str, profile: str) -> bool:
        """Whether a run of ``profile`` could have its GPUs now (it waits queued if not)."""
        count = profile_gpus(profile)
        if count <= 0:
            return True
        ok, reason = self.allocator.availability(count, profile=profile)
        if not ok:
            self._wait(run_id, reason)
        return ok

    def take(self, job: dict[str, Any], run: dict[str, Any]) -> tuple[bool, list[str]]:
        """Take the GPUs of a run this scheduler claimed: ``(ready, devices)``.

        ``devices`` is ``[]`` for a CPU profile. Not ready: no GPU is free now;
        the run is put back in the queue (and logged once) and starts on a later
        pass, when a server or another run gives its devices back.
        """
        count = profile_gpus(job["profile"])
        if count <= 0:
            return True, []
        try:
            devices = self.allocator.allocate(self.owner(run["id"]), count, profile=job["profile"])
        except host.GpuUnavailableError as e:
            with self.engine.begin() as conn:
                conn.execute(
                    job_runs.update()
                    .where(
                        job_runs.c.id == run["id"],
                        job_runs.c.status == "running",
                        job_runs.c.pid == self.pid,
                    )
                    .values(status="queued", started_at=None, heartbeat_at=None, pid=None)
                )
            self._wait(run["id"], e.message)
            return False, []
        self._waiting.discard(run["id"])
        return True, devices

    def release(self, run_id: str) -> None:
        """Give back a run's devices (none held: nothing happens)."""
        self.allocator.release(self.owner(run_id))

    def prune(self) -> None:
        """Give back the GPUs of job runs that no longer run (deleted, or settled elsewhere)."""
        held = [o for o in self.allocator.holdings() if o.startswith(host.GPU_JOB_PREFIX)]
        if not held:
            return
        run_ids = [o.removeprefix(host.GPU_JOB_PREFIX) for o in held]
        with self.engine.connect() as conn:
            running = set(
                conn.execute(
                    sa.select(job_runs.c.id).where(
                        job_runs.c.id.in_(run_ids), job_runs.c.status == "running"
                    )
                ).scalars()
            )
        for owner, run_id in zip(held, run_ids, strict=True):
            if run_id not in running:
                self.allocator.release(owner)

    def _wait(self, run_id: str, reason: str) -> None:
        if run_id not in self._waiting:
            self._waiting.add(run_id)
            log.info("run %s waits for a GPU: %s", run_id, reason)
