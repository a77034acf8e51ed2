"""The drift routes answer as ``openapi.yaml`` describes them (validated on real answers)."""

from __future__ import annotations

import jsonschema
from drift_support import DATA_SCIENTIST, check_body, column
from jobs_helpers import openapi_schema
from routes_support import documented, openapi_spec

from nbplatform_drift.capability import capability

SPEC = openapi_spec()


def response_schema(path: str, verb: str, status: str) -> dict:
    response = SPEC["paths"][path][verb]["responses"][status]
    return openapi_schema(response["content"]["application/json"]["schema"])


def test_every_drift_route_is_documented_with_its_scope():
    routes = {documented(p) for m in capability.modules() for p, _ in m.routes}
    assert routes == {p for p in SPEC["paths"] if p.startswith("/api/drift/")}
    for path in routes:
        for verb, operation in SPEC["paths"][path].items():
            if verb != "parameters":
                assert operation["x-nbp-scope"].startswith("custom:nbplatform:drift:"), path


def test_answers_fit_their_schemas(service):
    dora = service.token("dora", DATA_SCIENTIST)
    body = {"name": "described", "model": "models:/m@champion", "columns": ["a", "b"]}
    created = service.call("POST", "api/drift/monitors", dora, json=body)
    jsonschema.validate(created.json(), response_schema("/api/drift/monitors", "post", "201"))
    check = service.call(
        "POST",
        "api/drift/monitors/described/checks",
        dora,
        json=check_body(column("a", True, 2.0), column("b", False, 0.1), importance={"a": 1.0}),
    )
    path = "/api/drift/monitors/{name}/checks"
    jsonschema.validate(check.json(), response_schema(path, "post", "201"))
    service.call("POST", "api/drift/monitors/described/watch", dora)
    answers = [
        ("api/drift/monitors", "/api/drift/monitors"),
        ("api/drift/monitors/described", "/api/drift/monitors/{name}"),
        ("api/drift/monitors/described/checks", path),
        (f"api/drift/checks/{check.json()['id']}", "/api/drift/checks/{check_id}"),
        ("api/drift/alerts", "/api/drift/alerts"),
    ]
    for url, documented_path in answers:
        r = service.call("GET", url, dora)
        assert r.status_code == 200, r.text
        jsonschema.validate(r.json(), response_schema(documented_path, "get", "200"))
    assert service.call("GET", "api/drift/alerts", dora).json()["alerts"]
    refused = service.call("GET", "api/drift/monitors", None)
    jsonschema.validate(refused.json(), openapi_schema("Error"))
