from __future__ import annotations

import json

import pytest

from nbplatform.errors import InvalidParameterError
from nbplatform_hub.service.mlflow_rules import APPROVE, READ, WRITE, classify, protected_names

PROTECTED = protected_names(["champion"])


@pytest.mark.parametrize(
    "method,path,scope,write",
    [
        ("GET", "api/2.0/mlflow/registered-models/search", READ, False),
        ("POST", "api/2.0/mlflow/runs/search", READ, False),
        ("POST", "ajax-api/2.0/mlflow/experiments/search", READ, False),
        ("POST", "api/2.0/mlflow/runs/create", WRITE, True),
        ("POST", "api/2.0/mlflow/model-versions/create", WRITE, True),
        ("PUT", "api/2.0/mlflow-artifacts/artifacts/0/a/model.pkl", WRITE, True),
        ("GET", "api/2.0/mlflow-artifacts/artifacts/0/a/model.pkl", READ, False),
        ("DELETE", "api/2.0/mlflow/registered-models/delete", APPROVE, True),
        ("DELETE", "api/2.0/mlflow/model-versions/delete", APPROVE, True),
        ("POST", "api/2.0/mlflow/registered-models/rename", APPROVE, True),
        ("POST", "api/3.0/mlflow/gateway/secrets/create", APPROVE, True),
        ("GET", "static-files/index.js", READ, False),
    ],
)
def test_scopes_by_endpoint(method, path, scope, write):
    decision = classify(method, path, PROTECTED)
    assert (decision.scope, decision.write) == (scope, write)


@pytest.mark.parametrize(
    "alias,scope", [("champion", APPROVE), ("previous-champion", APPROVE), ("staging", WRITE)]
)
def test_protected_aliases_need_approve(alias, scope):
    body = json.dumps({"name": "churn", "alias": alias, "version": "3"}).encode()
    for method in ("POST", "DELETE"):
        d = classify(method, "api/2.0/mlflow/registered-models/alias", PROTECTED, body=body)
        assert d.scope == scope and d.resource == f"churn@{alias}"
    d = classify(
        "DELETE",
        "ajax-api/2.0/mlflow/registered-models/alias",
        PROTECTED,
        query=f"name=churn&alias={alias}",
    )
    assert d.scope == scope


def test_graphql_mutations_are_writes():
    read = json.dumps({"query": "query q { mlflowGetRun(input: {}) { run { info { runId } } } }"})
    assert classify("POST", "graphql", PROTECTED, body=read.encode()).scope == READ
    mutation = json.dumps({"query": "mutation { testMutation(input: {}) { output } }"})
    assert classify("POST", "graphql", PROTECTED, body=mutation.encode()).scope == WRITE


@pytest.mark.parametrize(
    "path",
    ["api/2.0/mlflow-artifacts/artifacts/0/../x", "a/%2e%2e/b", "a/%252e%252e/b", "a\\..\\b"],
)
def test_dotdot_refused(path):
    with pytest.raises(InvalidParameterError):
        classify("GET", path, PROTECTED)
