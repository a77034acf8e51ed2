"""The base of the tests' stand-in HTTP servers (a stand-in MLflow...)."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@contextlib.contextmanager
def stand_in(handler: type[BaseHTTPRequestHandler], **attributes: Any) -> Iterator[Any]:
    """Serve ``handler`` on a loopback port in a thread; ``attributes`` are set on the server.

    The handler reads them as ``self.server.<name>`` (the calls it records, its state).
    """
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    for name, value in attributes.items():
        setattr(server, name, value)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def mlflow_at(running: Any, server: Any) -> None:
    """Point a running platform service's MLflow client at the stand-in ``server``."""
    running.context.mlflow_url = f"http://127.0.0.1:{server.server_address[1]}"
    running.context.mlflow_socket = None


class JSONHandler(BaseHTTPRequestHandler):
    """Answers with JSON (:meth:`answer`); writes no access log."""

    def answer(self, status: int, body: Any) -> None:
        """Send ``body`` as JSON with ``status``."""
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:  # noqa: D102 - quiet
        pass
