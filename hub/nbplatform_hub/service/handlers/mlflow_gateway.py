"""``/services/platform/mlflow/…``: the authenticated gateway to the loopback MLflow server.

Every request is identified by its hub token (or login cookie, for the UI),
checked against the scope its MLflow endpoint needs (:mod:`..mlflow_rules`),
and forwarded with tornado's ``AsyncHTTPClient``. Bodies stream both ways:
request chunks go from :meth:`data_received` through a bounded queue to the
upstream ``body_producer``, and response chunks are written and flushed as
``streaming_callback`` receives them, so an artifact is never held whole in
memory. Only the small JSON bodies of alias and GraphQL requests are read first,
because their scope depends on them. Every write, allowed or refused, is audited.
The MLflow server's address never leaves the service: ``Location`` headers are
rewritten and upstream errors name MLflow, not its URL.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.httputil import HTTPHeaders
from tornado.log import app_log
from tornado.web import stream_request_body

from nbplatform.errors import (
    InvalidParameterError,
    PermissionDeniedError,
    UnauthenticatedError,
    UnavailableError,
)

from .. import audit
from ..base import APIHandler
from ..mlflow_rules import WRITE, Decision, check_path, classify, protected_names

#: Requests whose scope depends on their (small, JSON) body.
_NEEDS_BODY = ("registered-models/alias", "graphql")
MAX_INSPECTED_BODY = 1024 * 1024
MAX_STREAMED_BODY = 1 << 40
QUEUE_CHUNKS = 8
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}
#: Request headers never forwarded: credentials (the gateway has checked them),
#: browser-origin headers (the gateway is the security boundary), forwarding hints.
_DROP_REQUEST = _HOP_BY_HOP | {
    "host",
    "authorization",
    "cookie",
    "origin",
    "referer",
    "expect",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
}
_DROP_RESPONSE = _HOP_BY_HOP | {"server", "set-cookie", "date"}


@stream_request_body
class MlflowGatewayHandler(APIHandler):
    """Forward one request to MLflow after checking the caller's scope."""

    SUPPORTED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

    decision: Decision | None = None
    refused: str | None = None
    _buffer: bytearray | None = None
    _queue: asyncio.Queue[bytes | None] | None = None
    _upstream: Any = None
    _headers_out: HTTPHeaders | None = None
    _status_line: tuple[int, str] = (502, "Bad Gateway")
    _body_received = False

    # Identification and the scope check --------------------------------------
    async def prepare(self) -> None:  # noqa: D102
        path = self.path_kwargs["path"]
        try:
            await super().prepare()
        except UnauthenticatedError:
            if self.request.method == "GET" and not path.startswith(("api/", "ajax-api/")):
                self.redirect(self.get_login_url())
                return
            raise
        try:
            check_path(self.request.path)
            check_path(path)
            for name in ("path", "artifact_path"):
                for value in self.request.query_arguments.get(name, []):
                    check_path(value.decode("utf-8", "replace"))
        except InvalidParameterError as e:
            self._refuse_invalid(path, e)
            raise
        if any(path.rstrip("/").endswith(p) for p in _NEEDS_BODY) and self.request.method in (
            "POST",
            "DELETE",
        ):
            self._buffer = bytearray()
            return
        self._authorize(classify(self.request.method, path, self.protected, query=self.query))
        if self.request.method in ("POST", "PUT", "PATCH", "DELETE"):
            # Artifacts may be far larger than tornado's default 100 MB limit.
            self.request.connection.set_max_body_size(MAX_STREAMED_BODY)
            self._queue = asyncio.Queue(maxsize=QUEUE_CHUNKS)
            self._upstream = asyncio.ensure_future(self._forward(self._produce))

    @property
    def protected(self) -> frozenset[str]:
        """The aliases only platform-admins may move."""
        return protected_names(self.context.protected_aliases)

    @property
    def query(self) -> str:
        """The request's query string."""
        return self.request.query

    def _authorize(self, decision: Decision) -> None:
        self.decision = decision
        if decision.scope not in self.user.get("scopes", []):
            self.refused = f"lacks {decision.scope}"
            what = decision.resource or decision.action
            if decision.scope.endswith(":approve"):
                hint = "only platform-admins may do this; request a promotion instead."
            else:
                hint = "ask a platform admin for a role that grants it."
            raise PermissionDeniedError(
                f"{self.user['name']} may not {self.request.method} {what}: the token lacks "
                f"{decision.scope}; {hint}"
            )

    def _refuse_invalid(self, path: str, error: InvalidParameterError) -> None:
        if self.request.method not in ("GET", "HEAD", "OPTIONS"):
            self.decision = Decision(WRITE, "invalid-path", True, path[:512])
            self.refused = error.message

    # Request body -----------------------------------------------------------------
    async def data_received(self, chunk: bytes) -> None:  # noqa: D102
        if self._buffer is not None:
            if len(self._buffer) + len(chunk) > MAX_INSPECTED_BODY:
                raise InvalidParameterError("The request body is too large for this endpoint.")
            self._buffer += chunk
        elif self._queue is not None and not self._upstream.done():
            # Wait for room in the queue, unless MLflow gave up on the request.
            put = asyncio.ensure_future(self._queue.put(chunk))
            await asyncio.wait([put, self._upstream], return_when=asyncio.FIRST_COMPLETED)
            if not put.done():
                put.cancel()

    async def _produce(self, write: Any) -> None:
        assert self._queue is not None
        while (chunk := await self._queue.get()) is not None:
            await write(chunk)

    # Verbs ------------------------------------------------------------------------
    async def _handle(self, path: str) -> None:
        self._body_received = True
        if self._buffer is not None:
            body = bytes(self._buffer)
            self._authorize(
                classify(self.request.method, path, self.protected, body=body, query=self.query)
            )
            response = await self._forward(body=body)
        elif self._upstream is not None:
            assert self._queue is not None
            await self._queue.put(None)
            response = await self._upstream
        else:
            response = await self._forward()
        if response.code == 599 and self._headers_out is None:
            raise UnavailableError(
                "The MLflow server is not answering; it may still be starting. "
                "Try again in a few seconds."
            )
        self.finish()

    get = head = post = put = patch = delete = options = _handle

    # Forwarding -------------------------------------------------------------------
    async def _forward(self, body_producer: Any = None, body: bytes | None = None) -> Any:
        base = self.context.mlflow.url
        prefix = self.request.path[: len(self.request.path) - len(self._raw_path())]
        self._gateway_prefix = prefix
        url = base + "/" + self.request.uri[len(prefix) :]
        headers = HTTPHeaders()
        for name, value in self.request.headers.get_all():
            lower = name.lower()
            if lower in _DROP_REQUEST or lower.startswith("sec-"):
                continue
            if body is not None and lower == "content-length":
                continue
            headers.add(name, value)
        headers["X-Nbp-User"] = self.user["name"]
        method = self.request.method
        request = HTTPRequest(
            url,
            method=method,
            headers=headers,
            body=body if body is not None else None,
            body_producer=body_producer,
            follow_redirects=False,
            decompress_response=False,
            allow_nonstandard_methods=True,
            request_timeout=3600,
            header_callback=self._on_header_line,
            streaming_callback=self._on_chunk,
        )
        try:
            return await AsyncHTTPClient().fetch(request, raise_error=False)
        except OSError:
            raise UnavailableError(
                "The MLflow server is not answering; it may still be starting. "
                "Try again in a few seconds."
            ) from None

    def _raw_path(self) -> str:
        """The still-encoded part of the request path below ``mlflow/``."""
        path = self.request.path
        marker = "/mlflow/"
        index = path.find(marker)
        return path[index + len(marker) :] if index >= 0 else ""

    def _on_header_line(self, line: str) -> None:
        if line.startswith("HTTP/"):
            parts = line.strip().split(" ", 2)
            self._status_line = (int(parts[1]), parts[2] if len(parts) > 2 else "")
            self._headers_out = HTTPHeaders()
            return
        if line.strip() == "":
            self._apply_headers()
            return
        assert self._headers_out is not None
        self._headers_out.parse_line(line)

    def _apply_headers(self) -> None:
        status, reason = self._status_line
        if 100 <= status < 200:
            return
        self.set_status(status, reason or None)
        self.clear_header("Content-Type")
        upstream = urlsplit(self.context.mlflow.url).netloc
        for name, value in (self._headers_out or HTTPHeaders()).get_all():
            lower = name.lower()
            if lower in _DROP_RESPONSE:
                continue
            if lower == "content-length" and self.request.method == "HEAD":
                continue
            if upstream in value or lower == "location":
                value = self._rewrite(value, upstream)
            self.add_header(name, value)

    def _rewrite(self, value: str, upstream: str) -> str:
        for scheme in ("http://", "https://"):
            value = value.replace(f"{scheme}{upstream}/", self._gateway_prefix)
            value = value.replace(f"{scheme}{upstream}", self._gateway_prefix.rstrip("/"))
        if value.startswith("/") and not value.startswith(self._gateway_prefix):
            value = self._gateway_prefix + value.lstrip("/")
        return value.replace(upstream, "mlflow")

    def _on_chunk(self, chunk: bytes) -> None:
        self.write(chunk)
        self.flush()

    def finish(self, chunk: Any = None) -> Any:
        """Finish the response; say ``Connection: close`` when tornado will drop it.

        A response sent before the request body was read (a refusal in
        :meth:`prepare`) makes tornado close the connection rather than read the
        rest. Saying so keeps a keep-alive proxy (configurable-http-proxy) from
        sending the next request down the closing socket, which it would answer 503.
        """
        if not self._headers_written and not self._body_received and _declares_body(self):
            self.set_header("Connection", "close")
        return super().finish(chunk)

    # Audit -------------------------------------------------------------------------
    def on_finish(self) -> None:
        """Audit every write, allowed or refused."""
        decision = self.decision
        user = getattr(self, "user", None)
        if decision is None or not decision.write or user is None:
            return
        status = self.get_status()
        try:
            audit.record(
                self.context.engine,
                audit.AuditEntry(
                    user=user["name"],
                    kind=user.get("kind", "user"),
                    action=f"mlflow:{decision.action}",
                    method=self.request.method or "",
                    path=self.request.path,
                    resource=decision.resource,
                    scope=decision.scope,
                    result="refused" if self.refused else "allowed",
                    status=status,
                    token_id=user.get("token_id"),
                    origin=audit.origin_from(self.request.headers, self.request.remote_ip),
                    detail=self.refused,
                ),
            )
        except Exception:  # the response is gone; never hide it behind an audit failure
            app_log.exception("could not write the audit entry")


def _declares_body(handler: MlflowGatewayHandler) -> bool:
    headers = handler.request.headers
    return "Transfer-Encoding" in headers or int(headers.get("Content-Length") or 0) > 0


routes = [(r"mlflow/(?P<path>.*)", MlflowGatewayHandler)]
