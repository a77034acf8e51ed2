"""Fixtures: real Jupyter servers with the nbplatform_lab extension, on loopback ports."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

JUPYTER = str(Path(sys.executable).with_name("jupyter"))

#: Variables a test server must not inherit: each test says what it wants.
_CONTROLLED = (
    "NBP_PLATFORM_URL",
    "NBP_TOKEN",
    "NBP_PROFILE",
    "NBP_GPU_DEVICES",
    "NBP_KERNELS",
    "JUPYTERHUB_API_TOKEN",
    "JUPYTERHUB_USER",
    "JUPYTERHUB_API_URL",
    "JUPYTERHUB_SERVICE_PREFIX",
    "JUPYTERHUB_SERVICE_URL",
    "JUPYTERHUB_ACTIVITY_URL",
    "JUPYTER_CONFIG_DIR",
    "JUPYTER_RUNTIME_DIR",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Response:
    status: int
    body: Any


@dataclass
class JupyterServer:
    """A running ``jupyter server`` subprocess."""

    url: str
    token: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def request(
        self, method: str, path: str, body: Any = None, *, token: str | None = "default"
    ) -> Response:
        """Send a request; ``token=None`` sends none, the default sends the server's."""
        headers = {"Content-Type": "application/json"}
        if token == "default":
            token = self.token
        if token is not None:
            headers["Authorization"] = f"token {token}"
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return Response(status, parsed)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(tmp: Path, env: dict[str, str], args: list[str]) -> JupyterServer:
    port, token = free_port(), f"test-{os.urandom(8).hex()}"
    for name in ("root", "runtime", "config", "data"):
        (tmp / name).mkdir(parents=True, exist_ok=True)
    full_env = {k: v for k, v in os.environ.items() if k not in _CONTROLLED}
    full_env.update(
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        JUPYTER_CONFIG_DIR=str(tmp / "config"),
        JUPYTER_DATA_DIR=str(tmp / "data"),
        JUPYTER_PLATFORM_DIRS="1",
        **env,
    )
    log_path = tmp / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                JUPYTER,
                "server",
                "--no-browser",
                "--allow-root",
                f"--ServerApp.port={port}",
                "--ServerApp.port_retries=0",
                "--ServerApp.ip=127.0.0.1",
                f"--IdentityProvider.token={token}",
                f"--ServerApp.root_dir={tmp / 'root'}",
                *args,
            ],
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = JupyterServer(f"http://127.0.0.1:{port}", token, process, log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter server exited ({process.returncode}):\n{server.log()}")
        try:
            if server.request("GET", "/api/status").status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"jupyter server did not answer within 60 s:\n{server.log()}")


@pytest.fixture(scope="module")
def jupyter_server_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., JupyterServer]]:
    """Start Jupyter servers with given environment variables and arguments."""
    started: list[JupyterServer] = []

    def factory(env: dict[str, str] | None = None, args: list[str] | None = None):
        server = start_server(tmp_path_factory.mktemp("jupyter"), env or {}, args or [])
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def unconfigured_server(jupyter_server_factory: Callable[..., JupyterServer]) -> JupyterServer:
    """A server not started by the hub (no NBP_PLATFORM_URL), polling kernels every 0.5 s."""
    return jupyter_server_factory(args=["--NbplatformLab.busy_kernel_poll_interval=0.5"])


@pytest.fixture(scope="module")
def unreachable_platform_server(
    jupyter_server_factory: Callable[..., JupyterServer],
) -> JupyterServer:
    """A server whose platform URL is a closed loopback port (default 60 s poll)."""
    return jupyter_server_factory(
        env={
            "NBP_PLATFORM_URL": f"http://127.0.0.1:{free_port()}/services/platform/",
            "JUPYTERHUB_API_TOKEN": "not-a-real-hub-token",
        }
    )
