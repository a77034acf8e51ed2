from __future__ import annotations

import socket

import pytest

from nbplatform.errors import ConfigurationError
from nbplatform_hub import preflight
from nbplatform_hub.settings import Settings


def test_port_in_use_is_detected():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert preflight.port_in_use("127.0.0.1", port)
    assert not preflight.port_in_use("127.0.0.1", port)


def test_home_under_a_file_is_refused(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    settings = Settings.from_env({"NBP_HOME": str(blocker / "home")})
    with pytest.raises(ConfigurationError, match="NBP_HOME=.* is not writable"):
        preflight.check_home(settings)


def test_missing_proxy_is_explained(tmp_path, monkeypatch):
    settings = Settings.from_env({"NBP_HOME": str(tmp_path)})
    monkeypatch.setattr(Settings, "proxy_executable", property(lambda self: tmp_path / "chp"))
    with pytest.raises(ConfigurationError, match="make up"):
        preflight.check_proxy(settings)


def test_node_is_found_here():
    assert preflight.check_node().startswith("v")
