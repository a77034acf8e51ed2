"""Nobody gets in where they do not belong: tokens, servers, the platform service."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def _head_revision() -> str:
    from alembic.script import ScriptDirectory

    from nbplatform_hub.service.db import MIGRATIONS

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def test_platform_service_refuses_calls_without_a_valid_token(platform):
    for path in ("api/health", "api/me", "api/nothing-here"):
        r = platform.service("GET", path, None)
        assert r.status_code == 401, (path, r.status_code)
        assert "token" in r.json()["message"]
        r = platform.service("GET", path, "not-a-token")
        assert r.status_code == 401, (path, r.status_code)


def test_platform_service_answers_a_valid_token(platform):
    token = platform.create_user("hank")
    health = platform.service("GET", "api/health", token).json()
    assert health["status"] == "ok"
    assert health["database"]["revision"] == _head_revision()
    assert platform.service("GET", "api/nothing-here", token).status_code == 404


def test_token_without_service_access_is_forbidden(platform):
    platform.create_user("ivy")
    r = platform.hub_api("POST", "users/ivy/tokens", json={"scopes": ["read:users:name!user"]})
    assert r.status_code == 201, r.text
    narrow = r.json()["token"]
    r = platform.service("GET", "api/me", narrow)
    assert r.status_code == 403
    assert "access:services!service=platform" in r.json()["message"]


def test_browser_without_login_is_sent_to_the_hub(platform):
    r = platform.service("GET", "", None)
    assert r.status_code == 302
    assert "/hub/api/oauth2/authorize" in r.headers["Location"]


def test_alice_cannot_use_bobs_server(platform):
    alice = platform.create_user("alice")
    bob = platform.create_user("bob")
    with platform.spawned("bob", "cpu-small"):
        assert platform.server("bob", "GET", "api/kernelspecs", bob).status_code == 200
        r = platform.server("bob", "GET", "api/kernelspecs", alice)
        assert r.status_code == 403
        r = platform.server("bob", "GET", "nbplatform/api/me", alice)
        assert r.status_code == 403


def test_server_extension_refuses_unauthenticated_and_answers_owner(platform):
    token = platform.create_user("jill")
    with platform.spawned("jill", "cpu-small"):
        r = platform.server("jill", "GET", "nbplatform/api/me", None)
        assert r.status_code in (302, 403)
        r = platform.server("jill", "GET", "nbplatform/api/me", token)
        assert r.status_code == 200, r.text
        me = r.json()
        assert me["name"] == "jill"
        assert me["roles"] == ["data-scientist"]
        assert me["server"]["profile"] == "cpu-small"


def test_viewer_server_token_gets_only_viewer_scopes(platform):
    token = platform.create_user("vera", group="viewer")
    with platform.spawned("vera", "cpu-small"):
        result = platform.execute("vera", "print(sorted(nbp.me()['scopes']))", token)
        scopes = eval(result["stdout"])  # a printed list of strings
        assert all(s.endswith(":read") for s in scopes), scopes
        assert "custom:nbplatform:models:read" in scopes
