"""Requests to MLflow, parsed once: the gateway decides on exactly what MLflow will act on.

The property: whatever bytes a client sends, either the gateway refuses them, or
MLflow's own reading of the bytes the gateway forwards (its double-decoding of
JSON strings, its acceptance of camelCase names, ``ParseDict``) gives the very
fields the gateway's rules looked at.
"""

from __future__ import annotations

import json
import re
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
    hostile = re.search("[\x00-\x08\x0e-\x1f\ud800-\udfff]", value)
    try:
        mlflow_endpoints.parse(api, urlencode({"name": value}, errors="surrogatepass"), None)
    except InvalidParameterError as e:
        # control characters and lone surrogates: refused, naming the parameter
        assert hostile and e.message.startswith("name: "), (value, e.message)
        return
    assert not hostile, value
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


#: Where MLflow stores each field the gateway bounds: ``(table, column)`` or a
#: limit MLflow checks itself where the column is text.
STORED = {
    ("experiments", "name"): ("experiments", "name"),
    ("experiments", "new_name"): ("experiments", "name"),
    ("experiments", "experiment_name"): ("experiments", "name"),
    ("experiments", "key"): ("experiment_tags", "key"),
    ("runs", "run_name"): ("runs", "name"),
    ("runs", "user_id"): ("runs", "user_id"),
    ("runs", "key"): ("tags", "key"),
    ("runs", "value"): ("tags", "value"),
    ("logged-models", "name"): ("logged_models", "name"),
    ("logged-models", "model_type"): ("logged_models", "model_type"),
    ("logged-models", "key"): ("logged_model_tags", "tag_key"),
    ("logged-models", "value"): "MAX_TAG_VAL_LENGTH",  # a text column
    ("traces", "key"): ("trace_tags", "key"),
    ("traces", "value"): ("trace_tags", "value"),
    ("registered-models", "name"): ("registered_models", "name"),
    ("registered-models", "new_name"): ("registered_models", "name"),
    ("registered-models", "description"): ("registered_models", "description"),
    ("registered-models", "key"): ("registered_model_tags", "key"),
    ("registered-models", "value"): ("registered_model_tags", "value"),
    ("registered-models", "alias"): ("registered_model_aliases", "alias"),
    ("model-versions", "name"): ("model_versions", "name"),
    ("model-versions", "description"): ("model_versions", "description"),
    ("model-versions", "key"): ("model_version_tags", "key"),
    ("model-versions", "value"): "MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH",
    ("model-versions", "source"): ("model_versions", "source"),
    ("model-versions", "run_link"): ("model_versions", "run_link"),
    ("webhooks", "name"): ("webhooks", "name"),
    ("webhooks", "description"): ("webhooks", "description"),
    ("webhooks", "url"): ("webhooks", "url"),
}


def test_column_limits_are_what_mlflow_stores():
    """Each bound is what MLflow's database (or MLflow's own check) holds, no more."""
    import mlflow.store.model_registry.dbmodels.models  # noqa: F401 (registers the tables)
    from mlflow.store.tracking.dbmodels.models import Base
    from mlflow.utils import validation

    tables = Base.metadata.tables
    bounded = {(f, n) for f, names in mlflow_endpoints.COLUMN_LIMITS.items() for n in names}
    assert bounded == set(STORED)
    for (family, name), where in STORED.items():
        limit = mlflow_endpoints.COLUMN_LIMITS[family][name]
        if isinstance(where, str):
            assert limit == getattr(validation, where), (family, name)
        else:
            column = tables[where[0]].c[where[1]]
            assert limit == column.type.length, (family, name, column.type)


def _parse(method: str, endpoint: str, body: dict[str, Any]) -> Any:
    api = mlflow_endpoints.find(method, f"api/2.0/mlflow/{endpoint}")
    assert api is not None
    return mlflow_endpoints.parse(api, "", json.dumps(body).encode())


def test_over_long_fields_are_refused_before_mlflow_naming_them():
    cases = [
        ("POST", "registered-models/create", {"name": "m" * 257}, "name"),
        ("POST", "runs/create", {"experiment_id": "1", "run_name": "r" * 251}, "run_name"),
        ("POST", "runs/set-tag", {"run_id": "a" * 32, "key": "k", "value": "v" * 8001}, "value"),
        (
            "POST",
            "runs/create",
            {"experiment_id": "1", "tags": [{"key": "k" * 251, "value": "v"}]},
            "tags.0.key",
        ),
        ("POST", "runs/update", {"run_id": "a" * 257}, "run_id"),
        ("POST", "logged-models/search", {"page_token": "t" * 257}, "page_token"),
        (
            "PATCH",
            "model-versions/update",
            {"name": "m", "version": "1", "description": "d" * 5001},
            "description",
        ),
    ]
    for method, endpoint, body, field in cases:
        try:
            _parse(method, endpoint, body)
        except InvalidParameterError as e:
            assert e.message.startswith(f"{field}: longer than"), (endpoint, e.message)
        else:
            raise AssertionError(f"{endpoint} took an over-long {field}")
    # at the limit it goes through
    _parse("POST", "registered-models/create", {"name": "m" * 256})
    _parse("POST", "runs/set-tag", {"run_id": "a" * 32, "key": "k", "value": "v" * 8000})


def test_query_arguments_are_checked_one_by_one():
    for query, field in (
        ("name=a%00b", "name"),
        ("name=%ED%A0%80", "name"),
        ("name=" + "a" * 5000, "name"),
        ("%ff=1", "a query parameter's name"),
    ):
        try:
            mlflow_endpoints.query_pairs(query)
        except InvalidParameterError as e:
            assert e.message.startswith(f"{field}: "), (query, e.message)
        else:
            raise AssertionError(query)
    assert mlflow_endpoints.query_pairs("a=1&b=%C3%A9") == [("a", "1"), ("b", "é")]
