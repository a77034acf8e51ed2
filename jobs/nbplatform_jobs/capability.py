"""The jobs capability of the platform service (entry point ``nbplatform.capabilities``).

It mounts ``api/jobs`` and ``api/runs``, migrates the jobs tables (their own
Alembic chain and version table) once when the service starts, reads the jobs
settings once, and tells the host's audit log which job and run a run's token
belongs to.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from nbplatform_hub import host

from .api.common import run_of_token
from .db import MIGRATIONS
from .settings import JobsSettings


def setup(context: Any) -> JobsSettings:
    """Read the jobs settings (kept as ``context.state["jobs"]``) and register token origins."""
    host.register_token_origin(run_of_token)
    return replace(JobsSettings.from_env(), home=context.home)


capability = host.Capability(
    name="jobs",
    resources=("nbplatform_jobs.api.jobs", "nbplatform_jobs.api.runs"),
    migrations=MIGRATIONS,
    setup=setup,
    scopes=(host.JOBS_READ, host.JOBS_WRITE, host.JOBS_ADMIN),
)
