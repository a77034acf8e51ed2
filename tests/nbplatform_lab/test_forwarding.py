"""What the lab extension forwards: only paths below their resource, only strict JSON objects."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbplatform.errors import InvalidParameterError
from nbplatform_lab.handlers.resource import MAX_BODY_BYTES, forwarded_path, parse_body


@pytest.mark.parametrize(
    ("rest", "target"),
    [
        (None, "api/models"),
        ("/", "api/models"),
        ("/churn", "api/models/churn"),
        ("/churn/rollback", "api/models/churn/rollback"),
        ("/a b?c#d", "api/models/a%20b%3Fc%23d"),
        ("/ch\u00fcrn", "api/models/ch%C3%BCrn"),
    ],
)
def test_paths_below_a_resource_are_forwarded_re_encoded(rest, target):
    assert forwarded_path("models", rest) == target


@pytest.mark.parametrize(
    "rest",
    [
        "/..",
        "/../audit",
        "/a/../../mlflow/api",
        "/./x",
        "//x",
        "/a\\..\\b",
        "/%2e%2e",
        "/a%00",
        "/a\x00b",
        "/a\nb",
        "/" + "a" * 600,
        "/a" * 20,
    ],
)
def test_traversal_and_hostile_segments_are_refused(rest):
    with pytest.raises(InvalidParameterError):
        forwarded_path("models", rest)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=6))
def test_any_forwarded_path_stays_below_its_resource(segments):
    try:
        target = forwarded_path("jobs", "/" + "/".join(segments))
    except InvalidParameterError:
        return
    parts = target.split("/")
    assert parts[:2] == ["api", "jobs"]
    assert all(p not in ("", ".", "..") and "/" not in p and "?" not in p for p in parts[2:])


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        (b"[" * 100_000, "application/json"),
        (b'{"a": 1, "a": 2}', "application/json"),
        (json.dumps(json.dumps({"a": 1})).encode(), "application/json"),
        (b"[1]", "application/json"),
        (b'{"a": NaN}', "application/json"),
        (b"\xc0\xae", "application/json"),
        (b'{"a": 1}', "text/plain"),
        (b"a=1", "application/x-www-form-urlencoded"),
        (b"{" + b" " * MAX_BODY_BYTES + b"}", "application/json"),
    ],
)
def test_hostile_bodies_are_refused(raw, content_type):
    with pytest.raises(InvalidParameterError):
        parse_body(raw, content_type)


def test_json_objects_pass_and_an_empty_body_is_none():
    assert parse_body(b'{"a": [1, {"b": null}]}', "application/json; charset=UTF-8") == {
        "a": [1, {"b": None}]
    }
    assert parse_body(b"", None) is None
