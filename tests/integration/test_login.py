"""Sign-up, admin authorization and login through the real hub and NativeAuthenticator."""

from __future__ import annotations

import pytest

from platform_harness import authorize, logged_in, login, signup

pytestmark = pytest.mark.integration


def test_signup_needs_admin_authorization_then_logs_in(platform):
    name, password = "carol", "a-Long-passw0rd!"
    r = signup(platform, name, password)
    assert r.status_code == 200

    # Not authorized yet: the login is refused.
    assert not logged_in(login(platform, name, password))

    # The admin sees carol waiting on /hub/authorize and authorizes her.
    admin = login(platform, "admin", platform.admin_password)
    assert logged_in(admin)
    page = admin.get(f"{platform.url}/hub/authorize", timeout=30)
    assert page.status_code == 200 and name in page.text
    authorize(platform, name)

    assert logged_in(login(platform, name, password))
    # A new user is a data-scientist.
    user = platform.hub_api("GET", f"users/{name}").json()
    assert user["groups"] == ["data-scientist"]


def test_non_admin_cannot_authorize(platform):
    name, password = "mallory", "an0ther-Long-pass!"
    signup(platform, name, password)
    signup(platform, "trent", "trent-Long-pass-1")
    authorize(platform, "trent")
    trent = login(platform, "trent", "trent-Long-pass-1")
    assert logged_in(trent)
    r = trent.get(f"{platform.url}/hub/authorize/{name}", timeout=30)
    assert r.status_code == 403
    assert not logged_in(login(platform, name, password))


def test_wrong_password_is_refused(platform):
    assert not logged_in(login(platform, "admin", "not-the-password"))


def test_admin_is_platform_admin(platform):
    me = platform.service("GET", "api/me", platform.admin_token).json()
    assert me["name"] == "admin"
    assert me["roles"] == ["platform-admin"]
    assert "custom:nbplatform:models:approve" in me["scopes"]


def test_spawn_page_lists_only_the_users_profiles(platform):
    signup(platform, "wendy", "wendy-Long-pass-1")
    authorize(platform, "wendy")
    platform.create_user("wendy", group="viewer")
    session = login(platform, "wendy", "wendy-Long-pass-1")
    page = session.get(f"{platform.url}/hub/spawn", timeout=30).text
    assert 'data-profile="cpu-small"' in page
    assert 'data-profile="cpu-large"' not in page
    assert 'data-profile="gpu"' not in page
