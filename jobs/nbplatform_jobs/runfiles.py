"""Preparing a run's folder and environment: snapshot, parameters, owner's token."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path, PurePosixPath
from typing import Any

from nbplatform.config import mlflow_environment
from nbplatform.errors import InvalidParameterError
from nbplatform.lineage import git_state
from nbplatform_hub.host import SystemUser, ensure_system_user, prepare_workspace, read_as

from .backends import RunSpec
from .definitions import kernel_for_profile, profile_gpus
from .parameters import coerce_parameters, notebook_parameters
from .settings import JobsSettings
from .tokens import mint_token
from .workspace import is_platform_notebook, resolve_notebook, workspace_dir

#: The only variables of the scheduler's own environment a run gets (by name or
#: prefix): the scheduler's holds its service token and database URL.
_PASSED = ("PATH", "HOME", "LANG", "LANGUAGE", "LC_", "TZ", "TERM", "NBP_HOME", "NBP_GPUS")


def _atomic_copy(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` so that ``target`` is never half written."""
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def _atomic_write(target: Path, text: str) -> None:
    _atomic_write_bytes(target, text.encode())


def _atomic_write_bytes(target: Path, data: bytes) -> None:
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)


def lineage_of(job: dict[str, Any], notebook: Path, user: SystemUser | None) -> dict[str, Any]:
    """What a first attempt executes: the notebook's path and its repository's state.

    Git runs with the owner's rights when users are isolated; a notebook the
    platform ships (``nbplatform:<name>``) has no repository of the owner's.

    Returns:
        ``{"notebook", "git_commit", "git_dirty"}`` (the last two ``None``
        outside a git repository).
    """
    if is_platform_notebook(job["notebook"]):
        return {"notebook": job["notebook"], "git_commit": None, "git_dirty": None}
    commit, dirty = git_state(notebook, user)
    return {"notebook": job["notebook"], "git_commit": commit, "git_dirty": dirty}


def _previous_lineage(previous: Path, job: dict[str, Any]) -> dict[str, Any]:
    try:
        lineage = json.loads((previous.parent / "run.json").read_text())["lineage"]
        return {k: lineage.get(k) for k in ("notebook", "git_commit", "git_dirty")}
    except (OSError, ValueError, KeyError, TypeError):
        return {"notebook": job["notebook"], "git_commit": None, "git_dirty": None}


def notebook_folder(workspace: Path, notebook: str) -> Path:
    """The folder of ``notebook`` in ``workspace``, where its kernel starts.

    The workspace itself when that folder is gone (a re-run of a notebook since
    moved) or leads out of the workspace, and for a notebook the platform ships.
    """
    if is_platform_notebook(notebook):
        return workspace
    folder = workspace / PurePosixPath(notebook).parent
    try:
        inside = folder.resolve().is_relative_to(workspace.resolve())
    except OSError:
        inside = False
    return folder if inside and folder.is_dir() else workspace


def snapshot(settings: JobsSettings, job: dict[str, Any], run: dict[str, Any]) -> Path:
    """Fill the run folder: ``input.ipynb``, ``parameters.json``, ``run.json``.

    A first attempt snapshots the notebook from the workspace now (checking again
    that it lies inside the workspace) and records its lineage (path, git commit,
    dirty state); a retry or re-run copies the snapshot and the lineage of the run
    it repeats, so it runs exactly the same input.

    Returns:
        The run folder.
    """
    run_dir = settings.run_dir(job["id"], run["id"])
    for folder in (settings.jobs_dir, run_dir.parent, run_dir):  # whatever the umask
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    workspace = workspace_dir(settings.home, job["owner"])
    user = owner_account(settings, job["owner"])
    source = run.get("source_run_id")
    previous = settings.run_dir(job["id"], source) / "input.ipynb" if source else None
    if previous is not None and previous.is_file():
        _atomic_copy(previous, run_dir / "input.ipynb")
        lineage = _previous_lineage(previous, job)
    else:
        notebook = resolve_notebook(settings.home, job["owner"], job["notebook"])
        lineage = lineage_of(job, notebook, user)
        # A notebook the platform ships is readable by everyone: copied as it is.
        if user is None or is_platform_notebook(job["notebook"]):
            _atomic_copy(notebook, run_dir / "input.ipynb")
        else:  # read with the owner's rights: a link swapped in leads nowhere else
            try:
                content = read_as(user, notebook)
            except (OSError, ValueError) as e:
                raise InvalidParameterError(
                    f"notebook: {job['notebook']!r} cannot be read as {user.name} ({e})."
                ) from None
            _atomic_write_bytes(run_dir / "input.ipynb", content)
    try:  # the notebook may have changed since the job was saved
        declared = notebook_parameters(run_dir / "input.ipynb")
    except InvalidParameterError:
        declared = {}
    parameters = coerce_parameters(declared, run["parameters"])
    _atomic_write(run_dir / "parameters.json", json.dumps(parameters))
    if user is None and not workspace.is_dir():  # a platform notebook's owner may have none yet
        workspace.mkdir(mode=0o700, parents=True, exist_ok=True)
    spec = {
        "kernel": kernel_for_profile(job["profile"]),
        # As in JupyterLab: relative paths start from the notebook's folder.
        "cwd": str(notebook_folder(workspace, job["notebook"])),
        "home": str(workspace),
        "notebook": job["notebook"],
        "job_id": job["id"],
        "run_id": run["id"],
        "attempt": run["attempt"],
        "lineage": lineage,
        "trigger": run.get("trigger"),  # "test": the executor runs nbval (see gate.py)
        "timeout_seconds": job.get("timeout_seconds"),
    }
    if user is not None:
        spec["run_as"] = {"name": user.name, "uid": user.uid, "gid": user.gid}
        spec["kernels_dir"] = str(settings.kernels_dir)
    _atomic_write(run_dir / "run.json", json.dumps(spec, indent=2))
    return run_dir


