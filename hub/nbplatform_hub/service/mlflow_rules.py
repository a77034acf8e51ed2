"""What each request to the MLflow gateway needs: a scope, and a permission on an object.

Pure functions, unit-tested without a server. :func:`classify` takes the request
as :mod:`.mlflow_endpoints` parsed it (the very message the gateway forwards)
and says:

* the platform scope: ``models:read`` for reads (``GET``, searches sent as
  ``POST``, the UI); ``models:write`` for creating and changing tracking and
  registry objects; ``models:approve`` for moving protected aliases
  (``champion``, ``previous-champion``), deleting or renaming registered models
  and versions, stage transitions, and every write to a part of MLflow the
  platform does not govern object by object (tracing, GenAI, AI gateway,
  webhooks, workspaces, anything new);
* the object it changes and the permission that needs (:class:`Target`, checked
  by the gateway against :mod:`.mlflow_ownership`);
* what it creates (the caller becomes its owner);
* refusals that need no lookup: a client-chosen artifact location, reserved
  tags (``mlflow.user`` and ``nbp.*`` are the platform's, and on an existing run
  ``mlflow.source.*`` too; see :mod:`.mlflow_lineage`), a model version
  source outside MLflow's artifact store, a path that leaves its folder.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from nbplatform.errors import InvalidParameterError, PermissionDeniedError

from ..roles import MODELS_APPROVE, MODELS_READ, MODELS_WRITE
from .mlflow_endpoints import ApiRequest
from .mlflow_lineage import RESERVED, RESERVED_ON_RUNS
from .mlflow_ownership import (
    EDIT,
    EXPERIMENT,
    LOGGED_MODEL,
    MANAGE,
    REGISTERED_MODEL,
    RUN,
)

READ, WRITE, APPROVE = MODELS_READ, MODELS_WRITE, MODELS_APPROVE

#: ``POST`` endpoints that only read.
_POST_READS = re.compile(
    r"(?:^|/)(?:search|search-datasets|get-latest-versions|batchGetInfos|metrics|"
    r"calculate-filter-correlation|presigned-download-url|ui-telemetry)$"
)
#: Artifact paths the gateway lets clients write: inside a run or a logged model.
_RUN_ARTIFACTS = re.compile(r"^(?P<exp>\d+)/(?P<run>[0-9a-f]{32})/artifacts(?:/.*)?$")
_MODEL_ARTIFACTS = re.compile(r"^(?P<exp>\d+)/models/(?P<model>m-[0-9a-f]{32})/artifacts(?:/.*)?$")
_METHODS_READ = {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True)
class Target:
    """An object a request changes and the permission that needs.

    Attributes:
        kind: ``experiment``, ``run``, ``logged_model``, ``registered_model``.
        key: Its id (a registered model's name).
        level: ``EDIT`` or ``MANAGE``.
        experiment_id: The experiment the path says a run or logged model is in
            (artifact paths): the gateway checks it is the object's own.
        shared_ok: Starting a run in a shared experiment (no recorded owner) is allowed.
    """

    kind: str
    key: str
    level: int
    experiment_id: str | None = None
    shared_ok: bool = False


@dataclass(frozen=True)
class Decision:
    """What one gateway request needs.

    Attributes:
        scope: The platform scope the caller must hold.
        action: A short name for the audit log, e.g. ``registered-models/alias/set``.
        write: Whether the request changes anything (writes are audited).
        resource: What it acts on (``model@alias``, ``run:<id>``, an artifact path).
        target: The object whose permission is checked, if any.
        creates: The kind of object the caller will own if MLflow says yes.
        model: The registered model it touches (for the audit log).
        version: The model version it touches.
        alias: The alias it touches.
        governed: It points a protected alias somewhere: with four eyes on
            (``NBP_PROMOTION_SELF_APPROVAL`` unset) only an approved promotion
            request does that, never a direct call.
    """

    scope: str
    action: str
    write: bool
    resource: str | None = None
    target: Target | None = None
    creates: str | None = None
    model: str | None = None
    version: str | None = None
    alias: str | None = None
    governed: bool = False


def protected_names(aliases: Iterable[str]) -> frozenset[str]:
    """Return the protected aliases and their ``previous-`` companions.

    Args:
        aliases: The configured protected aliases (``NBP_PROTECTED_ALIASES``).

    Returns:
        Every alias only platform-admins may set or delete.
    """
    names = {a.strip() for a in aliases if a.strip()}
    return frozenset(names | {f"previous-{a}" for a in names})


def check_path(path: str) -> str:
    """Refuse paths that try to leave their folder or that no file system should see.

    Args:
        path: A decoded path (artifact path, path below the gateway).

    Returns:
        The path, unchanged.

    Raises:
        InvalidParameterError: A ``..`` segment (also percent-encoded once more),
            a backslash, a NUL or other control character, or an absolute path.
    """
    decoded = unquote(path)
    for candidate in (path, decoded):
        if "\\" in candidate or any(ord(c) < 0x20 or c == "\x7f" for c in candidate):
            raise InvalidParameterError(
                f"The path {path[:200]!r} contains a backslash or a control character."
            )
        if any(part in ("..", ".") for part in candidate.split("/")):
            raise InvalidParameterError(
                f"The path {path[:200]!r} contains '..' or '.': paths must stay inside their run."
            )
    return path


def _refuse_reserved(tags: Iterable[Any], where: str, reserved: re.Pattern[str] = RESERVED) -> None:
    for tag in tags:
        key = tag.get("key", "") if isinstance(tag, Mapping) else str(tag)
        if reserved.match(key):
            also = ", mlflow.source.*" if reserved is RESERVED_ON_RUNS else ""
            raise PermissionDeniedError(
                f"The tag {key!r} is reserved: the platform writes mlflow.user{also} and "
                f"nbp.* {where} itself."
            )


def _artifact_target(path: str, level: int) -> Target:
    check_path(path)
    run = _RUN_ARTIFACTS.match(path)
    if run:
        return Target(RUN, run.group("run"), level, experiment_id=run.group("exp"))
    model = _MODEL_ARTIFACTS.match(path)
    if model:
        return Target(LOGGED_MODEL, model.group("model"), level, experiment_id=model.group("exp"))
    raise PermissionDeniedError(
        f"Artifacts are written inside a run or a logged model "
        f"(<experiment>/<run>/artifacts/...), not at {path[:200]!r}."
    )


def classify_ui(method: str, path: str) -> Decision:
    """Decide on a request outside MLflow's REST API: the UI and its downloads.

    Reads (the UI's files, ``get-artifact``, ``model-versions/get-artifact``) need
    ``models:read``; anything else there (none of it is needed by the UI to show
    tracking data) is for platform-admins.

    Args:
        method: The HTTP method.
        path: The decoded path below ``mlflow/``.

    Returns:
        The decision.
    """
    method = method.upper()
    name = path.rstrip("/")
    if method in _METHODS_READ or (method == "POST" and _POST_READS.search(name)):
        return Decision(READ, "ui", False)
    return Decision(APPROVE, f"ui/{name[:200]}", True, name[:512])


def classify_graphql(body: Any) -> Decision:
    """GraphQL: queries read; anything else (mutations, unparseable) is for admins."""
    items = body if isinstance(body, list) else [body]
    for item in items:
        query = item.get("query") if isinstance(item, Mapping) else None
        if not isinstance(query, str) or re.search(r"\b(?:mutation|subscription)\b", query):
            return Decision(APPROVE, "graphql/mutation", True)
    return Decision(READ, "graphql", False)


def classify(request: ApiRequest, protected: frozenset[str]) -> Decision:
    """Decide what an MLflow API request needs.

    Args:
        request: The parsed request (:func:`.mlflow_endpoints.parse`).
        protected: Aliases only admins may move (see :func:`protected_names`).

    Returns:
        The decision.

    Raises:
        InvalidParameterError: A path that leaves its folder, a client-chosen
            artifact location, a model version source outside the artifact store.
        PermissionDeniedError: A reserved tag.
    """
    endpoint, p = request.endpoint, request.params
    method, name = endpoint.method, endpoint.name
    if endpoint.template.startswith("mlflow-artifacts/"):
        return _classify_artifacts(request)
    if method in _METHODS_READ or (method == "POST" and _POST_READS.search(name)):
        return Decision(READ, name, False)
    rule = _RULES.get((method, name))
    if rule is None or endpoint.request_class is None:
        # Tracing, GenAI, the AI gateway, webhooks, workspaces, anything new.
        return Decision(APPROVE, name, True, name)
    return rule(p, protected, request.path_params)


def _classify_artifacts(request: ApiRequest) -> Decision:
    method = request.endpoint.method
    path = request.path_params.get("artifact_path") or request.params.get("path") or ""
    check_path(path)
    if path.startswith("/") or "//" in path or ":" in path.split("/", 1)[0]:
        raise InvalidParameterError(
            f"The artifact path {path[:200]!r} must be relative: <experiment>/<run>/artifacts/..."
        )
    if method in _METHODS_READ:
        return Decision(READ, "artifacts/get", False, path or None)
    verb = "delete" if method == "DELETE" else "put"
    return Decision(WRITE, f"artifacts/{verb}", True, path, _artifact_target(path, EDIT))


# Rules per endpoint ------------------------------------------------------------------
def _experiment(level: int, action: str) -> Any:
    def rule(p: dict[str, Any], _protected: frozenset[str], _path: dict[str, str]) -> Decision:
        experiment = str(p.get("experiment_id", ""))
        if action.endswith("tag"):
            _refuse_reserved([p], "on experiments")
        return Decision(
            WRITE, action, True, f"experiment:{experiment}", Target(EXPERIMENT, experiment, level)
        )

    return rule


def _create_experiment(p: dict[str, Any], *_: Any) -> Decision:
    if p.get("artifact_location"):
        raise InvalidParameterError(
            "artifact_location is chosen by the platform: create the experiment without it."
        )
    _refuse_reserved(p.get("tags", []), "on experiments")
    return Decision(
        WRITE, "experiments/create", True, f"experiment:{p.get('name', '')}", creates=EXPERIMENT
    )


def _create_run(p: dict[str, Any], *_: Any) -> Decision:
    experiment = str(p.get("experiment_id") or "0")
    return Decision(
        WRITE,
        "runs/create",
        True,
        f"experiment:{experiment}",
        Target(EXPERIMENT, experiment, EDIT, shared_ok=True),
        creates=RUN,
    )


def _run(level: int, action: str, tags: str | None = None) -> Any:
    def rule(p: dict[str, Any], _protected: frozenset[str], _path: dict[str, str]) -> Decision:
        run = str(p.get("run_id") or p.get("run_uuid") or "")
        if tags == "one":
            _refuse_reserved([p], "on runs", RESERVED_ON_RUNS)
        elif tags == "batch":
            _refuse_reserved(p.get("tags", []), "on runs", RESERVED_ON_RUNS)
        return Decision(WRITE, action, True, f"run:{run}", Target(RUN, run, level))

    return rule


def _create_logged_model(p: dict[str, Any], *_: Any) -> Decision:
    experiment = str(p.get("experiment_id", ""))
    return Decision(
        WRITE,
        "logged-models/create",
        True,
        f"experiment:{experiment}",
        Target(EXPERIMENT, experiment, EDIT, shared_ok=True),
        creates=LOGGED_MODEL,
    )


def _logged_model(level: int, action: str, tags: bool = False) -> Any:
    def rule(p: dict[str, Any], _protected: frozenset[str], path: dict[str, str]) -> Decision:
        model = path.get("model_id", "")
        if tags:
            _refuse_reserved(p.get("tags", []) or [{"key": path.get("tag_key", "")}], "")
        return Decision(
            WRITE, action, True, f"logged-model:{model}", Target(LOGGED_MODEL, model, level)
        )

    return rule


def _create_registered_model(p: dict[str, Any], *_: Any) -> Decision:
    _refuse_reserved(p.get("tags", []), "on registered models")
    name = p.get("name")
    return Decision(
        WRITE, "registered-models/create", True, name, creates=REGISTERED_MODEL, model=name
    )


def _version_of(p: dict[str, Any]) -> str | None:
    return str(p["version"]) if p.get("version") not in (None, "") else None


def _registered_model(level: int, action: str, tags: bool = False) -> Any:
    def rule(p: dict[str, Any], _protected: frozenset[str], _path: dict[str, str]) -> Decision:
        name = str(p.get("name", ""))
        if tags:
            _refuse_reserved([p], "on registered models and versions")
        resource = f"{name}/{p['version']}" if "version" in p else name
        return Decision(
            WRITE,
            action,
            True,
            resource,
            Target(REGISTERED_MODEL, name, level),
            model=name,
            version=_version_of(p),
        )

    return rule


def _admin(action: str) -> Any:
    def rule(p: dict[str, Any], _protected: frozenset[str], _path: dict[str, str]) -> Decision:
        name = p.get("name")
        resource = f"{name}/{p['version']}" if name and "version" in p else name
        return Decision(APPROVE, action, True, resource, model=name, version=_version_of(p))

    return rule


def _alias(verb: str) -> Any:
    def rule(p: dict[str, Any], protected: frozenset[str], _path: dict[str, str]) -> Decision:
        name, alias = str(p.get("name", "")), str(p.get("alias", ""))
        action = f"registered-models/alias/{verb}"
        names = {"model": name, "alias": alias, "version": _version_of(p)}
        if alias in protected:
            return Decision(
                APPROVE, action, True, f"{name}@{alias}", governed=verb == "set", **names
            )
        return Decision(
            WRITE, action, True, f"{name}@{alias}", Target(REGISTERED_MODEL, name, EDIT), **names
        )

    return rule


#: Sources a model version may point at: the run's or a logged model's artifacts.
_SOURCE = re.compile(
    r"^(?:runs:/[0-9a-f]{32}(?:/.*)?|models:/m-[0-9a-f]{32}|"
    r"mlflow-artifacts:/\d+/(?:[0-9a-f]{32}/artifacts|models/m-[0-9a-f]{32}/artifacts)(?:/.*)?)$"
)


def _create_model_version(p: dict[str, Any], *_: Any) -> Decision:
    source = str(p.get("source", ""))
    if not _SOURCE.match(source) or ".." in source.split("/"):
        raise InvalidParameterError(
            f"A model version's source must be a run's or a logged model's artifacts "
            f"(runs:/<run>/..., models:/m-..., mlflow-artifacts:/...), not {source[:200]!r}."
        )
    _refuse_reserved(p.get("tags", []), "on model versions")
    name = str(p.get("name", ""))
    return Decision(
        WRITE,
        "model-versions/create",
        True,
        name,
        Target(REGISTERED_MODEL, name, EDIT),
        model=name,
    )


_RULES: dict[tuple[str, str], Any] = {
    ("POST", "experiments/create"): _create_experiment,
    ("POST", "experiments/update"): _experiment(EDIT, "experiments/update"),
    ("POST", "experiments/set-experiment-tag"): _experiment(EDIT, "experiments/set-tag"),
    ("POST", "experiments/delete-experiment-tag"): _experiment(EDIT, "experiments/delete-tag"),
    ("POST", "experiments/delete"): _experiment(MANAGE, "experiments/delete"),
    ("POST", "experiments/restore"): _experiment(MANAGE, "experiments/restore"),
    ("POST", "runs/create"): _create_run,
    ("POST", "runs/update"): _run(EDIT, "runs/update"),
    ("POST", "runs/log-metric"): _run(EDIT, "runs/log-metric"),
    ("POST", "runs/log-parameter"): _run(EDIT, "runs/log-parameter"),
    ("POST", "runs/set-tag"): _run(EDIT, "runs/set-tag", tags="one"),
    ("POST", "runs/delete-tag"): _run(EDIT, "runs/delete-tag", tags="one"),
    ("POST", "runs/log-batch"): _run(EDIT, "runs/log-batch", tags="batch"),
    ("POST", "runs/log-model"): _run(EDIT, "runs/log-model"),
    ("POST", "runs/log-inputs"): _run(EDIT, "runs/log-inputs"),
    ("POST", "runs/outputs"): _run(EDIT, "runs/outputs"),
    ("POST", "runs/delete"): _run(MANAGE, "runs/delete"),
    ("POST", "runs/restore"): _run(MANAGE, "runs/restore"),
    ("POST", "logged-models"): _create_logged_model,
    ("PATCH", "logged-models/{model_id}"): _logged_model(EDIT, "logged-models/finalize"),
    ("DELETE", "logged-models/{model_id}"): _logged_model(MANAGE, "logged-models/delete"),
    ("PATCH", "logged-models/{model_id}/tags"): _logged_model(
        EDIT, "logged-models/set-tags", tags=True
    ),
    ("DELETE", "logged-models/{model_id}/tags/{tag_key}"): _logged_model(
        EDIT, "logged-models/delete-tag", tags=True
    ),
    ("POST", "logged-models/{model_id}/params"): _logged_model(EDIT, "logged-models/log-params"),
    ("POST", "registered-models/create"): _create_registered_model,
    ("PATCH", "registered-models/update"): _registered_model(EDIT, "registered-models/update"),
    ("POST", "registered-models/set-tag"): _registered_model(
        EDIT, "registered-models/set-tag", tags=True
    ),
    ("DELETE", "registered-models/delete-tag"): _registered_model(
        EDIT, "registered-models/delete-tag", tags=True
    ),
    ("POST", "registered-models/alias"): _alias("set"),
    ("DELETE", "registered-models/alias"): _alias("delete"),
    ("POST", "registered-models/rename"): _admin("registered-models/rename"),
    ("DELETE", "registered-models/delete"): _admin("registered-models/delete"),
    ("POST", "model-versions/create"): _create_model_version,
    ("PATCH", "model-versions/update"): _registered_model(EDIT, "model-versions/update"),
    ("POST", "model-versions/set-tag"): _registered_model(
        EDIT, "model-versions/set-tag", tags=True
    ),
    ("DELETE", "model-versions/delete-tag"): _registered_model(
        EDIT, "model-versions/delete-tag", tags=True
    ),
    ("DELETE", "model-versions/delete"): _admin("model-versions/delete"),
    ("POST", "model-versions/transition-stage"): _admin("model-versions/transition-stage"),
}


def governed_endpoints() -> frozenset[tuple[str, str]]:
    """The ``(method, endpoint)`` pairs with an object-level rule (for the enumeration test)."""
    return frozenset(_RULES)
