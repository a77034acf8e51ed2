"""The gateway's rules: which scope and which permission on which object each request needs."""

from __future__ import annotations

import json

import pytest

from nbplatform.errors import InvalidParameterError, PermissionDeniedError
from nbplatform_hub.service import mlflow_endpoints
from nbplatform_hub.service.mlflow_ownership import EDIT, MANAGE
from nbplatform_hub.service.mlflow_rules import (
    APPROVE,
    READ,
    WRITE,
    check_path,
    classify,
    classify_graphql,
    classify_ui,
    protected_names,
)

PROTECTED = protected_names(["champion"])
RUN = "0123456789abcdef0123456789abcdef"


def decide(method, path, body=None, query=""):
    api = mlflow_endpoints.find(method, path)
    assert api is not None
    raw = json.dumps(body).encode() if body is not None else None
    return classify(mlflow_endpoints.parse(api, query, raw), PROTECTED)


@pytest.mark.parametrize(
    "method,path,body,scope,write",
    [
        ("GET", "api/2.0/mlflow/registered-models/search", None, READ, False),
        ("POST", "api/2.0/mlflow/runs/search", {"experiment_ids": ["0"]}, READ, False),
        ("POST", "ajax-api/2.0/mlflow/experiments/search", {}, READ, False),
        ("POST", "api/2.0/mlflow/runs/create", {"experiment_id": "0"}, WRITE, True),
        (
            "POST",
            "api/2.0/mlflow/model-versions/create",
            {"name": "m", "source": f"runs:/{RUN}/model", "run_id": RUN},
            WRITE,
            True,
        ),
        ("GET", f"api/2.0/mlflow-artifacts/artifacts/0/{RUN}/artifacts/m.pkl", None, READ, False),
        ("DELETE", "api/2.0/mlflow/registered-models/delete", {"name": "m"}, APPROVE, True),
        (
            "DELETE",
            "api/2.0/mlflow/model-versions/delete",
            {"name": "m", "version": "1"},
            APPROVE,
            True,
        ),
        (
            "POST",
            "api/2.0/mlflow/registered-models/rename",
            {"name": "m", "new_name": "n"},
            APPROVE,
            True,
        ),
        ("POST", "api/2.0/mlflow/webhooks", {"name": "w"}, APPROVE, True),
        ("POST", "api/3.0/mlflow/traces", {}, APPROVE, True),
    ],
)
def test_scopes_by_endpoint(method, path, body, scope, write):
    decision = decide(method, path, body)
    assert (decision.scope, decision.write) == (scope, write)


def test_every_mlflow_endpoint_is_classified_without_error():
    """Each endpoint MLflow declares gets a decision; unknown writes are admin-only."""
    for endpoint in mlflow_endpoints.catalogue():
        api = mlflow_endpoints.ApiRequest(endpoint, {})
        try:
            decision = classify(api, PROTECTED)
        except (InvalidParameterError, PermissionDeniedError):
            continue  # e.g. an artifact write with no path: refused outright
        if endpoint.method == "GET":
            assert decision.scope == READ
        else:
            assert decision.scope in (READ, WRITE, APPROVE)
            if decision.scope == WRITE:
                assert decision.target is not None or decision.creates is not None, endpoint


@pytest.mark.parametrize(
    "alias,scope", [("champion", APPROVE), ("previous-champion", APPROVE), ("staging", WRITE)]
)
def test_protected_aliases_need_approve(alias, scope):
    body = {"name": "churn", "alias": alias, "version": "3"}
    d = decide("POST", "api/2.0/mlflow/registered-models/alias", body)
    assert d.scope == scope and d.resource == f"churn@{alias}"
    d = decide(
        "DELETE", "ajax-api/2.0/mlflow/registered-models/alias", {"name": "churn", "alias": alias}
    )
    assert d.scope == scope
    if scope == WRITE:
        assert d.target.kind == "registered_model" and d.target.level == EDIT


@pytest.mark.parametrize(
    "raw",
    [
        json.dumps(json.dumps({"name": "churn", "alias": "champion", "version": "1"})),
        '{"name": "churn", "alias": "staging", "alias": "champion", "version": "1"}',
        '["name", "churn"]',
        '{"name": "churn", "alias": "champion", "version": "1", "extra": 1}',
        '{"name": "churn", "alias": "champion", "version": NaN}',
        "[" * 100_000,
        '{"name": "churn", "alias": {"x": 1}}',
        b'{"name": "\xc0\xae"}',
    ],
)
def test_alias_bodies_mlflow_might_read_otherwise_are_refused(raw):
    api = mlflow_endpoints.find("POST", "api/2.0/mlflow/registered-models/alias")
    with pytest.raises(InvalidParameterError):
        mlflow_endpoints.parse(api, "", raw if isinstance(raw, bytes) else raw.encode())


def test_query_on_a_write_is_refused():
    api = mlflow_endpoints.find("DELETE", "api/2.0/mlflow/registered-models/alias")
    with pytest.raises(InvalidParameterError):
        mlflow_endpoints.parse(
            api, "name=churn&alias=staging", b'{"name":"churn","alias":"champion"}'
        )


def test_get_with_a_body_or_repeated_parameter_is_refused():
    api = mlflow_endpoints.find("GET", "api/2.0/mlflow/registered-models/alias")
    with pytest.raises(InvalidParameterError):
        mlflow_endpoints.parse(api, "", b'{"name":"churn","alias":"champion"}')
    with pytest.raises(InvalidParameterError):
        mlflow_endpoints.parse(api, "name=a&name=b&alias=x", None)


