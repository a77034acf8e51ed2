"""``api/models/<name>/versions/<version>/replay(s)``: re-run what made a version, compare.

``POST .../replay`` re-runs the job run that made the version (its input
snapshot, parameters and profile) through the jobs API's re-run, with the
caller's own token: the jobs capability decides whether the caller may run that
job (its 403 is the answer here) and audits the run as theirs; this service
audits the replay (``model:replay``). ``GET .../replays/<run_id>`` says how the
replay is doing and, once it has ended, compares its metrics with the recorded
ones (:mod:`..replays`).

The models resources do not import the jobs capability: they ask its REST API
over loopback (:mod:`..loopback`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from nbplatform.errors import ConflictError, NotFoundError, PermissionDeniedError

from .. import loopback, replays
from ..audited import AuditedAPIHandler
from ..mlflow_rules import READ

#: Who asks the jobs API, in its audit log.
AGENT = "nbplatform-models (replay)"
#: A job or run id (the jobs API's, 16 hex digits).
ID = r"[0-9a-f]{1,32}"


class ReplayRequest(BaseModel):
    """Body of ``POST .../replay`` (optional)."""

    model_config = ConfigDict(extra="forbid")

    #: Replay even though the job now runs on another profile than the version's run.
    allow_profile_change: bool = Field(default=False, strict=True)


class ReplayAPIHandler(AuditedAPIHandler):
    """What the replay resources share: the version's origin, the jobs API as the caller."""

    async def origin(self, name: str, version: str) -> replays.Origin:
        """The job run that made ``version`` of ``name``.

        Raises:
            NotFoundError: No such model or version.
            ConflictError: Not made by a job run, or its MLflow run is gone.
        """
        mlflow = self.context.mlflow
        found = await mlflow.call("GET", "model-versions/get", {"name": name, "version": version})
        model_version = found["model_version"]
        run = None
        if model_version.get("run_id"):
            try:
                answer = await mlflow.call("GET", "runs/get", {"run_id": model_version["run_id"]})
                run = answer["run"]
            except NotFoundError:
                run = None
        return replays.origin_of(name, model_version, run)

    async def jobs(
        self, method: str, path: str, gone: str | None = None, ok: int = 200
    ) -> dict[str, Any]:
        """Ask the jobs API as the caller; its refusals are passed on.

        Args:
            method: ``GET`` or ``POST``.
            path: Below the service prefix (``api/runs/<id>``).
            gone: The message of a 409 to answer instead of its 404, if any.
            ok: The status of success.

        Raises:
            ConflictError: 404 with ``gone``.
            NbplatformError: Its 4xx passed on (403...), anything else 502.
        """
        status, value, raw = await loopback.call(self, method, path, {}, agent=AGENT)
        if status == ok and isinstance(value, dict):
            return value
        if status == 404 and gone is not None:
            raise ConflictError(gone)
        raise loopback.refusal(status, raw, "The jobs API")

    def gone(self, origin: replays.Origin) -> str:
        """Why there is nothing to replay when the jobs API does not know the job run."""
        return (
            f"The job run {origin.job_run_id} (job {origin.job_id}) that made version "
            f"{origin.version} of {origin.name!r} is gone (its job was deleted?), or the "
            "jobs capability is not installed: there is nothing to replay."
        )


class ReplayHandler(ReplayAPIHandler):
    """``POST``: re-run the job run that made the version (whoever may run that job)."""

    async def post(self, name: str, version: str) -> None:
        """201 ``{"name", "version", "original", "run", "status_path"}``.

        ``run`` is the new job run (``id``, ``status``, ``job_id``,
        ``source_run_id``...). 404: no such model or version; 409: the version
        was not made by a job run, that run or its job is gone, or the job now
        runs on another profile (unless ``allow_profile_change``); 403: the
        caller may not run the job (the jobs API's own decision and reason).
        """
        self.audit_action = "model:replay"
        self.audit_resource = f"{name}@{version}"
        self.audit_model, self.audit_version = name, version
        self.require_scope(READ)
        body = self.json_body(ReplayRequest)
        origin = await self.origin(name, version)
        self.audit_detail = f"job {origin.job_id}, run {origin.job_run_id}"
        gone = self.gone(origin)
        job = await self.jobs("GET", f"api/jobs/{quote(origin.job_id, safe='')}", gone)
        permissions = job.get("permissions") or {}
        if permissions.get("run") is False:  # the jobs API's decision, said before any change
            raise PermissionDeniedError(permissions.get("reason") or "You may not run this job.")
        if (
            origin.profile
            and job.get("profile") != origin.profile
            and not body.allow_profile_change
        ):
            raise ConflictError(
                f"Version {version} of {name!r} was trained on the profile {origin.profile!r}, "
                f"but its job {job.get('name')!r} now runs on {job.get('profile')!r}: a replay "
                "would not be exact. Set the job's profile back, or send "
                '{"allow_profile_change": true} to replay on the new one.'
            )
        run = await self.jobs(
            "POST", f"api/runs/{quote(origin.job_run_id, safe='')}/rerun", gone, ok=201
        )
        self.audit_detail = f"job {origin.job_id}, run {run.get('id')} replays {origin.job_run_id}"
        base = f"api/models/{quote(name, safe='')}/versions/{version}"
        self.write_json(
            {
                "name": name,
                "version": version,
                "original": origin.summary(),
                "run": run,
                "status_path": f"{base}/replays/{run.get('id')}",
            },
            status=201,
        )


class ReplayStatusHandler(ReplayAPIHandler):
    """``GET``: a replay's status and, once it has ended, how its metrics compare."""

    async def get(self, name: str, version: str, run_id: str) -> None:
        """The comparison (:func:`..replays.comparison`); ``rtol`` and ``atol`` from the query.

        404: no such model, version or job run, or the run is no replay of this
        version; 409: the version was not made by a job run, or that run is gone.
        """
        self.require_scope(READ)
        rtol = replays.tolerance(
            "rtol", self.get_query_argument("rtol", None), replays.DEFAULT_RTOL
        )
        atol = replays.tolerance(
            "atol", self.get_query_argument("atol", None), replays.DEFAULT_ATOL
        )
        origin = await self.origin(name, version)
        run = await self.jobs("GET", f"api/runs/{quote(run_id, safe='')}")
        original = await self.jobs(
            "GET", f"api/runs/{quote(origin.job_run_id, safe='')}", self.gone(origin)
        )
        root = original.get("source_run_id") or original.get("id")
        if (
            run.get("id") == origin.job_run_id
            or run.get("job_id") != origin.job_id
            or run.get("source_run_id") != root
        ):
            raise NotFoundError(
                f"Job run {run_id} is not a replay of version {version} of {name!r} "
                f"(a re-run of job run {origin.job_run_id})."
            )
        replay_run, new_version = None, None
        if run.get("status") in replays.FINAL_STATUSES:
            mlflow = self.context.mlflow
            replay_run = await replays.find_replay_run(mlflow, run_id, origin)
            if replay_run is not None:
                mlflow_run_id = replay_run.get("info", {}).get("run_id", "")
                new_version = await replays.version_of_run(mlflow, name, mlflow_run_id)
        self.write_json(replays.comparison(origin, run, replay_run, new_version, rtol, atol))


_VERSION = r"api/models/(?P<name>[^/]+)/versions/(?P<version>[0-9]{1,18})"
routes = [
    (rf"{_VERSION}/replay", ReplayHandler),
    (rf"{_VERSION}/replays/(?P<run_id>{ID})", ReplayStatusHandler),
]

__all__ = ["routes"]
