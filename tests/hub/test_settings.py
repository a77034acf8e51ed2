from __future__ import annotations

import stat

import pytest

from nbplatform.errors import ConfigurationError
from nbplatform_hub.settings import Settings, ensure_admin_password


def test_defaults(tmp_path):
    s = Settings.from_env({}, root=tmp_path)
    assert s.home == (tmp_path / "var").resolve()
    assert (s.ip, s.port) == ("127.0.0.1", 8000)
    assert s.admin_users == ["admin"]
    assert s.public_url == "http://127.0.0.1:8000"
    assert s.platform_url == "http://127.0.0.1:8090/services/platform/"


def test_everything_lives_under_home(tmp_path):
    s = Settings.from_env({"NBP_HOME": str(tmp_path / "h")})
    for path in (s.hub_dir, s.users_dir, s.platform_dir, s.logs_dir, s.admin_password_file):
        assert path.is_relative_to(s.home)


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"NBP_PORT": "eighty"}, "NBP_PORT"),
        ({"NBP_MEMORY_ENFORCEMENT": "maybe"}, "NBP_MEMORY_ENFORCEMENT"),
        ({"NBP_AUTHENTICATOR": "ldap"}, "NBP_AUTHENTICATOR"),
        ({"NBP_ADMIN_USERS": " , "}, "NBP_ADMIN_USERS"),
        ({"NBP_ADMIN_TOKEN": "short"}, "NBP_ADMIN_TOKEN"),
        ({"NBP_PROMOTION_SELF_APPROVAL": "sometimes"}, "NBP_PROMOTION_SELF_APPROVAL"),
        ({"NBP_SPAWN_TIMEOUT": "soon"}, "NBP_SPAWN_TIMEOUT"),
        ({"NBP_SPAWN_TIMEOUT": "0"}, "NBP_SPAWN_TIMEOUT"),
    ],
)
def test_bad_values_are_named(tmp_path, env, needle):
    with pytest.raises(ConfigurationError, match=needle):
        Settings.from_env(env, root=tmp_path)


def test_generated_password_is_kept_private_and_reused(tmp_path):
    s = Settings.from_env({"NBP_HOME": str(tmp_path)})
    password, generated = ensure_admin_password(s)
    assert generated and len(password) >= 12
    assert stat.S_IMODE(s.admin_password_file.stat().st_mode) == 0o600
    assert ensure_admin_password(s) == (password, False)


def test_password_from_environment_wins(tmp_path):
    s = Settings.from_env({"NBP_HOME": str(tmp_path), "NBP_ADMIN_PASSWORD": "given-pass"})
    assert ensure_admin_password(s) == ("given-pass", False)
    assert not s.admin_password_file.exists()


def test_four_eyes_unless_one_person_runs_the_platform(tmp_path):
    assert Settings.from_env({}, root=tmp_path).promotion_self_approval is False
    alone = Settings.from_env({"NBP_PROMOTION_SELF_APPROVAL": "1"}, root=tmp_path)
    assert alone.promotion_self_approval is True
