"""Requests to MLflow, parsed once: the gateway decides on exactly what MLflow will act on.

The property: whatever bytes a client sends, either the gateway refuses them, or
MLflow's own reading of the bytes the gateway forwards (its double-decoding of
JSON strings, its acceptance of camelCase names, ``ParseDict``) gives the very
fields the gateway's rules looked at.
"""

from __future__ import annotations

import json
from typing import Any

from google.protobuf.json_format import ParseDict
from hypothesis import given, settings
from hypothesis import strategies as st
from mlflow.protos.model_registry_pb2 import DeleteRegisteredModelAlias, SetRegisteredModelAlias

from nbplatform.errors import InvalidParameterError
from nbplatform_hub.service import mlflow_endpoints
from nbplatform_hub.service.mlflow_rules import APPROVE, classify, protected_names

PROTECTED = protected_names(["champion"])

names = st.sampled_from(["churn", "champion", "x", ""])
aliases = st.sampled_from(["champion", "previous-champion", "staging", "Champion", ""])
keys = st.sampled_from(["name", "alias", "version", "Alias", "aliasName", "extra"])
scalars = st.one_of(names, aliases, st.integers(-2, 5), st.none(), st.booleans())


@st.composite
def bodies(draw: Any) -> bytes:
    """Alias bodies as clients and attackers write them."""
    fields = {
        "name": draw(names),
        "alias": draw(aliases),
        "version": draw(st.sampled_from(["1", 1])),
    }
    for key in draw(st.lists(keys, max_size=2)):
        fields[key] = draw(scalars)
    text = json.dumps(fields)
    shape = draw(st.sampled_from(["plain", "double", "dup", "list", "camel", "junk"]))
    if shape == "double":
        text = json.dumps(text)
    elif shape == "dup":
        text = text[:-1] + ', "alias": "champion"}'
    elif shape == "list":
        text = json.dumps([fields])
    elif shape == "camel":
        text = text.replace('"alias"', '"aliasName"')
    elif shape == "junk":
        text = text[: draw(st.integers(0, len(text)))]
    return text.encode()


def mlflow_reads(canonical: bytes, message_class: Any) -> dict[str, Any]:
    """What MLflow's handler does with a body: decode, decode a string again, ParseDict."""
    data = json.loads(canonical)
    if isinstance(data, str):
        data = json.loads(data)
    message = message_class()
    ParseDict(data, message, ignore_unknown_fields=True)
    return {"name": message.name, "alias": message.alias}


@settings(max_examples=400, deadline=None)
@given(method=st.sampled_from(["POST", "DELETE"]), body=bodies())
def test_alias_decisions_are_on_what_mlflow_reads(method, body):
    api = mlflow_endpoints.find(method, "api/2.0/mlflow/registered-models/alias")
    try:
        mlflow_endpoints.parse(api, "", body)
    except InvalidParameterError:
        return
    decision = classify(api, PROTECTED)
    _, forwarded = mlflow_endpoints.canonical(api)
    message_class = SetRegisteredModelAlias if method == "POST" else DeleteRegisteredModelAlias
    read = mlflow_reads(forwarded, message_class)
    assert read["alias"] == api.params.get("alias", "")
    assert read["name"] == api.params.get("name", "")
    if read["alias"] in PROTECTED:
        assert decision.scope == APPROVE


@settings(max_examples=200, deadline=None)
@given(value=st.text(max_size=40))
def test_query_values_round_trip(value):
    api = mlflow_endpoints.find("GET", "api/2.0/mlflow/registered-models/get")
    query = mlflow_endpoints.canonical(mlflow_endpoints.parse(api, "", None))[0]
    assert query == ""
    from urllib.parse import parse_qsl, urlencode

    api = mlflow_endpoints.find("GET", "api/2.0/mlflow/registered-models/get")
    mlflow_endpoints.parse(api, urlencode({"name": value}), None)
    query, body = mlflow_endpoints.canonical(api)
    assert body is None and dict(parse_qsl(query, keep_blank_values=True)) == {"name": value}


def test_every_endpoint_is_found_by_its_concrete_paths():
    """Each endpoint MLflow declares is found again from a concrete path, under both prefixes."""
    import re

    endpoints = mlflow_endpoints.catalogue()
    assert len(endpoints) > 100
    for endpoint in endpoints:
        concrete = re.sub(r"<path:\w+>", "0/a/b.txt", endpoint.template)
        concrete = re.sub(r"\{[\w.]+\}|<\w+>", "v-1", concrete)
        for prefix in ("api", "ajax-api"):
            found = mlflow_endpoints.find(
                endpoint.method, f"{prefix}/{endpoint.major}.0/{concrete}"
            )
            assert found is not None and found.endpoint.request_class is not None, endpoint
            assert found.endpoint.method == endpoint.method
            assert found.ajax == (prefix == "ajax-api")


def test_strict_json():
    for raw in (b'{"a": 1, "a": 2}', b"NaN", b'{"a": Infinity}', b"\xff", b"[" * 50 + b"]" * 50):
        try:
            mlflow_endpoints.loads(raw)
        except InvalidParameterError:
            continue
        raise AssertionError(raw)
    assert mlflow_endpoints.loads(b'{"a": [1, {"b": "\\u00e9"}]}') == {"a": [1, {"b": "é"}]}
