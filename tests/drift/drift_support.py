"""The platform service with the drift capability, in this process, on a loopback port.

Every handler is the shipped one (``make_app`` with the installed capabilities,
the host's and their migrations); only JupyterHub is stood in for, by a loopback
server answering its ``GET /hub/api/user`` for the tokens a test hands out.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from nbplatform_hub import host
from nbplatform_hub.roles import ALL_SCOPES
from platform_harness import free_port

PREFIX = "/services/platform/"
ACCESS = "access:services!service=platform"
#: The scopes of the platform's roles (a token may hold any subset).
VIEWER = [ACCESS, host.DRIFT_READ, host.JOBS_READ]
DATA_SCIENTIST = [*VIEWER, host.DRIFT_WRITE, host.JOBS_WRITE]
ADMIN = [ACCESS, *ALL_SCOPES]


class _Hub(BaseHTTPRequestHandler):
    """``GET /hub/api/user``: the model of the token's user, 403 for an unknown token."""

    def do_GET(self) -> None:  # noqa: N802
        token = self.headers.get("Authorization", "").removeprefix("token ").strip()
        model = self.server.users.get(token)  # type: ignore[attr-defined]
        if self.path.rstrip("/").endswith("/user") and model is not None:
            body, status = json.dumps(model).encode(), 200
        else:
            body, status = b'{"message": "no such token"}', 403
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@dataclass
class Service:
    """The running service: its URL, database, home, and tokens of people."""

    url: str
    engine: Any
    home: Path
    context: Any
    users: dict[str, dict[str, Any]] = field(default_factory=dict)

    def token(self, name: str, scopes: list[str], token_id: str | None = None) -> str:
        """A token of ``name`` with ``scopes`` (and a token id, as the hub gives)."""
        token = f"tok-{name}-{len(self.users)}"
        self.users[token] = {
            "kind": "user",
            "name": name,
            "admin": False,
            "groups": [],
            "scopes": scopes,
            "token_id": token_id or f"id-{len(self.users)}",
        }
        return token

    def call(self, method: str, path: str, token: str | None = None, **kwargs: Any):
        """A request to ``<prefix><path>`` with ``token``."""
        headers = kwargs.pop("headers", {})
        if token is not None:
            headers["Authorization"] = f"token {token}"
        return requests.request(
            method, self.url + path, headers=headers, timeout=60, allow_redirects=False, **kwargs
        )

    def settle(self, timeout: float = 30) -> None:
        """Wait for the notices being delivered."""
        import concurrent.futures

        pending = list(self.context.state["drift"].notices)
        concurrent.futures.wait(pending, timeout=timeout)


def start_service(
    tmp_path_factory: pytest.TempPathFactory, names: tuple[str, ...] = ("jobs", "drift")
) -> Iterator[Service]:
    """Run the platform service (host and the capabilities ``names``, mounted and
    migrated) and a stand-in hub."""
    from jupyterhub.services.auth import HubOAuth

    from nbplatform_hub.service import capabilities
    from nbplatform_hub.service.app import ServiceContext, make_app
    from nbplatform_hub.service.hubclient import HubClient
    from nbplatform_hub.service.settings import ServiceSettings

    home = tmp_path_factory.mktemp("drift-home")
    hub = ThreadingHTTPServer(("127.0.0.1", free_port()), _Hub)
    hub.users = {}  # type: ignore[attr-defined]
    threading.Thread(target=hub.serve_forever, daemon=True).start()
    hub_api = f"http://127.0.0.1:{hub.server_address[1]}/hub/api"
    port = free_port()
    saved = {k: os.environ.get(k) for k in _ENV}
    os.environ.update(
        {
            "JUPYTERHUB_API_URL": hub_api,
            "JUPYTERHUB_API_TOKEN": "service-token",
            "JUPYTERHUB_SERVICE_NAME": "platform",
            "JUPYTERHUB_SERVICE_PREFIX": PREFIX,
            "JUPYTERHUB_CLIENT_ID": "service-platform",
            "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{port}",
            "NBP_HOME": str(home),
            "NBP_WEBHOOK_ALLOW": "127.0.0.1",
        }
    )
    HubOAuth.clear_instance()
    settings = ServiceSettings.from_env()
    engine = host.connect(settings.database_url)
    installed = [c for c in capabilities.load_capabilities() if c.name in names]
    capabilities.migrate(engine, home, installed)
    context = ServiceContext(
        home=home, engine=engine, hub=HubClient(hub_api, "service-token"), settings=settings
    )
    capabilities.start(context, installed)
    app = make_app(context, PREFIX, installed)
    ready = threading.Event()
    state: dict[str, Any] = {}

    def serve() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        state["loop"], state["server"] = loop, app.listen(port, "127.0.0.1")
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ready.wait(10)
    running = Service(
        url=f"http://127.0.0.1:{port}{PREFIX}", engine=engine, home=home, context=context
    )
    running.users = hub.users  # type: ignore[attr-defined]
    try:
        yield running
    finally:
        state["loop"].call_soon_threadsafe(state["server"].stop)
        state["loop"].call_soon_threadsafe(state["loop"].stop)
        thread.join(10)
        hub.shutdown()
        hub.server_close()
        engine.dispose()
        HubOAuth.clear_instance()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


_ENV = (
    "JUPYTERHUB_API_URL",
    "JUPYTERHUB_API_TOKEN",
    "JUPYTERHUB_SERVICE_NAME",
    "JUPYTERHUB_SERVICE_PREFIX",
    "JUPYTERHUB_CLIENT_ID",
    "JUPYTERHUB_SERVICE_URL",
    "NBP_HOME",
    "NBP_WEBHOOK_ALLOW",
)


def column(name: str, drifted: bool, score: float, method: str = "wasserstein") -> dict:
    """A column result as the library's engine computes it."""
    return {
        "column": name,
        "type": "num",
        "method": method,
        "statistic": score * 0.1,
        "threshold": 0.1,
        "drifted": drifted,
        "score": score,
    }


def check_body(*columns: dict, dataset_drift: bool | None = None, **extra: Any) -> dict:
    """A check's body with ``columns`` (dataset drift when half of them drifted)."""
    drifted = sum(1 for c in columns if c["drifted"])
    share = drifted / len(columns)
    return {
        "columns": list(columns),
        "dataset_drift": share >= 0.5 if dataset_drift is None else dataset_drift,
        "drift_share": share,
        "threshold_share": 0.5,
        "reference_rows": 1000,
        "current_rows": 500,
        **extra,
    }
