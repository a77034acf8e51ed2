"""The platform service's HTTP connection to MLflow: a Unix socket only its user can reach.

On one machine every user's kernel is a local process, so a loopback port is no
boundary: anything listening on it answers them without a token. MLflow
therefore listens on ``NBP_HOME/run/mlflow.sock`` (uvicorn's ``--uds``), in a
folder of mode 0700 owned by the hub's user, and the platform service, the only
client, reaches it with tornado's HTTP client through :class:`UnixSocketResolver`.
``NBP_MLFLOW_URL`` (an ``http(s)://`` address) replaces the socket where MLflow
runs elsewhere (its own deployment on Kubernetes, behind a network policy).
"""

from __future__ import annotations

import socket
from typing import Any

from tornado.httpclient import AsyncHTTPClient
from tornado.netutil import DefaultLoopResolver, Resolver

#: The host name the gateway puts in URLs and ``Host`` headers when MLflow is on a socket.
SOCKET_HOST = "mlflow"
#: Artifacts may be far larger than tornado's default 100 MB limit.
MAX_BODY = 1 << 40


class UnixSocketResolver(Resolver):
    """Resolve :data:`SOCKET_HOST` to a Unix socket; every other name as usual."""

    def initialize(self, socket_path: str, host: str = SOCKET_HOST) -> None:  # type: ignore[override]  # noqa: D102
        self.socket_path = socket_path
        self.host = host
        self.fallback = DefaultLoopResolver()

    async def resolve(  # type: ignore[override]  # noqa: D102
        self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> list[tuple[int, Any]]:
        if host == self.host:
            return [(socket.AF_UNIX, self.socket_path)]
        return await self.fallback.resolve(host, port, family)


def base_url(socket_path: str | None, url: str | None) -> str:
    """The base URL of MLflow as the service's client sees it."""
    if url:
        return url.rstrip("/")
    return f"http://{SOCKET_HOST}"


_clients: dict[tuple[str | None, str], AsyncHTTPClient] = {}


def client(socket_path: str | None, host: str = SOCKET_HOST) -> AsyncHTTPClient:
    """The HTTP client to a server on a Unix socket (one per socket, made in the running loop).

    Args:
        socket_path: The socket; ``None`` for an ordinary HTTP client.
        host: The host name in URLs that stands for the socket (MLflow's by default;
            the feature store's gateway uses its own).
    """
    found = _clients.get((socket_path, host))
    if found is None:
        kwargs: dict[str, Any] = {"max_clients": 64, "max_body_size": MAX_BODY}
        if socket_path:
            kwargs["resolver"] = UnixSocketResolver(socket_path=socket_path, host=host)
        found = AsyncHTTPClient(force_instance=True, **kwargs)
        _clients[(socket_path, host)] = found
    return found
