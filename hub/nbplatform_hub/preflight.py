"""Checks before the platform starts, each failing with one clear sentence."""

from __future__ import annotations

import errno
import os
import re
import shutil
import socket
import subprocess
import sys
import uuid
from dataclasses import replace
from pathlib import Path

from nbplatform.errors import ConfigurationError

from .isolation import Decision, resolve
from .settings import Settings

MIN_NODE_MAJOR = 20


def check_home(settings: Settings) -> None:
    """``NBP_HOME`` exists (or can be created) and is writable.

    Raises:
        ConfigurationError: It cannot be created or written.
    """
    try:
        settings.make_dirs()
        probe = settings.home / f".write-test-{uuid.uuid4().hex}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as e:
        raise ConfigurationError(
            f"NBP_HOME={settings.home} is not writable ({e.strerror or e}): "
            "set NBP_HOME to a folder you can write to."
        ) from None


def check_node() -> str:
    """Node.js 20 or newer is on the PATH (configurable-http-proxy needs it).

    Returns:
        The Node.js version.

    Raises:
        ConfigurationError: Node.js is missing or too old.
    """
    node = shutil.which("node")
    if node is None:
        raise ConfigurationError(
            f"Node.js {MIN_NODE_MAJOR}+ is needed for the proxy and was not found on the PATH: "
            "install it (e.g. 'apt-get install nodejs') and run 'make up' again."
        )
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    match = re.match(r"v?(\d+)", version)
    if not match or int(match.group(1)) < MIN_NODE_MAJOR:
        raise ConfigurationError(
            f"Node.js {MIN_NODE_MAJOR}+ is needed for the proxy, found {version or 'unknown'} "
            f"at {node}: install a newer one."
        )
    return version


def check_proxy(settings: Settings) -> None:
    """configurable-http-proxy is installed in the repository's ``node_modules``.

    Raises:
        ConfigurationError: It is missing.
    """
    command = settings.proxy_executable
    if not command.is_file():
        raise ConfigurationError(
            f"configurable-http-proxy is not installed at {command}: run 'make up' "
            "(it runs 'npm install' in the repository)."
        )


def port_in_use(host: str, port: int) -> bool:
    """Return whether ``host:port`` cannot be bound because something listens there."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                return True
            raise ConfigurationError(f"Cannot listen on {host}:{port}: {e.strerror}.") from None
    return False


def check_ports(settings: Settings) -> None:
    """Every port the platform listens on is free.

    Raises:
        ConfigurationError: One is in use.
    """
    ports = [
        ("NBP_PORT", settings.ip, settings.port),
        ("NBP_HUB_PORT", "127.0.0.1", settings.hub_port),
        ("NBP_PROXY_API_PORT", "127.0.0.1", settings.proxy_api_port),
        ("NBP_SERVICE_PORT", "127.0.0.1", settings.service_port),
    ]
    for variable, host, port in ports:
        if port_in_use(host, port):
            raise ConfigurationError(
                f"Port {port} on {host} is already in use (is the platform already running?): "
                f"stop what uses it or choose another port with {variable}."
            )


def check_isolation(settings: Settings, euid: int | None = None) -> Decision:
    """Decide whether users are isolated (``NBP_ISOLATION``, ``NBP_REQUIRE_ISOLATION``).

    Users' processes must be able to run the platform's interpreter and to reach
    their workspaces: every folder above the interpreter's installation, the venv
    and ``NBP_HOME`` must be open to other users (``o+x``).

    Raises:
        ConfigurationError: Isolation is asked for and cannot be had.
    """
    python = Path(settings.python)
    return resolve(
        settings.isolation,
        require=settings.require_isolation,
        euid=os.geteuid() if euid is None else euid,
        reach=[
            python,
            python.resolve(),
            Path(sys.base_prefix) / "lib",
            Path(sys.prefix) / "lib",
            settings.home,
        ],
        useradd=shutil.which("useradd") or shutil.which("useradd", path="/usr/sbin:/sbin"),
    )


def run_all(settings: Settings) -> tuple[Settings, Decision]:
    """Run every check, in the order a user would fix them.

    Returns:
        The settings with ``isolation`` resolved to ``on`` or ``off``, and the
        decision (whose sentence ``nbplatform up`` prints).
    """
    decision = check_isolation(settings)
    settings = replace(settings, isolation="on" if decision.enabled else "off")
    check_home(settings)
    check_node()
    check_proxy(settings)
    check_ports(settings)
    return settings, decision
