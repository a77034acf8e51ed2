"""The platform service answers as its OpenAPI description says."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from nbplatform_hub.service import app as service_app

pytestmark = pytest.mark.integration

SPEC = yaml.safe_load(
    (Path(service_app.__file__).parent / "openapi.yaml").read_text(encoding="utf-8")
)


def _schema(ref_or_schema: dict) -> dict:
    """Inline the component schemas so jsonschema can check against them."""
    schema = copy.deepcopy(ref_or_schema)
    schema["components"] = SPEC["components"]
    return _fix_nullable(schema)


def _fix_nullable(node):
    if isinstance(node, dict):
        if node.pop("nullable", False) and "type" in node:
            node["type"] = [node["type"], "null"]
        return {k: _fix_nullable(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_fix_nullable(v) for v in node]
    return node


def _response_schema(path: str, status: str) -> dict:
    response = SPEC["paths"][path]["get"]["responses"][status]
    if "$ref" in response:
        response = SPEC["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return _schema(response["content"]["application/json"]["schema"])


# Resources whose GET answers without path parameters; resources with parameters
# are checked against their schemas in their own tests (see _response_schema).
SIMPLE_GETS = [p for p, ops in SPEC["paths"].items() if "get" in ops and "{" not in p]


@pytest.mark.parametrize("path", SIMPLE_GETS)
def test_every_documented_path_answers_as_described(platform, path):
    admin_only = SPEC["paths"][path]["get"].get("x-nbp-scope") == "custom:nbplatform:audit:read"
    token = platform.admin_token if admin_only else platform.create_user("openapi-user")
    ok = platform.service("GET", path, token)
    assert ok.status_code == 200
    jsonschema.validate(ok.json(), _response_schema(path, "200"))
    refused = platform.service("GET", path, None)
    assert refused.status_code == 401
    jsonschema.validate(refused.json(), _response_schema(path, "401"))


def test_every_api_route_is_documented():
    from nbplatform_hub.service.handlers import resource_modules

    def documented(path: str) -> str:
        return "/" + re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", path).rstrip("$")

    routes = {documented(path) for module in resource_modules() for path, _ in module.routes}
    assert routes == set(SPEC["paths"])
