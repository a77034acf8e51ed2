"""What the jobs and runs handlers share: scopes, ownership checks, paging arguments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from nbplatform.errors import ConflictError, InvalidParameterError, PermissionDeniedError
from nbplatform_hub import host
from nbplatform_hub.host import AuditedAPIHandler, page_size, page_token

from .. import store
from ..schema import job_runs, jobs
from ..settings import JobsSettings

READ, WRITE, ADMIN = host.JOBS_READ, host.JOBS_WRITE, host.JOBS_ADMIN

#: Ids are 16 hex digits (:func:`store.new_id`); routes take at most this many.
MAX_ID_LENGTH = 32
#: The farthest a page token may point (rows), well inside a 64-bit offset.
MAX_OFFSET = 2**62


def run_of_token(conn: Connection, token_id: str) -> Mapping[str, Any]:
    """The job and run a run's token was minted for (``{}`` for any other token).

    Registered with :func:`nbplatform_hub.host.register_token_origin`, so
    an audit entry's ``job_id`` and ``run_id`` come from the token, not from
    headers a client sets, and the MLflow gateway writes the run's lineage
    (``notebook``, ``git_commit``, ``git_dirty``, ``profile``) on every MLflow
    run the job's run starts.
    """
    row = conn.execute(
        sa.select(
            job_runs.c.id,
            job_runs.c.job_id,
            job_runs.c.notebook,
            job_runs.c.git_commit,
            job_runs.c.git_dirty,
            jobs.c.profile,
        )
        .join(jobs, jobs.c.id == job_runs.c.job_id)
        .where(job_runs.c.token_id == token_id)
    ).first()
    if row is None:
        return {}
    origin = {"job_id": row.job_id, "run_id": row.id, "profile": row.profile}
    if row.notebook:
        origin["notebook"] = row.notebook
    if row.git_commit:
        origin["git_commit"] = row.git_commit
        origin["git_dirty"] = bool(row.git_dirty)
    return origin


#: The most runs one chain may hold: a run's token starts a run, whose token starts another...
MAX_RUN_CHAIN = 8


def parent_run(conn: Connection, job_id: str, token_id: str | None) -> str | None:
    """The run whose token asks for a run of ``job_id``, after checking its chain.

    A notebook run as a job may start jobs with its run's token (a drift check
    retrains). The chain of runs that started one another may not start a job
    it already holds, and may not grow past :data:`MAX_RUN_CHAIN` runs, so a
    notebook that starts its own job (or two that start each other) stops at once
    instead of queueing runs forever.

    Args:
        conn: The platform database.
        job_id: The job asked to run.
        token_id: The caller's token id (``user["token_id"]``).

    Returns:
        The asking run's id, or ``None`` for a token of no run.

    Raises:
        ConflictError: The chain already ran ``job_id``, or is as long as it may be.
    """
    if not token_id:
        return None
    columns = (job_runs.c.id, job_runs.c.job_id, job_runs.c.parent_run_id)
    row = conn.execute(sa.select(*columns).where(job_runs.c.token_id == token_id)).first()
    if row is None:
        return None
    chain = [row]
    while chain[-1].parent_run_id and len(chain) <= MAX_RUN_CHAIN:
        above = conn.execute(
            sa.select(*columns).where(job_runs.c.id == chain[-1].parent_run_id)
        ).first()
        if above is None:
            break
        chain.append(above)
    path = " <- ".join(f"run {r.id} of job {r.job_id}" for r in chain)
    if any(r.job_id == job_id for r in chain):
        raise ConflictError(
            f"Job {job_id} is already part of this chain of runs ({path}): a run may "
            "not start its own job again, directly or through other jobs. Schedule it "
            "instead, or start it from a kernel."
        )
    if len(chain) >= MAX_RUN_CHAIN:
        raise ConflictError(
            f"This chain of runs that start one another is {len(chain)} runs long ({path}); "
            f"at most {MAX_RUN_CHAIN} may start in a row."
        )
    return row.id


#: A job or run id in a route (16 hex digits today; longer ones match no route: 404).
ID_PATTERN = rf"[0-9a-f]{{1,{MAX_ID_LENGTH}}}"


class JobsAPIHandler(AuditedAPIHandler):
    """Base of the jobs handlers; every write (allowed or refused) is audited."""

    @property
    def audit_action(self) -> str:  # type: ignore[override]
        """``jobs:<verb>`` or ``runs:<verb>``, from the resource the path names."""
        resource = "runs" if "/api/runs" in self.request.path else "jobs"
        return f"{resource}:{(self.request.method or '').lower()}"

    @property
    def audit_resource(self) -> str:  # type: ignore[override]
        """The path below ``api/``, e.g. ``jobs/12/runs``."""
        return self.request.path.split("/api/", 1)[-1]

    @property
    def jobs_settings(self) -> JobsSettings:
        """The jobs settings of this service, read once at start (:mod:`..capability`)."""
        return self.context.state["jobs"]

    def may_read_outputs(self, job: Mapping[str, Any]) -> bool:
        """Whether the caller may read the outputs and logs of ``job``'s runs.

        They are private to the owner and platform admins unless the job is
        ``shared``, when everyone who may read jobs may read them too.
        """
        return bool(job.get("shared")) or self.is_admin() or self.user["name"] == job["owner"]

    def outputs_refusal(self, job: Mapping[str, Any]) -> str | None:
        """Why the caller may not read ``job``'s outputs and logs (:meth:`may_read_outputs`)."""
        if self.may_read_outputs(job):
            return None
        return (
            f"The outputs and logs of {job['owner']}'s job {job['name']!r} are private to "
            "its owner and platform admins; its owner can share them (shared: true)."
        )

    def require_read_outputs(self, job: Mapping[str, Any]) -> None:
        """Refuse unless :meth:`may_read_outputs`.

        Raises:
            PermissionDeniedError: Saying who may, and how to share.
        """
        reason = self.outputs_refusal(job)
        if reason is not None:
            raise PermissionDeniedError(reason)

    def is_admin(self) -> bool:
        """Whether the caller may manage every job."""
        return ADMIN in self.user.get("scopes", [])

    def manage_refusal(self, owner: str) -> str | None:
        """Why the caller may not manage (edit, run, pause, delete) ``owner``'s job, or None.

        The one decision behind :meth:`require_manage` (which refuses with this
        text) and the ``permissions`` of job answers (which show it), so the
        panel never offers what the API then refuses.
        """
        if self.is_admin():
            return None
        name = self.user["name"]
        if WRITE not in self.user.get("scopes", []):
            return (
                f"{name} lacks the scope {WRITE} (jobs write): ask a platform admin to put "
                "you in a group that grants it."
            )
        if name != owner:
            return f"Only {owner} or a platform admin can change this job."
        return None

    def job_permissions(self, job: Mapping[str, Any]) -> dict[str, Any]:
        """What the caller may do with ``job``, and why not.

        ``edit``, ``run`` and ``delete`` (:meth:`manage_refusal`, the reason in
        ``reason``); ``outputs``: open its runs' outputs and logs
        (:meth:`outputs_refusal`, the reason in ``outputs_reason``).
        """
        reason = self.manage_refusal(job["owner"])
        allowed = reason is None
        outputs = self.outputs_refusal(job)
        return {
            "edit": allowed,
            "run": allowed,
            "delete": allowed,
            "reason": reason,
            "outputs": outputs is None,
            "outputs_reason": outputs,
        }

    def require_manage(self, owner: str) -> None:
        """Refuse unless the caller owns the job (with the write scope) or is a jobs admin.

        Raises:
            PermissionDeniedError: Saying why (:meth:`manage_refusal`), naming the owner.
        """
        reason = self.manage_refusal(owner)
        if reason is not None:
            raise PermissionDeniedError(reason)

    def paging(self) -> tuple[int, str | None]:
        """``max_results`` (1-1000, default 100) and ``page_token`` from the query.

        Raises:
            InvalidParameterError: ``max_results`` out of range.
        """
        max_results = page_size(self)
        token = page_token(self)
        if token is not None and store.decode_page_token(token) > MAX_OFFSET:
            raise InvalidParameterError("page_token: not a token from a previous page.")
        return max_results, token
