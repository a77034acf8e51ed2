"""The base of the tests' stand-in HTTP servers (a stand-in MLflow...)."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any


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
