"""Lineage of runs started on the platform: notebook, user, profile, git commit, job.

:class:`PlatformRunContext` is an MLflow run-context provider (entry point
``mlflow.run_context_provider``): every ``mlflow.start_run`` in a platform kernel
or job gets these tags without any call from the notebook, and they override
MLflow's own guess of the source (``ipykernel_launcher.py``).
:class:`PlatformRequestHeaders` (entry point ``mlflow.request_header_provider``)
tells the gateway which server, job and notebook a request comes from, for the
audit log. Both read only the environment and the file system; neither imports
anything heavy.

These tags are what a kernel says about itself. The MLflow gateway writes the
user from the caller's token and, for a job's run, the whole lineage from the
run the token was minted for, whatever a client sends
(``nbplatform_hub.service.mlflow_lineage``).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: Tags set on every run started on the platform.
TAG_NOTEBOOK = "nbp.notebook"
TAG_USER = "nbp.user"
TAG_PROFILE = "nbp.profile"
TAG_SERVER = "nbp.server"
TAG_JOB_ID = "nbp.job_id"
TAG_JOB_RUN_ID = "nbp.job_run_id"
TAG_GIT_COMMIT = "mlflow.source.git.commit"
TAG_GIT_DIRTY = "nbp.git_dirty"
#: Git may read a repository's configuration, never run a program it names.
_GIT = ["git", "-c", "core.fsmonitor=false", "-c", "core.untrackedCache=false"]


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


def _git(folder: Path, *args: str, user: Any = None) -> subprocess.CompletedProcess[str] | None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(folder),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_OPTIONAL_LOCKS": "0",
        "GIT_TERMINAL_PROMPT": "0",
    }
    extra: dict[str, Any] = {}
    if user is not None and os.geteuid() != user.uid:
        extra = {"user": user.uid, "group": user.gid, "extra_groups": []}
    try:
        return subprocess.run(
            [*_GIT, *args],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=10,
            env=env,
            check=False,
            **extra,
        )
    except (OSError, subprocess.SubprocessError):
        return None


def git_state(path: Path, user: Any = None) -> tuple[str | None, bool | None]:
    """Return the commit of the git repository holding ``path`` and whether it is dirty.

    Args:
        path: A notebook (or a folder) inside the repository.
        user: A :class:`nbplatform_hub.host.SystemUser` to run git as (the
            notebook's owner, when the platform isolates users); the caller's
            own rights when omitted.

    Returns:
        ``(commit, dirty)``: dirty when tracked files have uncommitted changes or
        ``path`` itself is not committed; ``(None, None)`` outside a repository
        (or one without commits, or where git is missing).
    """
    folder = path if path.is_dir() else path.parent
    try:
        folder = folder.resolve()
        if not any((p / ".git").exists() for p in (folder, *folder.parents)):
            return None, None
    except OSError:
        return None, None
    head = _git(folder, "rev-parse", "--verify", "HEAD", user=user)
    if head is None or head.returncode != 0 or not head.stdout.strip():
        return None, None
    status = _git(folder, "status", "--porcelain", "--untracked-files=no", user=user)
    dirty = status is None or status.returncode != 0 or bool(status.stdout.strip())
    if not dirty and path.is_file():
        tracked = _git(folder, "ls-files", "--error-unmatch", "--", path.name, user=user)
        dirty = tracked is None or tracked.returncode != 0
    return head.stdout.strip(), dirty


def git_commit(start: Path | None = None) -> str | None:
    """Return the commit of the git repository holding ``start`` (cwd), if any."""
    return git_state(start or Path.cwd())[0]


def lineage_tags(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the lineage tags of a run started in this process.

    Args:
        env: The environment (``os.environ`` when omitted).

    Returns:
        Tags: notebook (also as ``mlflow.source.name``), user, profile, server,
        job and job run ids, git commit and dirty state; only those that are
        known. A job's run names its notebook, commit and dirty state in
        ``NBP_NOTEBOOK``, ``NBP_GIT_COMMIT`` and ``NBP_GIT_DIRTY`` (the platform
        writes the same on the MLflow run from the run's token whatever the
        kernel sends).
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
    if env.get("NBP_JOB_ID"):
        commit, dirty = env.get("NBP_GIT_COMMIT") or None, env.get("NBP_GIT_DIRTY") or None
    else:
        where = Path(notebook) if notebook and Path(notebook).is_absolute() else Path.cwd()
        found, is_dirty = git_state(where)
        commit, dirty = found, (None if is_dirty is None else str(is_dirty).lower())
    if commit:
        tags[TAG_GIT_COMMIT] = commit
        if dirty in ("true", "false"):
            tags[TAG_GIT_DIRTY] = dirty
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
