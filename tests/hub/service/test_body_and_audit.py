"""Strict JSON bodies, database errors without SQL, audit origins nobody can forge."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jobs_helpers import add_job, add_run
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from nbplatform.errors import InvalidParameterError
from nbplatform_hub.service import audit
from nbplatform_hub.service.db import connect
from nbplatform_hub.service.errors import error_body, scrub, status_for
from nbplatform_hub.service.json_input import (
    MAX_BODY_BYTES,
    BodyError,
    parse_json,
    parse_json_object,
)

#: Text a body may hold: anything but NUL (lone surrogates are not text at all).
TEXT = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)))
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(TEXT, JSON, max_size=6))
def test_any_json_object_round_trips(value):
    assert parse_json_object(json.dumps(value).encode()) == value


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b'{"notebook": "t.ipynb\\u0000.ipynb"}', "notebook: contains a NUL"),
        (b'{"tags": ["ok", "x\\ud800"]}', "tags.1: contains a lone surrogate (\\ud800)"),
        (b'{"parameters": {"a": {"\\udc00": 1}}}', "parameters.a: the key '\\udc00'"),
        (b'{"\\u0000": 1}', "body: the key '\\x00' contains a NUL"),
        (b'"\\u0000"', "body: contains a NUL"),
    ],
)
def test_nul_and_lone_surrogates_are_refused_naming_where(raw, says):
    with pytest.raises(BodyError) as info:
        parse_json(raw)
    assert info.value.message.startswith(says), info.value.message
    # a surrogate pair is one character, and fine
    assert parse_json(b'{"a": "\\ud83d\\ude00"}') == {"a": "\U0001f600"}


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"[" * 100_000, "nested"),
        (b"[" * 40 + b"]" * 40, "nested"),
        (b'{"a": 1, "a": 2}', "twice"),
        (json.dumps(json.dumps({"model": "m"})).encode(), "encoded twice"),
        (b"[1, 2]", "not list"),
        (b"3", "not int"),
        (b"null", "not NoneType"),
        (b'{"x": NaN}', "NaN"),
        (b'{"x": Infinity}', "Infinity"),
        (b"\xc0\xae\xc0\xae", "UTF-8"),
        (b'{"a": 1', "not valid JSON"),
        (b"1" * 5000, "not valid JSON"),
        (b"{" + b" " * MAX_BODY_BYTES + b"}", "larger"),
    ],
)
def test_hostile_bodies_are_refused_with_a_message(raw, says):
    with pytest.raises(BodyError) as info:
        parse_json_object(raw)
    assert says in info.value.message
    assert status_for(info.value, 500) == 400


def test_an_empty_body_is_an_empty_object():
    assert parse_json_object(b"") == {} and parse_json_object(b"  \n") == {}


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (IntegrityError("INSERT INTO jobs (name) VALUES (?)", ("x",), Exception("UNIQUE")), 409),
        (DataError("SELECT * FROM audit_log WHERE id = ?", (1,), Exception("range")), 400),
        (OperationalError("SELECT secret FROM t", (), Exception("database is locked")), 503),
    ],
)
def test_database_errors_get_a_status_and_never_their_sql(error, status):
    assert status_for(error, 500) == status
    body = error_body(error, status)
    assert "SELECT" not in body["message"] and "INSERT" not in body["message"]
    assert body["status"] == status


def test_messages_are_cut_where_they_quote_sql():
    text = "No such thing [SQL: SELECT * FROM audit_log] [parameters: (1,)]"
    assert scrub(text) == "No such thing"
    assert len(scrub("x" * 10_000)) < 2100


def test_unclassified_upstream_failure_is_bad_gateway_not_500():
    from nbplatform.errors import NbplatformError, NotFoundError

    assert status_for(NbplatformError("MLflow answered 500."), 500) == 502
    assert status_for(NotFoundError("no"), 500) == 404


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("127.0.0.1", "203.0.113.9", "203.0.113.9"),  # the proxy's own entry
        ("127.0.0.1", "6.6.6.6, 203.0.113.9", "203.0.113.9"),  # client-sent entries ignored
        ("::ffff:127.0.0.1", "1.1.1.1,203.0.113.9", "203.0.113.9"),
        ("127.0.0.1", "6.6.6.6, not-an-ip", "127.0.0.1"),
        ("127.0.0.1", None, "127.0.0.1"),
        ("198.51.100.4", "6.6.6.6", "198.51.100.4"),  # not behind the proxy: the socket
    ],
)
def test_origin_ip_is_the_proxys_entry_or_the_socket_peer(peer, forwarded, expected):
    headers = {"X-Real-Ip": "6.6.6.6", "User-Agent": "t"}
    if forwarded is not None:
        headers["X-Forwarded-For"] = forwarded
    assert audit.origin_from(headers, peer)["ip"] == expected


def test_job_and_run_headers_are_not_taken_and_claims_are_labelled():
    origin = audit.origin_from(
        {"X-Nbp-Job-Id": "forged", "X-Nbp-Run-Id": "forged", "X-Nbp-Notebook": "n.ipynb"},
        "127.0.0.1",
    )
    assert "job_id" not in origin and "run_id" not in origin
    assert origin["claimed"] == {"notebook": "n.ipynb"}


def test_job_and_run_of_an_entry_come_from_the_runs_token(tmp_path):
    from nbplatform_hub.service import capabilities
    from nbplatform_jobs.capability import capability

    engine = connect(f"sqlite:///{tmp_path / 'platform.sqlite'}")
    # As the service does at start: migrate, then set the capability up.
    capabilities.migrate(engine, tmp_path, [capability])

    class Context:
        home = tmp_path
        state: dict = {}

    Context.engine = engine
    capabilities.start(Context, [capability])
    assert Context.state["jobs"].home == tmp_path
    job = add_job(engine, name="n", owner="ann")
    run = add_run(engine, job, status="running", token_id="a42")
    for token_id, expected in (("a42", (job["id"], run["id"])), ("a43", (None, None))):
        audit.record(
            engine,
            audit.AuditEntry(
                user="ann",
                kind="user",
                action="t",
                method="POST",
                path="/p",
                result="allowed",
                status=200,
                resource="r",
                token_id=token_id,
                origin={"job_id": "forged", "run_id": "forged"},
            ),
        )
        entry = audit.search(engine, max_results=1)["entries"][0]
        assert (entry["origin"].get("job_id"), entry["origin"].get("run_id")) == expected


@pytest.mark.parametrize(
    "status,refused,result",
    [
        (200, False, "allowed"),
        (201, False, "allowed"),
        (403, False, "refused"),
        (401, False, "refused"),
        (413, True, "refused"),
        (409, False, "conflict"),
        (400, False, "failed"),
        (404, False, "failed"),
        (502, False, "failed"),
    ],
)
def test_an_entrys_result_says_what_happened(status, refused, result):
    assert audit.result_of(status, refused) == result


def test_entries_name_the_model_they_touched_and_filter_by_it(engine):
    for model in ("churn", "fraud", None):
        audit.record(
            engine,
            audit.AuditEntry(
                user="ann",
                kind="user",
                action="promotion:approve",
                method="POST",
                path="/p",
                result="conflict",
                status=409,
                model=model,
                version="3" if model else None,
                alias="champion" if model else None,
            ),
        )
    found = audit.search(engine, model="churn")["entries"]
    assert [(e["model"], e["version"], e["alias"], e["result"]) for e in found] == [
        ("churn", "3", "champion", "conflict")
    ]
    assert len(audit.search(engine, result="conflict")["entries"]) == 3
    with pytest.raises(InvalidParameterError, match="conflict"):
        audit.search(engine, result="maybe")
