"""MLflow's REST endpoints, and requests to them in the one form MLflow will act on.

The gateway decides on a request and MLflow then acts on it; both must read the
same thing. MLflow reads a ``GET``'s parameters from the query string (repeated
fields as lists, others as the *first* value) but a body-less, query-less ``GET``
from its JSON body; every other method from the JSON body, which it decodes a
second time when it is a JSON *string*, accepting each field under its protobuf
name or its camelCase JSON name. A rule that reads the body another way can be
walked around (a double-encoded alias body moved ``champion``).

So the gateway parses every API request once, here, into MLflow's own protobuf
request message (unknown fields, duplicate keys, ambiguous spellings, non-object
bodies, wrong types: refused), decides on that message, and forwards *its*
canonical serialisation (:func:`canonical`), never the client's bytes. The
endpoint table comes from MLflow's own service descriptors, so a new MLflow
release brings its new endpoints with it; those the rules do not know are
admin-only (see :mod:`.mlflow_rules`).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from nbplatform.errors import InvalidParameterError

from .json_input import MAX_JSON_DEPTH, check_argument, parse_json

#: The largest JSON body of an API call (a log-batch of 1,000 metrics is ~100 KB).
MAX_JSON_BODY = 8 * 1024 * 1024

#: The longest string MLflow's database holds for a request field, by endpoint family
#: (the first segment of the endpoint) and field name at any depth (``tags[].key`` is
#: ``key``): the column sizes of MLflow's own SQLAlchemy models (a test compares
#: them). SQLite stores a longer one whole; MySQL and PostgreSQL fail, and MLflow
#: answers 500. The gateway refuses it first, naming the field.
COLUMN_LIMITS: dict[str, dict[str, int]] = {
    "experiments": {"name": 256, "new_name": 256, "experiment_name": 256, "key": 250},
    "runs": {"run_name": 250, "user_id": 256, "key": 250, "value": 8000},
    "logged-models": {"name": 500, "model_type": 500, "key": 255, "value": 8000},
    "traces": {"key": 250, "value": 8000},
    "registered-models": {
        "name": 256,
        "new_name": 256,
        "description": 5000,
        "key": 250,
        "value": 5000,
        "alias": 256,
    },
    "model-versions": {
        "name": 256,
        "description": 5000,
        "key": 250,
        "value": 100_000,  # a text column; MLflow itself takes at most this
        "source": 500,
        "run_link": 500,
    },
    "webhooks": {"name": 256, "description": 1000, "url": 500},
}
#: Ids (``run_id``, ``experiment_ids``...) and page tokens: MLflow's are far shorter
#: (MLflow answers an over-long page token with a 500).
MAX_ID = 256

#: Path parameters as the protobuf options spell them: ``{model_id}``, ``<path:artifact_path>``.
_PARAMETER = re.compile(r"\{(?P<name>[\w.]+)\}|<(?:(?P<converter>\w+):)?(?P<flask>\w+)>")
_API_PREFIX = re.compile(r"^(?P<ajax>ajax-)?api/(?P<major>[23])\.0/(?P<rest>.*)$")


@dataclass(frozen=True)
class Endpoint:
    """One MLflow REST endpoint.

    Attributes:
        method: ``GET``, ``POST``, ``PATCH``, ``DELETE`` or ``PUT``.
        template: The path below ``api/<major>.0/``, e.g. ``mlflow/runs/create`` or
            ``mlflow/logged-models/{model_id}``.
        major: The API version (2 or 3).
        request_class: The protobuf request message, or ``None`` for endpoints
            MLflow serves without one (their bodies are strict JSON objects).
    """

    method: str
    template: str
    major: int
    request_class: Any = None

    @functools.cached_property
    def pattern(self) -> re.Pattern[str]:
        """A regular expression matching the concrete path, capturing path parameters."""
        regex, last = "", 0
        for found in _PARAMETER.finditer(self.template):
            regex += re.escape(self.template[last : found.start()])
            name = (found.group("name") or found.group("flask")).rsplit(".", 1)[-1]
            greedy = found.group("converter") == "path"
            regex += f"(?P<{name}>.+)" if greedy else f"(?P<{name}>[^/]+)"
            last = found.end()
        regex += re.escape(self.template[last:])
        return re.compile(f"^{regex}$")

    @property
    def name(self) -> str:
        """The template without its ``mlflow/`` or ``mlflow-artifacts/`` namespace."""
        return self.template.split("/", 1)[1]


@dataclass
class ApiRequest:
    """A parsed request to one MLflow API endpoint.

    Attributes:
        endpoint: What it calls.
        path_params: Parameters taken from the path (``model_id``, ``path``...).
        params: The request message as a plain dict with protobuf field names.
        ajax: Whether it came through the UI's ``ajax-api`` prefix.
    """

    endpoint: Endpoint
    path_params: dict[str, str]
    params: dict[str, Any] = field(default_factory=dict)
    ajax: bool = False


@functools.cache
def catalogue() -> tuple[Endpoint, ...]:
    """Every endpoint MLflow's protobuf services declare, in MLflow's order.

    The services: tracking, model registry, artifacts, webhooks.

    Returns:
        The endpoints.
    """
    from mlflow.protos import (
        databricks_pb2,
        mlflow_artifacts_pb2,
        model_registry_pb2,
        service_pb2,
        webhooks_pb2,
    )

    endpoints: list[Endpoint] = []
    for service in (
        service_pb2.MlflowService,
        model_registry_pb2.ModelRegistryService,
        mlflow_artifacts_pb2.MlflowArtifactsService,
        webhooks_pb2.WebhookService,
    ):
        for method in service.DESCRIPTOR.methods:
            request_class = service().GetRequestClass(method)
            for rpc in method.GetOptions().Extensions[databricks_pb2.rpc].endpoints:
                endpoints.append(
                    Endpoint(
                        method=rpc.method,
                        template=rpc.path.lstrip("/"),
                        major=rpc.since.major or 2,
                        request_class=request_class,
                    )
                )
    return tuple(endpoints)


def find(method: str, path: str) -> ApiRequest | None:
    """Return the endpoint a decoded gateway path calls, or ``None`` if it is no API call.

    Args:
        method: The HTTP method (``HEAD`` is looked up as ``GET``).
        path: The decoded path below ``mlflow/`` (``api/2.0/mlflow/runs/get``).

    Returns:
        The endpoint and its path parameters; for an API path that matches no
        protobuf endpoint, a request with ``request_class=None`` (see :func:`parse`).
    """
    match = _API_PREFIX.match(path)
    if match is None:
        return None
    method = "GET" if method.upper() == "HEAD" else method.upper()
    major, rest = int(match.group("major")), match.group("rest").rstrip("/")
    for endpoint in catalogue():
        if endpoint.major != major or endpoint.method != method:
            continue
        found = endpoint.pattern.match(rest)
        if found:
            return ApiRequest(endpoint, found.groupdict(), ajax=bool(match.group("ajax")))
    return ApiRequest(Endpoint(method, rest, major), {}, ajax=bool(match.group("ajax")))


def loads(body: bytes) -> Any:
    """Parse a JSON body strictly (the platform's one reader, up to :data:`MAX_JSON_BODY`).

    Raises:
        InvalidParameterError: Not UTF-8, not JSON, a duplicate key, ``NaN``, too
            deep or too large.
    """
    return parse_json(body, max_bytes=MAX_JSON_BODY, max_depth=MAX_JSON_DEPTH)


def parse(request: ApiRequest, query: str, body: bytes | None) -> ApiRequest:
    """Fill ``request.params`` from the query (``GET``) or the JSON body (other methods).

    Args:
        request: What :func:`find` returned.
        query: The raw query string.
        body: The raw body (``None`` or empty when there is none).

    Returns:
        ``request``, with ``params`` set to the message MLflow will act on.

    Raises:
        InvalidParameterError: Anything MLflow might read differently from the
            gateway: a body on a ``GET``, a query on a write, a body that is not a
            JSON object, a duplicate or unknown field, a field spelled two ways, a
            value of the wrong type.
    """
    endpoint = request.endpoint
    if endpoint.method == "GET":
        if body:
            raise InvalidParameterError("A GET request to MLflow's API carries no body.")
        data: dict[str, Any] = _query_dict(endpoint, query)
    else:
        if query and endpoint.request_class is not None:
            raise InvalidParameterError(
                f"{endpoint.method} {endpoint.name} takes its parameters in the JSON body, "
                "not in the query string."
            )
        data = loads(body) if body else {}
        if not isinstance(data, dict):
            raise InvalidParameterError(
                "The request body must be a JSON object (a JSON string holding one is refused)."
            )
    if endpoint.request_class is not None:
        # Path parameters that are fields too: the path wins (MLflow checks both).
        fields = {f.name for f in endpoint.request_class.DESCRIPTOR.fields}
        in_path = {k: v for k, v in request.path_params.items() if k in fields}
        data = _through_message(endpoint, {**data, **in_path})
        check_lengths(endpoint, data)
    request.params = data
    return request


def _limit(family: dict[str, int], name: str) -> int | None:
    if name in family:
        return family[name]
    if name.endswith(("_id", "_ids", "_uuid")) or name == "page_token":
        return MAX_ID
    return None


def check_lengths(endpoint: Endpoint, params: Any) -> None:
    """Refuse a string longer than MLflow stores for its field (:data:`COLUMN_LIMITS`).

    Raises:
        InvalidParameterError: Naming the field (``tags.0.value``) and the limit.
    """
    family = COLUMN_LIMITS.get(endpoint.name.split("/", 1)[0], {})
    stack: list[tuple[Any, str, str]] = [(params, "", "")]
    while stack:
        node, where, name = stack.pop()
        if isinstance(node, str):
            limit = _limit(family, name)
            if limit is not None and len(node) > limit:
                raise InvalidParameterError(
                    f"{where}: longer than the {limit} characters MLflow stores "
                    f"({len(node)}); send less."
                )
        elif isinstance(node, dict):
            stack += [(v, f"{where}.{k}" if where else k, k) for k, v in node.items()]
        elif isinstance(node, list):
            stack += [(v, f"{where}.{i}", name) for i, v in enumerate(node)]


def _query_dict(endpoint: Endpoint, query: str) -> dict[str, Any]:
    pairs = query_pairs(query)
    repeated = _repeated_fields(endpoint)
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in repeated:
            data.setdefault(key, []).append(value)
        elif key in data:
            raise InvalidParameterError(f"The query repeats the parameter {key!r}.")
        else:
            data[key] = value
    return data


def query_pairs(query: str, strict: bool = True) -> list[tuple[str, str]]:
    """The decoded ``(name, value)`` pairs of a raw query string, each checked.

    ``strict``: a field without ``=`` is malformed (else it is a blank value).

    Raises:
        InvalidParameterError: Malformed, or a name or value that is not UTF-8,
            too long or holds a control character (:func:`.json_input.check_argument`),
            naming the parameter.
    """
    try:
        pairs = parse_qsl(
            query,
            keep_blank_values=True,
            strict_parsing=strict and bool(query),
            errors="surrogateescape",
        )
    except ValueError:
        raise InvalidParameterError("The query string is malformed.") from None
    return [
        (check_argument("a query parameter's name", key), check_argument(key, value))
        for key, value in pairs
    ]


def _repeated_fields(endpoint: Endpoint) -> set[str]:
    if endpoint.request_class is None:
        return set()
    return {
        f.name
        for f in endpoint.request_class.DESCRIPTOR.fields
        if (f.is_repeated if hasattr(f, "is_repeated") else f.label == f.LABEL_REPEATED)
    }


def _through_message(endpoint: Endpoint, data: dict[str, Any]) -> dict[str, Any]:
    """Parse ``data`` into the endpoint's protobuf message and back, with proto field names."""
    from google.protobuf.json_format import ParseDict, ParseError
    from mlflow.utils.proto_json_utils import message_to_json

    descriptor = endpoint.request_class.DESCRIPTOR
    _refuse_two_spellings(data, descriptor)
    if endpoint.method == "GET":
        data = _typed_query(data, descriptor)
    message = endpoint.request_class()
    try:
        ParseDict(data, message, ignore_unknown_fields=False)
    except (ParseError, TypeError, ValueError) as e:
        raise InvalidParameterError(f"Invalid request to {endpoint.name}: {e}") from None
    # MLflow's own serialisation (proto field names, 64-bit integers as numbers):
    # what its client sends.
    return json.loads(message_to_json(message))


def _refuse_two_spellings(data: Any, descriptor: Any) -> None:
    if not isinstance(data, dict):
        return
    for f in descriptor.fields:
        if f.name != f.json_name and f.name in data and f.json_name in data:
            raise InvalidParameterError(
                f"The request spells the field {f.name!r} two ways ({f.json_name!r}); send one."
            )
        if f.type != f.TYPE_MESSAGE or f.message_type.GetOptions().map_entry:
            continue
        if f.message_type.full_name.startswith("google.protobuf."):
            continue
        for key in (f.name, f.json_name):
            value = data.get(key)
            for item in value if isinstance(value, list) else [value]:
                _refuse_two_spellings(item, f.message_type)


def _typed_query(data: Mapping[str, Any], descriptor: Any) -> dict[str, Any]:
    """Booleans in a query are ``true``/``false`` (as MLflow reads them); others as sent."""
    fields = {f.name: f for f in descriptor.fields}
    typed: dict[str, Any] = {}
    for key, value in data.items():
        f = fields.get(key)
        if f is not None and f.type == f.TYPE_BOOL and isinstance(value, str):
            if value.lower() not in ("true", "false"):
                raise InvalidParameterError(f"{key} must be 'true' or 'false', not {value!r}.")
            value = value.lower() == "true"
        typed[key] = value
    return typed


def canonical(request: ApiRequest) -> tuple[str, bytes | None]:
    """Return the query string and body to forward: the parsed message, re-serialised.

    Args:
        request: A request :func:`parse` filled.

    Returns:
        ``(query, body)``: a ``GET`` gets a query and no body, every other method a
        JSON body and no query.
    """
    if request.endpoint.method == "GET":
        pairs: list[tuple[str, str]] = []
        for key, value in request.params.items():
            values = value if isinstance(value, list) else [value]
            pairs += [(key, _query_value(v)) for v in values]
        return urlencode(pairs), None
    return "", json.dumps(request.params, separators=(",", ":")).encode()


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)
