"""The spawner: its check that a new server's port is held by the server itself, and the
spawn page's true reason a GPU profile is unavailable (GPUs turned off, none found, all
in use)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from nbplatform_hub.spawner import PortTaken, ProfileSpawner, descendants, listener_pid


def test_the_listener_of_a_port_is_found():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert listener_pid(port) == os.getpid()
    assert listener_pid(port) is None


def test_descendants_are_children_and_grandchildren():
    sleeper = "import time; time.sleep(30)"
    spawn = f"subprocess.Popen([sys.executable, '-c', {sleeper!r}])"
    code = f"import subprocess, sys, time; {spawn}; {sleeper}"
    parent = subprocess.Popen([sys.executable, "-c", code])
    try:
        for _ in range(100):
            below = descendants(os.getpid())
            if len(below) >= 2:
                break
            time.sleep(0.05)
        assert parent.pid in below and len(below) >= 2
        assert descendants(2**22 + 7) == set()
    finally:
        for pid in descendants(parent.pid):
            os.kill(pid, 9)
        parent.kill()
        parent.wait()


def test_a_port_held_by_another_process_is_refused():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        try:
            server = SimpleNamespace(
                isolated=True, proc=other, pid=other.pid, user=SimpleNamespace(name="ana")
            )
            with pytest.raises(PortTaken, match=rf"ana's server \({port}\) is held by"):
                ProfileSpawner._check_listener(server, port)  # type: ignore[arg-type]
            server.pid = os.getpid()  # the listener is the server itself
            ProfileSpawner._check_listener(server, port)  # type: ignore[arg-type]
        finally:
            other.kill()
            other.wait()


def test_the_hubs_allocator_gives_the_true_reason_and_shares_the_lease_file(tmp_path, monkeypatch):
    from nbplatform_hub import spawner

    monkeypatch.setenv("NBP_GPUS", "none")
    monkeypatch.setenv("NBP_HOME", str(tmp_path))
    monkeypatch.setattr(spawner, "_allocator", None)
    ok, reason = spawner.gpu_allocator().availability(1, profile="gpu")
    assert not ok and "NBP_GPUS is set to 'none'" in reason and "unset" not in reason
    monkeypatch.setenv("NBP_GPUS", "0")
    monkeypatch.setattr(spawner, "_allocator", None)
    assert spawner.gpu_allocator().allocate("alice/", 1) == ["0"]
    assert '"alice/": ["0"]' in (tmp_path / "run" / "gpus.json").read_text()
    monkeypatch.setattr(spawner, "_allocator", None)


def _spawn_page(user: str = "alice") -> str:
    """The spawn page's profile form for ``user``'s default server (every profile allowed)."""
    from nbplatform_hub.profiles import default_profiles_path, load_profiles

    profiles = load_profiles(default_profiles_path())
    page = SimpleNamespace(allowed_profiles=lambda: profiles, user_options={}, owner_key=f"{user}/")
    return ProfileSpawner.render_options_form(page)  # type: ignore[arg-type]


def _gpu_row(form: str) -> str:
    return form[form.index('data-profile="gpu"') :].split("</label>")[0]


@pytest.mark.parametrize(
    ("env", "says", "not_said"),
    [
        (
            {"NBP_GPUS": "none"},
            "Unavailable: GPUs are turned off by configuration (NBP_GPUS is set to "
            "&#x27;none&#x27;): this platform hands out no GPU, so the &#x27;gpu&#x27; "
            "profile cannot start.",
            "unset",
        ),
        (
            {"NBP_GPUS": ""},
            "Unavailable: GPUs are turned off by configuration (NBP_GPUS is set to &#x27;&#x27;)",
            "unset",
        ),
        (
            {"PATH": "/nonexistent"},
            "Unavailable: No GPU was found on this machine (pynvml is not installed; nvidia-smi "
            "is not on PATH; no ",
            "turned off",
        ),
    ],
)
def test_the_spawn_page_gives_the_true_reason_a_gpu_profile_is_unavailable(
    tmp_path, monkeypatch, env, says, not_said
):
    import sys

    from nbplatform_hub import gpu_discovery, spawner

    monkeypatch.delenv("NBP_GPUS", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("NBP_HOME", str(tmp_path))
    monkeypatch.setitem(sys.modules, "pynvml", None)  # no NVML on this (pretend) machine
    monkeypatch.setattr(gpu_discovery, "DEV_DIR", tmp_path)  # and no /dev/nvidia<N>
    monkeypatch.setattr(spawner, "_allocator", None)
    row = _gpu_row(_spawn_page())
    assert "disabled" in row and says in row and not_said not in row
    monkeypatch.setattr(spawner, "_allocator", None)


def test_the_spawn_page_says_all_gpus_are_in_use_and_by_whom(tmp_path, monkeypatch):
    from nbplatform_hub import spawner

    monkeypatch.setenv("NBP_GPUS", "0")
    monkeypatch.setenv("NBP_HOME", str(tmp_path))
    monkeypatch.setattr(spawner, "_allocator", None)
    try:
        assert "disabled" not in _gpu_row(_spawn_page())
        spawner.gpu_allocator().allocate("bob/", 1, profile="gpu")
        row = _gpu_row(_spawn_page())
        assert "disabled" in row
        assert "Unavailable: No free GPU: the only GPU is in use (by bob)." in row
        # What the user's own server holds is theirs to restart with.
        assert "disabled" not in _gpu_row(_spawn_page("bob"))
    finally:
        monkeypatch.setattr(spawner, "_allocator", None)


def test_reset_gpu_allocator_keeps_the_true_reason(monkeypatch):
    from nbplatform_hub import spawner

    monkeypatch.setenv("NBP_GPUS", "none")
    try:
        reason = spawner.reset_gpu_allocator().availability(1, profile="gpu")[1]
        assert "NBP_GPUS is set to 'none'" in reason and "unset" not in reason
        assert spawner.reset_gpu_allocator(["0"]).devices == ["0"]
    finally:
        monkeypatch.setattr(spawner, "_allocator", None)
