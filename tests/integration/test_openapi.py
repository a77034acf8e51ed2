"""The platform service answers as its OpenAPI description says."""

from __future__ import annotations

import jsonschema
import pytest
from jobs_helpers import openapi_schema
from routes_support import documented, openapi_spec

pytestmark = pytest.mark.integration

SPEC = openapi_spec()


def _response_schema(path: str, status: str) -> dict:
    response = SPEC["paths"][path]["get"]["responses"][status]
    if "$ref" in response:
        response = SPEC["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return openapi_schema(response["content"]["application/json"]["schema"])


def _answers_json(operation: dict) -> bool:
    response = operation["responses"]["200"]
    if "$ref" in response:
        return True
    return "application/json" in response.get("content", {})


# Resources whose GET answers JSON without path parameters; resources with
# parameters, and binary ones (the feature registry), are checked in their own tests.
SIMPLE_GETS = [
    p
    for p, ops in SPEC["paths"].items()
    if "get" in ops and "{" not in p and _answers_json(ops["get"])
]


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

    routes = {documented(path) for module in resource_modules() for path, _ in module.routes}
    assert routes == set(SPEC["paths"])
