"""A stand-in for the platform service's REST answers, on loopback, for the library's tests.

The platform service itself is tested for real in ``tests/integration``; this
checks what the library sends and how it reads answers (``tests/lib``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Answer = tuple[int, dict[str, str], bytes]


class FakePlatform:
    """Answers ``(method, path)`` with ``routes[...](request)``; keeps every request."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Callable[[dict[str, Any]], Answer]] = {}
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                url = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = {
                    "method": self.command,
                    "path": url.path.removeprefix("/services/platform/"),
                    "query": parse_qs(url.query),
                    "headers": dict(self.headers),
                    "body": body,
                }
                fake.requests.append(request)
                route = fake.routes.get((self.command, request["path"]))
                status, headers, data = route(request) if route else (404, {}, b"{}")
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/platform/"

    def json(self, method: str, path: str, answer: Any, status: int = 200) -> None:
        data = json.dumps(answer).encode()
        self.routes[(method, path)] = lambda _: (status, {"Content-Type": "application/json"}, data)

    def pages(self, method: str, path: str, pages: list[Any]) -> None:
        """Answer successive requests with successive pages."""
        answers = iter(pages)
        self.routes[(method, path)] = lambda _: (
            200,
            {"Content-Type": "application/json"},
            json.dumps(next(answers)).encode(),
        )

    def sent(self, method: str, path: str) -> list[dict[str, Any]]:
        """The requests of ``method`` to ``path``, their JSON bodies decoded."""
        return [
            {**r, "json": json.loads(r["body"]) if r["body"] else None}
            for r in self.requests
            if (r["method"], r["path"]) == (method, path)
        ]


@contextmanager
def running() -> Iterator[FakePlatform]:
    """A started :class:`FakePlatform`, shut down after."""
    fake = FakePlatform()
    thread = threading.Thread(  # a short poll: shutting down waits for one
        target=fake.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()
