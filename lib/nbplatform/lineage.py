"""Lineage of runs started on the platform: notebook, user, profile, git commit, job.

:class:`PlatformRunContext` is an MLflow run-context provider (entry point
``mlflow.run_context_provider``): every ``mlflow.start_run`` in a platform kernel
or job gets these tags without any call from the notebook, and they override
MLflow's own guess of the source (``ipykernel_launcher.py``).
:class:`PlatformRequestHeaders` (entry point ``mlflow.request_header_provider``)
tells the gateway which server, job and notebook a request comes from, for the
audit log. Both read only the environment and the file system; neither imports
anything heavy.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

#: Tags set on every run started on the platform.
TAG_NOTEBOOK = "nbp.notebook"
TAG_USER = "nbp.user"
TAG_PROFILE = "nbp.profile"
TAG_SERVER = "nbp.server"
TAG_JOB_ID = "nbp.job_id"
TAG_JOB_RUN_ID = "nbp.job_run_id"
TAG_GIT_COMMIT = "mlflow.source.git.commit"


def on_platform(env: Mapping[str, str] | None = None) -> bool:
    """Whether this process runs on the platform (a platform kernel or job)."""
    env = os.environ if env is None else env
    return bool(env.get("NBP_KERNEL_PRELOADED") or env.get("NBP_JOB_ID"))


def notebook_path(env: Mapping[str, str] | None = None) -> str | None:
    """Return the notebook this kernel runs, relative to the user's workspace when inside it.

    jupyter_server gives kernels started for a notebook session its path in
    ``JPY_SESSION_NAME``; jobs set ``NBP_NOTEBOOK``.
    """
    env = os.environ if env is None else env
    raw = env.get("NBP_NOTEBOOK") or env.get("JPY_SESSION_NAME")
    if not raw:
        return None
    path = Path(raw)
    home, user = env.get("NBP_HOME"), env.get("JUPYTERHUB_USER")
    if home and user and path.is_absolute():
        workspace = Path(home) / "users" / user
        if path.is_relative_to(workspace):
            return path.relative_to(workspace).as_posix()
    return raw


def git_commit(start: Path | None = None) -> str | None:
    """Return the commit of the git repository holding ``start`` (cwd), if any."""
    folder = (start or Path.cwd()).resolve()
    if not any((p / ".git").exists() for p in (folder, *folder.parents)):
        return None
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def lineage_tags(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the lineage tags of a run started in this process.

    Args:
        env: The environment (``os.environ`` when omitted).

    Returns:
        Tags: notebook (also as ``mlflow.source.name``), user, profile, server,
        job and job run ids, git commit; only those that are known.
    """
    env = os.environ if env is None else env
    tags: dict[str, str] = {}
    notebook = notebook_path(env)
    if notebook:
        tags[TAG_NOTEBOOK] = notebook
        tags["mlflow.source.name"] = notebook
        tags["mlflow.source.type"] = "NOTEBOOK" if not env.get("NBP_JOB_ID") else "JOB"
    user = env.get("JUPYTERHUB_USER")
    if user:
        tags[TAG_USER] = user
        tags["mlflow.user"] = user
    for tag, var in (
        (TAG_PROFILE, "NBP_PROFILE"),
        (TAG_SERVER, "JUPYTERHUB_SERVER_NAME"),
        (TAG_JOB_ID, "NBP_JOB_ID"),
        (TAG_JOB_RUN_ID, "NBP_RUN_ID"),
    ):
        if env.get(var):
            tags[tag] = env[var]
    commit = git_commit(
        Path(notebook).parent if notebook and Path(notebook).is_absolute() else None
    )
    if commit:
        tags[TAG_GIT_COMMIT] = commit
    return tags


def origin_headers(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the ``X-Nbp-*`` headers that tell the gateway where a request comes from."""
    env = os.environ if env is None else env
    headers = {}
    user, server = env.get("JUPYTERHUB_USER"), env.get("JUPYTERHUB_SERVER_NAME", "")
    if user:
        headers["X-Nbp-Server"] = f"{user}/{server}" if server else user
    for header, var in (("X-Nbp-Job-Id", "NBP_JOB_ID"), ("X-Nbp-Run-Id", "NBP_RUN_ID")):
        if env.get(var):
            headers[header] = env[var]
    notebook = notebook_path(env)
    if notebook:
        headers["X-Nbp-Notebook"] = notebook.encode("ascii", "backslashreplace").decode()
    return headers


class PlatformRunContext:
    """MLflow run-context provider adding :func:`lineage_tags` on the platform."""

    def in_context(self) -> bool:
        """Active in platform kernels and jobs."""
        return on_platform()

    def tags(self) -> dict[str, str]:
        """The lineage tags."""
        return lineage_tags()


class PlatformRequestHeaders:
    """MLflow request-header provider adding :func:`origin_headers` on the platform."""

    def in_context(self) -> bool:
        """Active in platform kernels and jobs."""
        return on_platform()

    def request_headers(self) -> dict[str, str]:
        """The ``X-Nbp-*`` headers."""
        return origin_headers()
