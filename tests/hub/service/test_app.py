"""The service application's access log: quiet where a route asks, never for refusals."""

from __future__ import annotations

import logging
import socket

from tornado.httpclient import AsyncHTTPClient
from tornado.httpserver import HTTPServer
from tornado.web import Application, HTTPError, RequestHandler

from nbplatform_hub.service.app import log_request


class Loud(RequestHandler):
    def get(self) -> None:
        self.finish("ok")


class Quiet(RequestHandler):
    access_log_level = logging.DEBUG

    def get(self) -> None:
        if self.get_argument("refuse", None):
            raise HTTPError(403)
        if self.get_argument("fail", None):
            raise RuntimeError("broken")
        self.finish("ok")


async def test_quiet_routes_log_answers_at_debug_and_refusals_and_failures_always(caplog):
    app = Application([(r"/loud", Loud), (r"/quiet", Quiet)], log_function=log_request)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    server = HTTPServer(app)
    server.add_sockets([listener])
    base = f"http://127.0.0.1:{listener.getsockname()[1]}"
    client = AsyncHTTPClient()
    caplog.set_level(logging.DEBUG, logger="tornado.access")
    try:
        for path in ("/loud", "/quiet", "/quiet?refuse=1", "/quiet?fail=1"):
            await client.fetch(base + path, raise_error=False)
    finally:
        server.stop()
    levels = {
        record.getMessage().split(" ")[2]: record.levelno
        for record in caplog.records
        if record.name == "tornado.access"
    }
    assert levels == {
        "/loud": logging.INFO,
        "/quiet": logging.DEBUG,
        "/quiet?refuse=1": logging.WARNING,
        "/quiet?fail=1": logging.ERROR,
    }
