"""The routes of the platform service and of the lab extension, from the applications.

The tests that go over every route (authentication, XSRF, hostile input, the
OpenAPI description) take them from here: from the service's ``make_app`` with
every resource module, and from the handlers a Jupyter server registers for
nbplatform_lab. A new route is checked the day it is added.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tornado import web

PREFIX = "/services/platform/"
#: A value for each path parameter; ids no row has (for the refusal checks).
SAMPLES = {
    "job_id": "0123456789abcdef",
    "run_id": "0123456789abcdef",
    "promotion_id": "999999",
    "name": "routes-no-such-model",
    "path": "api/2.0/mlflow/experiments/search",
}
#: A path parameter in a route pattern: ``(?P<name>regex)``.
PARAMETER = re.compile(r"\(\?P<(\w+)>((?:[^()]|\([^()]*\))*)\)")


def handler_rules(router: Any) -> Iterator[tuple[str, type[web.RequestHandler]]]:
    """``(url pattern, handler class)`` of every rule, descending into nested routers."""
    for rule in router.rules:
        if hasattr(rule.target, "rules"):
            yield from handler_rules(rule.target)
        elif isinstance(rule.target, type) and issubclass(rule.target, web.RequestHandler):
            regex = getattr(rule.matcher, "regex", None)
            if regex is not None:
                yield regex.pattern, rule.target


def verbs_of(handler: type[web.RequestHandler]) -> list[str]:
    """The verbs ``handler`` implements."""
    verbs = [
        verb
        for verb in handler.SUPPORTED_METHODS
        if getattr(handler, verb.lower(), None) is not web.RequestHandler._unimplemented_method
    ]
    # a catch-all that answers from prepare() (404 after authentication) takes any verb
    return verbs or ["GET", "POST", "DELETE"]


def _sample(name: str, group: str, samples: dict[str, str]) -> str:
    """A value for a path parameter: the known sample, else one its pattern takes."""
    if name in samples:
        return samples[name]
    for candidate in (*group.split("|"), "x", "1", "0123456789abcdef"):
        if re.fullmatch(group, candidate):
            return candidate
    raise AssertionError(f"no sample for the path parameter {name} ({group})")


def expand(pattern: str, samples: dict[str, str] = SAMPLES, matching: bool = True) -> str:
    """A concrete path for a route pattern: each parameter replaced by a sample value.

    ``matching=False``: the samples may be values the pattern does not take.
    """
    path = pattern.rstrip("$")
    path = PARAMETER.sub(lambda m: _sample(m.group(1), m.group(2), samples), path)
    path = path.replace("(.*)", "api/no-such-resource").replace("(/.*)?", "/x")
    assert not matching or re.fullmatch(pattern.rstrip("$"), path), (pattern, path)
    return path


def documented(pattern: str) -> str:
    """The OpenAPI path of a route pattern below the service prefix: ``/api/jobs/{job_id}``."""
    path = pattern.removeprefix(PREFIX).rstrip("$")
    return "/" + PARAMETER.sub(r"{\1}", path)


def service_routes(tmp_path: Path) -> list[tuple[str, type, list[str]]]:
    """``(pattern, handler, verbs)`` of the application the service builds."""
    from nbplatform_hub.service.app import ServiceContext, make_app
    from nbplatform_hub.service.db import connect
    from nbplatform_hub.service.hubclient import HubClient

    context = ServiceContext(
        home=tmp_path,
        engine=connect(f"sqlite:///{tmp_path / 'routes.sqlite'}"),
        hub=HubClient("http://127.0.0.1:1/hub/api", "unused"),
    )
    app = make_app(context, PREFIX)
    return [(p, h, verbs_of(h)) for p, h in handler_rules(app.default_router)]


def lab_routes(tmp_path: Path, monkeypatch: Any) -> list[tuple[str, type, list]]:
    """``(pattern, handler, verbs)`` of the nbplatform_lab handlers a server registers."""
    from jupyter_server.serverapp import ServerApp

    for name in ("config", "runtime", "data", "root"):
        (tmp_path / name).mkdir(exist_ok=True)
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    app = ServerApp(
        jpserver_extensions={"nbplatform_lab": True},
        reraise_server_extension_failures=True,
        root_dir=str(tmp_path / "root"),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        app.initialize(argv=[], find_extensions=False, new_httpserver=False)
    try:
        return [
            (p, h, [v for v in verbs_of(h) if v != "OPTIONS"])
            for p, h in handler_rules(app.web_app.default_router)
            if "/nbplatform/" in p
        ]
    finally:
        ServerApp.clear_instance()


# What the OpenAPI description says each operation takes ----------------------------
def openapi_spec() -> dict[str, Any]:
    """The service's ``openapi.yaml``."""
    import yaml

    from nbplatform_hub.service import app

    return yaml.safe_load((Path(app.__file__).parent / "openapi.yaml").read_text("utf-8"))


def _resolve(spec: dict[str, Any], node: Any) -> Any:
    """``node`` with its ``$ref`` followed and ``allOf`` merged (one level of properties)."""
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        _, section, kind, name = node["$ref"].split("/")
        return _resolve(spec, spec[section][kind][name])
    if "allOf" in node:
        properties: dict[str, Any] = {}
        for part in node["allOf"]:
            properties.update(_resolve(spec, part).get("properties", {}))
        return {**node, "properties": properties}
    return node


def body_fields(spec: dict[str, Any], operation: dict[str, Any]) -> dict[str, str]:
    """``{field: JSON type}`` of an operation's JSON request body (``{}`` without one)."""
    content = operation.get("requestBody", {}).get("content", {})
    schema = _resolve(spec, content.get("application/json", {}).get("schema", {}))
    return {
        name: _resolve(spec, prop).get("type", "object")
        for name, prop in (schema.get("properties") or {}).items()
    }


def query_parameters(spec: dict[str, Any], operation: dict[str, Any]) -> list[str]:
    """The names of an operation's query parameters."""
    parameters = [_resolve(spec, p) for p in operation.get("parameters", [])]
    return [p["name"] for p in parameters if p.get("in") == "query"]
