"""Starting, refusing to start, restarting; no GPUs; memory limits. Real `nbplatform up` runs."""

from __future__ import annotations

import os
import socket
import stat
import textwrap

import pytest

from platform_harness import Platform, logged_in, login, platform_env, run_up

pytestmark = pytest.mark.integration

SMALL_PROFILES = textwrap.dedent(
    """
    profiles:
      - slug: tiny
        display_name: Tiny
        description: For tests of the memory limit.
        default: true
        cpu_limit: 1
        mem_limit: 600M
        gpus: 0
        kernels: [nbplatform-cpu]
        groups: [viewer, data-scientist, platform-admin]
      - slug: gpu
        display_name: GPU
        description: One GPU.
        cpu_limit: 1
        mem_limit: 2G
        gpus: 1
        kernels: [nbplatform-gpu, nbplatform-cpu]
        groups: [data-scientist, platform-admin]
    """
)


@pytest.fixture(scope="module")
def bare(homes):
    """A platform with no GPU, small profiles and a generated admin password."""
    home = homes("nbp-bare")
    profiles = home.parent / "small-profiles.yaml"
    profiles.write_text(SMALL_PROFILES)
    env = platform_env(home, NBP_GPUS="none", NBP_PROFILES=str(profiles))
    del env["NBP_ADMIN_PASSWORD"]
    running = Platform(env).start()
    try:
        yield running
    finally:
        running.stop()


def test_malformed_profiles_stop_the_hub_naming_file_and_field(tmp_path):
    bad = tmp_path / "profiles.yaml"
    bad.write_text(SMALL_PROFILES.replace("mem_limit: 600M", "mem_limit: lots"))
    result = run_up(platform_env(tmp_path / "home", NBP_PROFILES=str(bad)))
    assert result.returncode != 0
    assert str(bad) in result.stderr
    assert "profiles[0].mem_limit" in result.stderr
    assert "Traceback" not in result.stderr


def test_port_in_use_is_one_sentence(tmp_path):
    env = platform_env(tmp_path / "home")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", int(env["NBP_PORT"])))
        busy.listen()
        result = run_up(env)
    assert result.returncode == 2
    assert f"Port {env['NBP_PORT']} on 127.0.0.1 is already in use" in result.stderr
    assert "NBP_PORT" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unwritable_home_is_one_sentence(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run_up(platform_env(blocker / "home"))
    assert result.returncode == 2
    assert "is not writable" in result.stderr and "NBP_HOME" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_required_isolation_that_cannot_be_had_is_one_sentence(tmp_path):
    env = platform_env(tmp_path / "home", NBP_ISOLATION="off", NBP_REQUIRE_ISOLATION="1")
    result = run_up(env)
    assert result.returncode == 2
    assert "NBP_REQUIRE_ISOLATION=1 asks for one system user per platform user" in result.stderr
    assert "NBP_ISOLATION=off" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "home" / "hub").exists()  # refused before writing anything


def test_missing_node_is_one_sentence(tmp_path):
    env = platform_env(tmp_path / "home")
    env["PATH"] = os.path.dirname(env["PATH"].split(os.pathsep)[0] + "/x")  # the venv's bin only
    result = run_up(env)
    assert result.returncode == 2
    assert "Node.js 20+ is needed" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_first_start_prints_the_generated_admin_password_once(bare):
    password_file = bare.home / "admin-password"
    password = password_file.read_text().strip()
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert f"the password of admin is {password}" in bare.log()
    assert logged_in(login(bare, "admin", password))


def test_no_gpu_means_gpu_profile_is_refused_and_shown_unavailable(bare):
    bare.create_user("nogpu")
    r = bare.spawn("nogpu", "gpu")
    assert r.status_code == 503
    assert "no GPU" in r.json()["message"]
    # The true reason: NBP_GPUS=none turns GPUs off (it is not "unset").
    assert "turned off by configuration" in r.json()["message"]
    assert "unset" not in r.json()["message"]
    admin = login(bare, "admin", (bare.home / "admin-password").read_text().strip())
    page = admin.get(f"{bare.url}/hub/spawn", timeout=30).text
    assert 'data-profile="gpu"' in page
    gpu_row = page[page.index('data-profile="gpu"') :]
    assert "disabled" in gpu_row.split("</label>")[0]
    assert "Unavailable: GPUs are turned off by configuration" in gpu_row.split("</label>")[0]


def test_memory_limit_kills_the_kernel_not_the_server(bare):
    token = bare.create_user("hungry")
    bare.spawn("hungry", "tiny")
    try:
        ok = bare.execute("hungry", "x = bytearray(100 * 2**20); print(len(x))", token)
        assert ok["status"] == "ok"
        big = "x = bytearray(1500 * 2**20)\nx[::4096] = b'1' * len(x[::4096])\nprint('survived')"
        result = bare.execute("hungry", big, token, timeout=60)
        assert result["status"] == "died", result
        assert "survived" not in result["stdout"]
        # The server itself is still there.
        assert bare.server("hungry", "GET", "api/status", token).status_code == 200
    finally:
        bare.stop_server("hungry")


def test_restart_keeps_users_groups_tokens_and_password(bare):
    token = bare.create_user("ruth", group="viewer")
    password = (bare.home / "admin-password").read_text().strip()
    assert bare.stop() == 0
    bare.start()
    assert "the password of admin is" not in bare.log()
    me = bare.service("GET", "api/me", token)
    assert me.status_code == 200
    assert me.json()["roles"] == ["viewer"]
    assert logged_in(login(bare, "admin", password))
