"""Every drift route refuses a request without a token, with a bad one, and without scope."""

from __future__ import annotations

import re
import time

import pytest
from drift_support import ACCESS, DATA_SCIENTIST, PREFIX, VIEWER, check_body, column

from nbplatform_drift.capability import capability
from nbplatform_drift.models import NAME_PATTERN


def drift_routes() -> list[tuple[str, list[str]]]:
    """``(path, verbs)`` of every drift route, with sample path parameters."""
    found = []
    for module in capability.modules():
        for pattern, handler in module.routes:
            path = pattern.replace(f"(?P<name>{NAME_PATTERN})", "sample")
            path = re.sub(r"\(\?P<check_id>[^)]*\)", "1", path)
            verbs = [
                v
                for v in ("GET", "POST", "PATCH", "DELETE")
                if v.lower() in handler.__dict__
                or any(v.lower() in base.__dict__ for base in handler.__mro__[:3])
            ]
            verbs = [v for v in verbs if callable(getattr(handler, v.lower(), None))]
            found.append((path, [v for v in verbs if _implemented(handler, v)]))
    return found


def _implemented(handler: type, verb: str) -> bool:
    from tornado.web import RequestHandler

    return getattr(handler, verb.lower()) is not getattr(RequestHandler, verb.lower())


ROUTES = drift_routes()


def test_every_route_is_under_api_drift_and_has_verbs():
    assert len(ROUTES) == 10
    assert all(path.startswith("api/drift/") and verbs for path, verbs in ROUTES)


@pytest.mark.parametrize(("path", "verbs"), ROUTES)
def test_no_token_is_401_and_a_garbage_token_401(service, path, verbs):
    for verb in verbs:
        for token in (None, "garbage"):
            kwargs = {"json": {}} if verb != "GET" else {}
            r = service.call(verb, path, token, **kwargs)
            assert r.status_code == 401, (verb, path, token, r.status_code, r.text)
            assert r.json()["message"]


@pytest.mark.parametrize(("path", "verbs"), ROUTES)
def test_a_token_without_drift_scopes_is_403(service, path, verbs):
    # a monitor and check exist, so that the refusal is the scope's, not a 404
    owner = service.token("owner", DATA_SCIENTIST)
    if service.call("GET", "api/drift/monitors/sample", owner).status_code == 404:
        body = {"name": "sample", "feature_view": "v"}
        assert service.call("POST", "api/drift/monitors", owner, json=body).status_code == 201
        r = service.call(
            "POST", "api/drift/monitors/sample/checks", owner, json=check_body(column("a", True, 2))
        )
        assert r.json()["id"] == 1, r.text
    bare = service.token("bare", [ACCESS])
    for verb in verbs:
        kwargs = {"json": {}} if verb != "GET" else {}
        r = service.call(verb, path, bare, **kwargs)
        assert r.status_code == 403, (verb, path, r.status_code, r.text)
        assert "drift" in r.json()["message"] or "owner" in r.json()["message"], r.text
    viewer = service.token("viewer", VIEWER)
    writes = [v for v in verbs if v != "GET" and not path.endswith("/watch")]
    for verb in writes:
        r = service.call(verb, path, viewer, json={})
        assert r.status_code == 403, (verb, path, r.status_code, r.text)


def test_the_token_must_be_one_for_the_platform_service(service):
    outsider = service.token("outsider", ["custom:nbplatform:drift:read"])
    r = service.call("GET", "api/drift/monitors", outsider)
    assert r.status_code == 403 and "access:services" in r.json()["message"]


def test_writes_are_audited_with_drift_actions(service):
    from nbplatform_hub.service.audit import audit_log

    dora = service.token("dora", DATA_SCIENTIST)
    vera = service.token("vera", VIEWER)
    body = {"name": "audited", "feature_view": "v"}
    assert service.call("POST", "api/drift/monitors", vera, json=body).status_code == 403
    assert service.call("POST", "api/drift/monitors", dora, json=body).status_code == 201
    service.call("POST", "api/drift/monitors/audited/mute", dora, json={"minutes": 1})
    wanted = ("dora", "drift:mute:post", "allowed", "drift/monitors/audited/mute")
    deadline = time.monotonic() + 10
    while True:  # the entry is written when the answer is finished, maybe after it arrived
        with service.engine.connect() as conn:
            rows = conn.execute(audit_log.select().order_by(audit_log.c.id)).mappings().all()
        entries = [(r["user"], r["action"], r["result"], r["resource"]) for r in rows]
        if wanted in entries or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert ("vera", "drift:monitors:post", "refused", "drift/monitors") in entries
    assert ("dora", "drift:monitors:post", "allowed", "drift/monitors/audited") in entries
    assert ("dora", "drift:mute:post", "allowed", "drift/monitors/audited/mute") in entries, [
        e for e in entries if e[0] == "dora"
    ]
    assert PREFIX == "/services/platform/"
