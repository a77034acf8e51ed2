"""The spawner's check that a new server's port is held by the server itself."""

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
