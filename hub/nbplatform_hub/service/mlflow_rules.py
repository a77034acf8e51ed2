"""Which platform scope each request to the MLflow gateway needs.

Pure functions, so the rules are unit-tested without a server. A request is
classified by its method and its path under ``/services/platform/mlflow/``
(and, for alias and GraphQL requests, by its small JSON body):

* reads (``GET``, searches sent as ``POST``, the UI's static files) need
  ``models:read``;
* creating experiments, runs, logged models, model versions, logging, artifact
  uploads and every other write need ``models:write``;
* setting or deleting a protected alias (``champion`` and ``previous-champion`` by
  default), deleting or renaming registered models and versions, stage
  transitions, and anything on MLflow's AI gateway, webhooks or workspaces
  need ``models:approve``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote

from nbplatform.errors import InvalidParameterError

READ = "custom:nbplatform:models:read"
WRITE = "custom:nbplatform:models:write"
APPROVE = "custom:nbplatform:models:approve"

#: REST prefixes of MLflow's API (``api``) and of its UI's calls (``ajax-api``).
_API_RE = re.compile(r"^(?:ajax-)?api/[23]\.0/(?P<ns>mlflow|mlflow-artifacts)/(?P<rest>.*)$")

#: Endpoints answered to ``POST`` that only read.
_POST_READS = re.compile(
    r"(?:^|/)(?:search|search-datasets|get-latest-versions|batchGetInfos|metrics|"
    r"calculate-filter-correlation|presigned-download-url)$"
)

#: Endpoints that need ``models:approve`` whatever the method.
_APPROVE_ALWAYS = re.compile(
    r"^(?:registered-models/(?:delete|rename)|model-versions/(?:delete|transition-stage)|"
    r"gateway/.*|webhooks(?:/.*)?|workspaces(?:/.*)?)$"
)

_METHODS_READ = {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True)
class Decision:
    """What one gateway request needs.

    Attributes:
        scope: The platform scope the caller must hold.
        action: A short name for the audit log, e.g. ``registered-models/alias``.
        write: Whether the request changes anything (writes are audited).
        resource: What it acts on, when known (``model@alias``, an artifact path).
    """

    scope: str
    action: str
    write: bool
    resource: str | None = None


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
    """Refuse paths that try to leave their folder.

    Args:
        path: The path under the gateway, percent-decoded or not.

    Returns:
        The path, unchanged.

    Raises:
        InvalidParameterError: A ``..`` segment (also percent-encoded) or a backslash.
    """
    decoded = unquote(unquote(path))
    if "\\" in decoded or any(part == ".." for part in decoded.split("/")):
        raise InvalidParameterError(
            f"The path {path!r} contains '..': artifact paths must stay inside their run."
        )
    return path


def _body_fields(body: bytes | None, query: str) -> dict[str, str]:
    fields: dict[str, str] = {k: v[0] for k, v in parse_qs(query).items()}
    if body:
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if isinstance(data, Mapping):
            fields.update({k: str(v) for k, v in data.items() if isinstance(v, str | int)})
    return fields


def _is_mutation(body: bytes | None) -> bool:
    """Whether a GraphQL request body is (or may be) a mutation."""
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return True
    queries = data if isinstance(data, list) else [data]
    for item in queries:
        query = item.get("query", "") if isinstance(item, Mapping) else ""
        if not isinstance(query, str) or re.search(r"\bmutation\b", query):
            return True
    return False


def classify(
    method: str,
    path: str,
    protected: frozenset[str],
    body: bytes | None = None,
    query: str = "",
) -> Decision:
    """Decide which scope a gateway request needs.

    Args:
        method: The HTTP method.
        path: The path below ``mlflow/`` (no leading slash, no query).
        protected: Aliases only admins may move (see :func:`protected_names`).
        body: The request body, for requests that need it (aliases, GraphQL).
        query: The query string.

    Returns:
        The decision.

    Raises:
        InvalidParameterError: The path contains ``..``.
    """
    method = method.upper()
    check_path(path)
    fields = _body_fields(body, query) if body is not None or query else {}
    match = _API_RE.match(path)
    if match is None:
        if path.rstrip("/").endswith("graphql") and method == "POST":
            if _is_mutation(body):
                return Decision(WRITE, "graphql/mutation", True)
            return Decision(READ, "graphql", False)
        # The UI: static files, index page, artifact downloads for the browser.
        if method in _METHODS_READ:
            return Decision(READ, "ui", False)
        return Decision(WRITE, f"ui/{path}", True)
    namespace, rest = match.group("ns"), match.group("rest").rstrip("/")
    if namespace == "mlflow-artifacts":
        resource = rest.partition("/")[2] or None
        if method in _METHODS_READ:
            return Decision(READ, "artifacts/get", False, resource)
        if method == "DELETE":
            return Decision(WRITE, "artifacts/delete", True, resource)
        return Decision(WRITE, "artifacts/put", True, resource)
    model = fields.get("name")
    if rest == "registered-models/alias" and method in {"POST", "DELETE"}:
        alias = fields.get("alias", "")
        resource = f"{model}@{alias}"
        verb = "set" if method == "POST" else "delete"
        if alias in protected:
            return Decision(APPROVE, f"registered-models/alias/{verb}", True, resource)
        return Decision(WRITE, f"registered-models/alias/{verb}", True, resource)
    if _APPROVE_ALWAYS.match(rest):
        write = not (rest.startswith(("gateway/", "webhooks", "workspaces")) and method == "GET")
        resource = f"{model}/{fields['version']}" if model and "version" in fields else model
        return Decision(APPROVE, rest, write, resource)
    if method in _METHODS_READ or (method == "POST" and _POST_READS.search(rest)):
        return Decision(READ, rest, False, model)
    return Decision(WRITE, rest, True, model)
