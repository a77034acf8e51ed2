"""One system user per platform user: names, the decision, accounts, workspaces, reads."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from nbplatform.errors import ConfigurationError
from nbplatform_hub.isolation import (
    MAX_NAME,
    check_prefix,
    closed_ancestor,
    ensure_system_user,
    prepare_workspace,
    read_as,
    resolve,
    switch_to,
    system_username,
    user_environment,
)
from nbplatform_hub.preflight import check_isolation
from nbplatform_hub.settings import Settings

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="creating system users needs root")


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A folder others may enter (pytest's own temporary folders are 0700)."""
    path = Path(tempfile.mkdtemp(prefix="nbp-isolation-"))
    path.chmod(0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_plain_names_get_the_prefix():
    assert system_username("alice") == "jupyter-alice"
    assert system_username("data_sci-2", prefix="nbp-") == "nbp-data_sci-2"


@pytest.mark.parametrize("name", ["a.b", "Alice", "a@example.org", "ü", "x" * 40, "a b", ""])
def test_other_names_are_made_safe_and_never_collide(name):
    login = system_username(name)
    assert login.startswith("jupyter-") and len(login) <= MAX_NAME
    assert all(c.isascii() and (c.isalnum() or c in "_-") for c in login)
    assert login == system_username(name)  # the same user, the same account


def test_names_that_sanitise_alike_stay_apart():
    names = ["a.b", "a-b", "a_b", "A.b", "a..b"]
    logins = {system_username(n) for n in names}
    assert len(logins) == len(names)


@pytest.mark.parametrize("prefix", ["", "Jupyter-", "-x", "a" * 17, "a b", "jü-"])
def test_bad_prefixes_are_refused(prefix):
    with pytest.raises(ConfigurationError, match="NBP_SYSTEM_USER_PREFIX"):
        check_prefix(prefix)


def test_settings_read_the_isolation_variables(tmp_path):
    s = Settings.from_env(
        {
            "NBP_HOME": str(tmp_path),
            "NBP_ISOLATION": "off",
            "NBP_REQUIRE_ISOLATION": "1",
            "NBP_SYSTEM_USER_PREFIX": "nbp-",
        }
    )
    assert (s.isolation, s.require_isolation, s.system_user_prefix) == ("off", True, "nbp-")
    for variable, value in [("NBP_ISOLATION", "maybe"), ("NBP_REQUIRE_ISOLATION", "sure")]:
        with pytest.raises(ConfigurationError, match=variable):
            Settings.from_env({"NBP_HOME": str(tmp_path), variable: value})


def test_not_root_means_isolation_off_said_in_one_sentence(tmp_path):
    decision = resolve("auto", require=False, euid=1000, reach=[tmp_path], useradd="/x")
    assert not decision.enabled
    assert decision.message.count(". ") == 0 and decision.message.endswith(".")
    assert "does not run as root" in decision.message and "secrets" in decision.message


def test_required_isolation_refuses_to_start(tmp_path):
    with pytest.raises(ConfigurationError, match="NBP_REQUIRE_ISOLATION=1.*root"):
        resolve("auto", require=True, euid=1000, reach=[tmp_path], useradd="/x")
    with pytest.raises(ConfigurationError, match="NBP_ISOLATION=on.*useradd"):
        resolve("on", require=False, euid=0, reach=[tmp_path], useradd=None)
    with pytest.raises(ConfigurationError, match="NBP_ISOLATION=off"):
        resolve("off", require=True, euid=0, reach=[tmp_path], useradd="/x")


def test_a_closed_folder_on_the_way_is_named(open_dir):
    closed = open_dir / "closed"
    (closed / "inner").mkdir(parents=True)
    closed.chmod(0o700)
    assert closed_ancestor([closed / "inner" / "home"]) == closed
    decision = resolve("auto", require=False, euid=0, reach=[closed / "inner"], useradd="/x")
    assert not decision.enabled and f"chmod o+x {closed}" in decision.message
    closed.chmod(0o711)
    assert closed_ancestor([closed / "inner" / "not-yet" / "home"]) is None


def test_preflight_decides_from_the_settings(tmp_path):
    settings = Settings.from_env({"NBP_HOME": str(tmp_path / "home")})
    assert not check_isolation(settings, euid=4242).enabled
    with pytest.raises(ConfigurationError):
        check_isolation(Settings.from_env({"NBP_HOME": str(tmp_path), "NBP_ISOLATION": "on"}), 7)


def test_make_dirs_closes_home(tmp_path):
    for isolation, passage in [("off", 0o700), ("on", 0o711)]:
        s = Settings.from_env({"NBP_HOME": str(tmp_path / isolation), "NBP_ISOLATION": isolation})
        s.make_dirs()
        (s.home / "admin-password").write_text("x")
        s.make_dirs()
        modes = {p.name: p.stat().st_mode & 0o777 for p in s.home.iterdir()}
        assert s.home.stat().st_mode & 0o777 == passage
        assert modes.pop("users") == passage and modes.pop("kernels") == passage
        assert modes.pop("admin-password") == 0o600
        assert "jobs" in modes  # closed from the start, before any run makes it
        assert set(modes.values()) == {0o700}, modes


@root_only
def test_accounts_workspaces_and_reads(open_dir):
    name = f"iso-unit-{os.getpid()}"
    workspace = open_dir / "users" / name
    (workspace / "sub").mkdir(parents=True)
    (workspace / "sub" / "n.ipynb").write_text("{}")
    (workspace / "link").symlink_to("/etc/shadow")
    user = ensure_system_user(name, "jupyter-", workspace)
    try:
        check_account(user, name, workspace)
    finally:
        subprocess.run(["userdel", user.name], check=False, capture_output=True)


def check_account(user, name: str, workspace: Path) -> None:
    assert user == ensure_system_user(name, "jupyter-", workspace)  # idempotent
    entry = pwd.getpwnam(system_username(name))
    assert (entry.pw_uid, entry.pw_gid, entry.pw_dir) == (user.uid, user.gid, str(workspace))
    prepare_workspace(workspace, user)
    assert workspace.stat().st_mode & 0o777 == 0o700
    assert (workspace / "sub" / "n.ipynb").stat().st_uid == user.uid
    assert (workspace / "link").lstat().st_uid == user.uid
    assert Path("/etc/shadow").stat().st_uid == 0  # the link was not followed
    # Reads happen with the user's rights only.
    assert read_as(user, workspace / "sub" / "n.ipynb") == b"{}"
    with pytest.raises(PermissionError):
        read_as(user, workspace / "link")
    with pytest.raises(FileNotFoundError):
        read_as(user, workspace / "missing.ipynb")
    with pytest.raises(ValueError, match="larger"):
        read_as(user, workspace / "sub" / "n.ipynb", limit=1)
    # A process started with switch_to is the user, in the workspace, umask 077.
    env = user_environment({"PATH": os.environ["PATH"]}, user, workspace)
    moved = workspace.parent / "moved"
    assert ensure_system_user(name, "jupyter-", moved) == user
    assert pwd.getpwnam(user.name).pw_dir == str(moved)  # NBP_HOME moved: home follows
    out = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getuid(), os.getcwd(), oct(os.umask(0)))"],
        preexec_fn=switch_to(user, workspace),
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == [str(user.uid), str(workspace), "0o77"]
    assert env["HOME"] == str(workspace) and env["USER"] == user.name
