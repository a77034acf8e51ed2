"""The lineage the platform writes on runs, logged models and model versions.

Pure functions, unit-tested without a server; the MLflow gateway calls them on
exactly the message it forwards.

* **Who** comes from the caller's token: ``mlflow.user`` and ``nbp.user``.
  MLflow's own client fills ``mlflow.user`` with the operating-system user, so
  a different value there is replaced; a different ``nbp.user`` (which only a
  platform client sends) is refused.
* **A job's run** is known from its token (the jobs capability recorded which
  run it was minted for, with the notebook, commit and dirty state it
  executes, see :func:`.audit.token_origin`): the platform writes
  ``nbp.job_id``, ``nbp.job_run_id``, ``nbp.profile``, ``nbp.notebook``,
  ``mlflow.source.name`` / ``type`` (``JOB``) / ``git.commit`` and
  ``nbp.git_dirty`` itself, whatever the client sent.
* **An interactive kernel** states which notebook, server and profile it runs
  (``nbp.notebook``, ``nbp.server``, ``nbp.profile``, ``nbp.git_dirty``, and
  MLflow's own ``mlflow.source.*``): a user controls their own kernel, so these
  are claims about their own work. A notebook must be a path inside the
  caller's own workspace, and one that the platform can see is not there is
  dropped.
* Anything else a client sends under a reserved key is refused: another user's
  name, a job or job run the token was not minted for, an unknown ``nbp.*`` key.
* **A model version** gets the lineage of the run it was made from (whatever
  client registered it) and ``nbp.registered_by``, the caller.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from nbplatform.errors import InvalidParameterError, PermissionDeniedError

USER, NBP_USER = "mlflow.user", "nbp.user"
JOB_ID, JOB_RUN_ID = "nbp.job_id", "nbp.job_run_id"
NOTEBOOK, SERVER, PROFILE, GIT_DIRTY = "nbp.notebook", "nbp.server", "nbp.profile", "nbp.git_dirty"
SOURCE_NAME, SOURCE_TYPE = "mlflow.source.name", "mlflow.source.type"
GIT_COMMIT = "mlflow.source.git.commit"
REGISTERED_BY = "nbp.registered_by"

#: Reserved keys: only the platform writes them once an object exists.
RESERVED = re.compile(r"^(?:mlflow\.user|nbp\..*)$")
#: On runs, MLflow's source tags are fixed at creation too.
RESERVED_ON_RUNS = re.compile(r"^(?:mlflow\.user|mlflow\.source\..*|nbp\..*)$")
#: What an interactive kernel may state about itself when it starts a run.
KERNEL_CLAIMS = (NOTEBOOK, SERVER, PROFILE, GIT_DIRTY)
#: Lineage copied from a run onto each model version registered from it.
VERSION_LINEAGE = (
    NOTEBOOK,
    NBP_USER,
    PROFILE,
    JOB_ID,
    JOB_RUN_ID,
    GIT_COMMIT,
    GIT_DIRTY,
    SOURCE_TYPE,
)
MAX_CLAIM = 1024
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class Origin:
    """Where a request comes from, as the platform knows it.

    Attributes:
        user: The caller (from the token).
        job_id: The job whose run the token was minted for.
        run_id: That job run.
        notebook: The notebook the job run executes (relative to the owner's workspace).
        git_commit: The commit of the repository holding it.
        git_dirty: Whether that repository had uncommitted changes.
        profile: The job's profile.
        workspace: The caller's workspace folder (``NBP_HOME/users/<user>``),
            where an interactive kernel's notebook must be.
    """

    user: str
    job_id: str | None = None
    run_id: str | None = None
    notebook: str | None = None
    git_commit: str | None = None
    git_dirty: bool | None = None
    profile: str | None = None
    workspace: Path | None = None

    @classmethod
    def of(cls, user: str, token_origin: Mapping[str, Any], workspace: Path | None) -> Origin:
        """Build it from the caller's name and :func:`.audit.token_origin`."""
        dirty = token_origin.get("git_dirty")
        return cls(
            user=user,
            job_id=token_origin.get("job_id"),
            run_id=token_origin.get("run_id"),
            notebook=token_origin.get("notebook"),
            git_commit=token_origin.get("git_commit"),
            git_dirty=None if dirty is None else bool(dirty),
            profile=token_origin.get("profile"),
            workspace=workspace,
        )

    @property
    def is_job(self) -> bool:
        """Whether the caller is a job's run."""
        return bool(self.job_id and self.run_id)


def _pairs(tags: Iterable[Any]) -> list[tuple[str, str]]:
    pairs = []
    for tag in tags:
        if isinstance(tag, Mapping):
            pairs.append((str(tag.get("key", "")), str(tag.get("value", ""))))
    return pairs


def platform_tags(origin: Origin) -> dict[str, str]:
    """The tags the platform writes on a new run (or logged model) of ``origin``."""
    tags = {USER: origin.user, NBP_USER: origin.user}
    if origin.is_job:
        assert origin.job_id is not None and origin.run_id is not None
        tags.update({JOB_ID: origin.job_id, JOB_RUN_ID: origin.run_id, SOURCE_TYPE: "JOB"})
        if origin.profile:
            tags[PROFILE] = origin.profile
        if origin.notebook:
            tags[NOTEBOOK] = origin.notebook
            tags[SOURCE_NAME] = origin.notebook
        if origin.git_commit:
            tags[GIT_COMMIT] = origin.git_commit
            tags[GIT_DIRTY] = "true" if origin.git_dirty else "false"
    return tags


def check_notebook_claim(value: str, workspace: Path | None) -> str | None:
    """Return an interactive kernel's notebook claim if it may stand, else ``None``.

    Args:
        value: The claimed ``nbp.notebook``.
        workspace: The caller's workspace, if the platform knows it.

    Returns:
        ``value`` when it is a path inside the workspace that exists (or that the
        platform cannot see into); ``None`` when the platform can see it is not there.

    Raises:
        InvalidParameterError: Not a relative path inside a workspace.
    """
    pure = PurePosixPath(value)
    if (
        not value
        or len(value) > MAX_CLAIM
        or pure.is_absolute()
        or value.startswith("~")
        or ".." in pure.parts
        or "\\" in value
        or any(ord(c) < 32 or ord(c) == 127 for c in value)
    ):
        raise InvalidParameterError(
            f"nbp.notebook {value[:200]!r} must be a path inside your workspace, "
            "e.g. 'notebooks/train.ipynb'."
        )
    if workspace is None:
        return value
    try:
        if not workspace.is_dir() or not os.access(workspace, os.R_OK | os.X_OK):
            return value  # a workspace only its owner may read: the claim stands
        root = workspace.resolve()
        path = (root / pure).resolve()
        return value if path.is_relative_to(root) and path.is_file() else None
    except OSError:
        return value


def creation_tags(client: Iterable[Any], origin: Origin) -> list[dict[str, str]]:
    """The tags a new run or logged model is created with.

    Args:
        client: The tags the client sent (``[{"key", "value"}]``).
        origin: Where the request comes from.

    Returns:
        The client's own tags, the claims that may stand, and the platform's
        tags (:func:`platform_tags`), each key once.

    Raises:
        PermissionDeniedError: A reserved tag that names someone or something
            else than the token does (another user, a job run it is not), or an
            ``nbp.*`` key the platform does not know.
        InvalidParameterError: A notebook claim that is not a path inside the
            caller's workspace, ``nbp.git_dirty`` other than ``true``/``false``.
    """
    ours = platform_tags(origin)
    kept: dict[str, str] = {}
    dropped: str | None = None
    for key, value in _pairs(client):
        if key == USER:
            continue  # MLflow's client sends the OS user; the token says who it is
        if key in (NBP_USER, JOB_ID, JOB_RUN_ID):
            if ours.get(key) != value:
                what = ours.get(key)
                raise PermissionDeniedError(
                    f"The tag {key!r} is the platform's: it writes "
                    f"{what!r} from your token, not {value[:200]!r}."
                    if what
                    else f"The tag {key!r} is the platform's: only a job's run carries it, "
                    "and your token was not minted for one."
                )
        elif RESERVED.match(key):
            if key not in KERNEL_CLAIMS:
                raise PermissionDeniedError(
                    f"The tag {key!r} is reserved: the platform writes nbp.* tags itself."
                )
            if origin.is_job:
                continue  # the platform knows what a job's run executes
            if key == GIT_DIRTY and value not in ("true", "false"):
                raise InvalidParameterError("nbp.git_dirty must be 'true' or 'false'.")
            if key == NOTEBOOK:
                claim = check_notebook_claim(value, origin.workspace)
                if claim is None:
                    dropped = value
                    continue
            kept[key] = value[:MAX_CLAIM]
        elif key.startswith("mlflow.source.") and origin.is_job:
            continue
        else:
            kept[key] = value
    if dropped is not None and kept.get(SOURCE_NAME) == dropped:
        del kept[SOURCE_NAME]  # the same claim, as MLflow's source
    kept.update(ours)
    return [{"key": k, "value": v} for k, v in kept.items()]


def run_of_source(source: str, run_id: str | None) -> str | None:
    """The run a model version is made from: its ``run_id``, or the one its source names."""
    if run_id:
        return run_id
    if source.startswith("runs:/"):
        candidate = source.removeprefix("runs:/").split("/", 1)[0]
        return candidate if _RUN_ID.match(candidate) else None
    match = re.match(r"^mlflow-artifacts:/\d+/([0-9a-f]{32})/artifacts", source)
    return match.group(1) if match else None


def version_tags(
    client: Iterable[Any], run_tags: Mapping[str, str], caller: str
) -> list[dict[str, str]]:
    """The tags a new model version is created with.

    Args:
        client: The tags the client sent (reserved ones were refused already).
        run_tags: The tags of the run it is made from (``{}`` when none).
        caller: Who registers it.

    Returns:
        The client's tags, the run's lineage (:data:`VERSION_LINEAGE`) and
        ``nbp.registered_by``.
    """
    tags = dict(_pairs(client))
    for key in VERSION_LINEAGE:
        if run_tags.get(key):
            tags[key] = run_tags[key]
    tags[REGISTERED_BY] = caller
    return [{"key": k, "value": v} for k, v in tags.items()]
