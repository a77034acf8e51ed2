from __future__ import annotations

from nbplatform_hub import roles


def test_roles_are_cumulative():
    viewer, scientist, admin = (set(roles.ROLE_SCOPES[r]) for r in roles.ROLE_NAMES)
    assert viewer < scientist < admin
    assert all(s.endswith(":read") for s in viewer)
    assert "custom:nbplatform:models:approve" in admin - scientist
    assert "custom:nbplatform:audit:read" in admin - scientist


def test_every_scope_is_a_valid_custom_scope():
    import re

    pattern = re.compile(r"^custom:[a-z0-9][a-z0-9_\-\*:]+[a-z0-9_\*]$")
    assert all(pattern.match(s) for s in roles.CUSTOM_SCOPES)
    assert all(s in roles.CUSTOM_SCOPES for r in roles.ROLE_SCOPES.values() for s in r)


def test_platform_roles_go_to_groups_of_the_same_name():
    for role in roles.platform_roles():
        assert role["groups"] == [role["name"]]
        assert "access:services!service=platform" in role["scopes"]


def test_server_token_scopes_are_narrow():
    scopes = roles.server_role()["scopes"]
    assert "users:activity!user" in scopes and "access:servers!server" in scopes
    assert not any(s.startswith(("admin", "inherit", "servers", "users")) for s in scopes[1:])
    assert set(roles.ALL_SCOPES) <= set(scopes)


def test_helpers():
    assert roles.roles_for_groups(["x", "platform-admin", "viewer"]) == ["viewer", "platform-admin"]
    assert roles.nbplatform_scopes(["read:users", "custom:nbplatform:jobs:read", "custom:x"]) == [
        "custom:nbplatform:jobs:read"
    ]
