"""The MLflow gateway's forwarding half: canonical requests to MLflow, answers streamed back.

:class:`MlflowForwardingHandler` holds what the gateway does once a request is
decided (:mod:`.handlers.mlflow_gateway` decides): it builds the upstream request
from the canonical path, query and body, never the client's bytes, keeps only the
request headers MLflow needs, and streams MLflow's status, headers and body back
as they arrive, with hop-by-hop headers, cookies and MLflow's own ``Location``
rewritten or dropped. Uploads stream through a bounded queue; the UI's artifact
downloads, which MLflow cannot answer when artifacts are proxied, are served from
its artifact API.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote, urlencode

from tornado.httpclient import HTTPRequest
from tornado.httputil import HTTPHeaders
from tornado.log import app_log

from nbplatform.errors import NotFoundError, UnavailableError

from . import mlflow_endpoints
from .base import APIHandler
from .mlflow_endpoints import ApiRequest
from .mlflow_rules import check_path

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
#: Request headers forwarded as they are (everything else is dropped: credentials,
#: browser-origin headers, forwarding hints, the client's framing of its body).
_KEEP_REQUEST = {"accept", "accept-encoding", "accept-language", "user-agent", "range"}
_DROP_RESPONSE = _HOP_BY_HOP | {"server", "set-cookie", "date"}


class MlflowForwardingHandler(APIHandler):
    """Send a decided request to MLflow and stream its answer back to the client."""

    api: ApiRequest | None = None
    _queue: asyncio.Queue[bytes | None] | None = None
    _headers_out: HTTPHeaders | None = None
    _status_line: tuple[int, str] = (502, "Bad Gateway")
    _decoded: str = ""
    _gateway_prefix: str = ""

    async def _produce(self, write: Any) -> None:
        assert self._queue is not None
        while (chunk := await self._queue.get()) is not None:
            await write(chunk)

    async def _download(self, query: dict[str, str]) -> Any:
        """Serve the UI's ``get-artifact`` and ``model-versions/get-artifact`` from the store.

        MLflow answers both with 500 when artifacts are proxied (``mlflow-artifacts:``
        URIs): it would need to call itself. The gateway looks up where the run's or
        the version's artifacts are and streams the file from MLflow's artifact API.
        """
        path = query.get("path", "")
        check_path(path)
        mlflow = self.context.mlflow
        try:
            if self._decoded.startswith("model-versions/"):
                answer = await mlflow.call(
                    "GET",
                    "model-versions/get",
                    {"name": query.get("name", ""), "version": query.get("version", "")},
                )
                root = await self._artifact_root(answer["model_version"]["source"])
            else:
                run = query.get("run_id") or query.get("run_uuid") or ""
                answer = await mlflow.call("GET", "runs/get", {"run_id": run})
                root = answer["run"]["info"]["artifact_uri"]
        except KeyError:
            raise NotFoundError("MLflow did not say where these artifacts are.") from None
        prefix = "mlflow-artifacts:"
        if not root.startswith(prefix):
            return await self._forward(query=urlencode(query))
        folder = root[len(prefix) :].strip("/")
        self._decoded = f"api/2.0/mlflow-artifacts/artifacts/{folder}/{path}".rstrip("/")
        check_path(self._decoded)
        return await self._forward(query="")

    async def _artifact_root(self, source: str) -> str:
        """Where a model version's files are: its logged model's or its run's artifacts."""
        mlflow = self.context.mlflow
        if source.startswith("models:/m-"):
            model = source.removeprefix("models:/").split("/", 1)[0]
            answer = await mlflow.call("GET", f"logged-models/{quote(model, safe='')}")
            return answer["model"]["info"]["artifact_uri"]
        if source.startswith("runs:/"):
            run, _, sub = source.removeprefix("runs:/").partition("/")
            answer = await mlflow.call("GET", "runs/get", {"run_id": run})
            return f"{answer['run']['info']['artifact_uri'].rstrip('/')}/{sub}".rstrip("/")
        return source

    def _canonical_query(self) -> str:
        return urlencode(mlflow_endpoints.query_pairs(self.request.query, strict=False))

    async def _forward(
        self,
        body_producer: Any = None,
        body: bytes | None = None,
        query: str | None = None,
        buffered: bool = False,
    ) -> Any:
        prefix = self.request.path[: len(self.request.path) - len(self._raw_path())]
        self._gateway_prefix = prefix
        url = f"{self.context.mlflow_base}/{quote(self._decoded, safe='/')}"
        if query is None and self.api is None:
            query = self._canonical_query()
        if query:
            url += "?" + query
        headers = HTTPHeaders()
        for name, value in self.request.headers.get_all():
            if name.lower() in _KEEP_REQUEST:
                headers.add(name, value)
        if body is not None:
            headers["Content-Type"] = "application/json"
        elif body_producer is not None:
            headers["Content-Type"] = "application/octet-stream"
            if "Content-Length" in self.request.headers:
                headers["Content-Length"] = self.request.headers["Content-Length"]
        headers["X-Nbp-User"] = self.user["name"]
        method = self.request.method or "GET"
        streaming = (
            {}
            if buffered
            else {
                "header_callback": self._on_header_line,
                "streaming_callback": self._on_chunk,
            }
        )
        request = HTTPRequest(
            url,
            method=method,
            headers=headers,
            body=body,
            body_producer=body_producer,
            follow_redirects=False,
            decompress_response=False,
            allow_nonstandard_methods=True,
            request_timeout=3600,
            **streaming,
        )
        try:
            response = await self.context.mlflow_client.fetch(request, raise_error=False)
        except OSError:
            raise UnavailableError(
                "The MLflow server is not answering; it may still be starting. "
                "Try again in a few seconds."
            ) from None
        if buffered and response.code != 599:
            self._status_line = (response.code, response.reason or "")
            self._headers_out = response.headers
            self._apply_headers()
            if response.body and method != "HEAD":
                self.write(response.body)
        return response

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
        if status >= 500:
            app_log.warning(
                "MLflow answered %s to %s %s", status, self.request.method, self._decoded
            )
        self.set_status(status, reason or None)
        self.clear_header("Content-Type")
        for name, value in (self._headers_out or HTTPHeaders()).get_all():
            lower = name.lower()
            if lower in _DROP_RESPONSE:
                continue
            if lower == "content-length" and self.request.method == "HEAD":
                continue
            if lower == "location":
                value = self._rewrite_location(value)
            self.add_header(name, value)

    def _rewrite_location(self, value: str) -> str:
        base = self.context.mlflow_base
        if value.startswith(base + "/"):
            value = self._gateway_prefix + value[len(base) + 1 :]
        elif value.startswith("/") and not value.startswith(self._gateway_prefix):
            value = self._gateway_prefix + value.lstrip("/")
        return value

    def _on_chunk(self, chunk: bytes) -> None:
        self.write(chunk)
        self.flush()