def test_canonical_forms_use_proto_names():
    api = mlflow_endpoints.find("POST", "api/2.0/mlflow/runs/log-metric")
    body = b'{"runId": "r", "key": "k", "value": "NaN", "timestamp": "12"}'
    query, canonical = mlflow_endpoints.canonical(mlflow_endpoints.parse(api, "", body))
    assert query == "" and json.loads(canonical) == {
        "run_id": "r",
        "key": "k",
        "value": "NaN",
        "timestamp": 12,
    }
    api = mlflow_endpoints.find("POST", "api/2.0/mlflow/runs/log-metric")
    with pytest.raises(InvalidParameterError):
        mlflow_endpoints.parse(api, "", b'{"runId": "r", "run_id": "s", "key": "k"}')
    api = mlflow_endpoints.find("GET", "api/2.0/mlflow/runs/get")
    assert mlflow_endpoints.canonical(mlflow_endpoints.parse(api, "run_id=a%20b", None)) == (
        "run_id=a+b",
        None,
    )


def test_artifact_locations_are_the_platforms():
    for location in (
        "mlflow-artifacts:/1/abc/artifacts",
        "mlflow-artifacts:/%2e%2e/%2e%2e",
        "file:///var/nbp",
        "s3://bucket/x",
    ):
        with pytest.raises(InvalidParameterError, match="artifact_location"):
            decide(
                "POST",
                "api/2.0/mlflow/experiments/create",
                {"name": "e", "artifact_location": location},
            )
    assert (
        decide("POST", "api/2.0/mlflow/experiments/create", {"name": "e"}).creates == "experiment"
    )


@pytest.mark.parametrize(
    "source",
    [
        "file:///etc/passwd",
        "/var/nbp/hub/jupyterhub_cookie_secret",
        "s3://bucket/x",
        f"mlflow-artifacts:/1/{RUN}/artifacts/../../2",
        "mlflow-artifacts:/",
        "models:/other@champion",
    ],
)
def test_model_version_sources_stay_in_the_artifact_store(source):
    with pytest.raises(InvalidParameterError):
        decide("POST", "api/2.0/mlflow/model-versions/create", {"name": "m", "source": source})


@pytest.mark.parametrize(
    "method,path,body",
    [
        (
            "POST",
            "api/2.0/mlflow/runs/set-tag",
            {"run_id": RUN, "key": "mlflow.user", "value": "bob"},
        ),
        (
            "POST",
            "api/2.0/mlflow/runs/set-tag",
            {"run_id": RUN, "key": "nbp.notebook", "value": "x"},
        ),
        ("POST", "api/2.0/mlflow/runs/delete-tag", {"run_id": RUN, "key": "nbp.user"}),
        (
            "POST",
            "api/2.0/mlflow/runs/log-batch",
            {"run_id": RUN, "tags": [{"key": "mlflow.user", "value": "bob"}]},
        ),
        (
            "POST",
            "api/2.0/mlflow/model-versions/set-tag",
            {"name": "m", "version": "1", "key": "nbp.user", "value": "bob"},
        ),
        (
            "POST",
            "api/2.0/mlflow/registered-models/create",
            {"name": "m", "tags": [{"key": "nbp.job_id", "value": "1"}]},
        ),
    ],
)
def test_reserved_tags_are_refused(method, path, body):
    with pytest.raises(PermissionDeniedError, match="reserved"):
        decide(method, path, body)


def test_run_and_experiment_writes_name_their_object_and_level():
    d = decide(
        "POST",
        "api/2.0/mlflow/runs/log-metric",
        {"run_id": RUN, "key": "k", "value": 1, "timestamp": 1},
    )
    assert (d.target.kind, d.target.key, d.target.level) == ("run", RUN, EDIT)
    assert d.resource == f"run:{RUN}"
    d = decide("POST", "api/2.0/mlflow/runs/delete", {"run_id": RUN})
    assert d.target.level == MANAGE
    d = decide("POST", "api/2.0/mlflow/experiments/delete", {"experiment_id": "3"})
    assert (d.target.kind, d.target.key, d.target.level) == ("experiment", "3", MANAGE)
    d = decide("POST", "api/2.0/mlflow/runs/create", {"experiment_id": "3"})
    assert d.target.shared_ok and d.creates == "run"


def test_artifact_writes_must_be_inside_a_run_or_logged_model():
    d = decide("PUT", f"api/2.0/mlflow-artifacts/artifacts/1/{RUN}/artifacts/model.pkl")
    assert (d.target.kind, d.target.key, d.target.experiment_id) == ("run", RUN, "1")
    d = decide("PUT", f"api/2.0/mlflow-artifacts/artifacts/1/models/m-{RUN}/artifacts/MLmodel")
    assert d.target.kind == "logged_model"
    for path in ("1/other.txt", "1", f"1/{RUN}/metrics/x", "models/x"):
        with pytest.raises(PermissionDeniedError):
            decide("PUT", f"api/2.0/mlflow-artifacts/artifacts/{path}")


@pytest.mark.parametrize("path", ["0/../x", "a/%2e%2e/b", "a\\..\\b", "a/./b", "a/\x00b", "a/%00b"])
def test_paths_leaving_their_folder_are_refused(path):
    with pytest.raises(InvalidParameterError):
        check_path(path)


def test_graphql_and_ui():
    read = {"query": "query q { mlflowGetRun(input: {}) { run { info { runId } } } }"}
    assert classify_graphql(read).scope == READ
    for hostile in ({"query": "mutation { x }"}, "not an object", [{"query": 1}], None):
        assert classify_graphql(hostile).scope == APPROVE
    assert classify_ui("GET", "static-files/index.js").scope == READ
    assert classify_ui("POST", "ajax-api/2.0/mlflow/runs/create-promptlab-run").scope == APPROVE