def owner_account(settings: JobsSettings, owner: str) -> SystemUser | None:
    """With isolation on, the owner's system user (created if needed), their workspace theirs."""
    if not settings.isolated:
        return None
    workspace = workspace_dir(settings.home, owner)
    user = ensure_system_user(owner, settings.system_user_prefix, workspace)
    prepare_workspace(workspace, user)
    return user


def run_lineage(run_dir: Path) -> dict[str, Any]:
    """The lineage :func:`snapshot` recorded in ``run.json`` (``{}`` when there is none)."""
    try:
        lineage = json.loads((run_dir / "run.json").read_text()).get("lineage")
    except (OSError, ValueError, AttributeError):
        return {}
    return lineage if isinstance(lineage, dict) else {}


def run_env(
    job: dict[str, Any],
    run: dict[str, Any],
    token: str,
    platform_url: str,
    lineage: dict[str, Any] | None = None,
    gpu_devices: list[str] | None = None,
) -> dict[str, str]:
    """The environment of a run: the owner's short-lived token, the ids, the lineage, the GPUs.

    ``gpu_devices`` are the GPUs the scheduler took for the run from the machine's
    allocator (``[]`` for a CPU profile); ``None`` where a cluster backend places
    the run (its worker's devices stand, a CPU profile's run still sees none).
    """
    env = {k: v for k, v in os.environ.items() if k.startswith(_PASSED)}
    env.update(
        {
            "NBP_PLATFORM_URL": platform_url,
            "NBP_TOKEN": token,
            "JUPYTERHUB_API_TOKEN": token,
            "NBP_JOB_ID": job["id"],
            "NBP_JOB_NAME": job["name"],
            "NBP_RUN_ID": run["id"],
            "NBP_PROFILE": job["profile"],
            "JUPYTERHUB_USER": job["owner"],
            "PYTHONUNBUFFERED": "1",
            **mlflow_environment(platform_url, token),
        }
    )
    lineage = lineage or {}
    env["NBP_NOTEBOOK"] = str(lineage.get("notebook") or job["notebook"])
    if lineage.get("git_commit"):
        env["NBP_GIT_COMMIT"] = str(lineage["git_commit"])
        env["NBP_GIT_DIRTY"] = "true" if lineage.get("git_dirty") else "false"
    if gpu_devices is not None:  # the devices the scheduler took for this run
        env["NBP_GPU_DEVICES"] = env["CUDA_VISIBLE_DEVICES"] = ",".join(gpu_devices)
    elif not profile_gpus(job["profile"]):
        env["NBP_GPU_DEVICES"] = ""  # a CPU profile's run sees no GPU
    # else: a cluster's worker runs it, with the GPUs the cluster gave that worker
    return env


def prepare(
    settings: JobsSettings,
    job: dict[str, Any],
    run: dict[str, Any],
    hub_api_url: str,
    service_token: str,
    platform_url: str,
    gpu_devices: list[str] | None = None,
) -> RunSpec:
    """Snapshot the run and mint its token; return what a backend needs.

    ``gpu_devices``: the GPUs the run was given (see :func:`run_env`).

    Raises:
        NbplatformError: The notebook left the workspace, the profile is gone, or
            the hub refused a token for the owner.
    """
    run_dir = snapshot(settings, job, run)
    token = mint_token(
        hub_api_url,
        service_token,
        job["owner"],
        expires_in=int(job["timeout_seconds"]) + 600,
        note=f"nbplatform job {job['name']} run {run['id']}",
    )
    lineage = run_lineage(run_dir)
    return RunSpec(
        run_id=run["id"],
        run_dir=str(run_dir),
        env=run_env(job, run, token, platform_url, lineage, gpu_devices),
        timeout=float(job["timeout_seconds"]),
        token_id=getattr(token, "id", None),
        lineage=lineage,
        profile=job["profile"],
    )
