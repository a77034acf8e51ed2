"""Forwarding of a platform REST resource through this server, as its owner.

The sidebar's panels call ``/nbplatform/api/<resource>/…`` on their own server;
the handler sends the same verb, query and JSON body to the platform service's
``api/<resource>/…`` with the server's hub token, and answers with the
service's JSON. Only the resources a module lists are forwarded, and only the
verbs they allow; the path below the resource is checked segment by segment
and sent re-encoded, so no spelling of ``..`` (or a ``/``, ``?`` or ``#`` that
arrived encoded) can reach another resource with the server's token.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

import tornado.web

from nbplatform.errors import InvalidParameterError

from .base import PlatformAPIHandler

#: The largest request body forwarded.
MAX_BODY_BYTES = 1 << 20
#: How deep arrays and objects may nest in a forwarded body.
MAX_JSON_DEPTH = 32
#: How many segments a forwarded path may have below its resource.
MAX_SEGMENTS = 8
#: How long one segment may be (model names are at most 512 characters).
MAX_SEGMENT = 512


#: The largest page a panel may ask for.
MAX_PAGE_SIZE = 1000
#: How long a page token may be (the platform's tokens are short, opaque text).
MAX_PAGE_TOKEN = 1024
#: The paging arguments of a list.
PAGING = frozenset({"max_results", "page_token"})

_DIGITS = re.compile(r"[0-9]{1,9}")
_CACHE_BUSTER = re.compile(r"[0-9]{1,20}")


def checked_paging(key: str, value: str) -> str | None:
    """``max_results`` and ``page_token`` checked (``None`` for another key).

    Raises:
        InvalidParameterError: Not a page size from 1 to :data:`MAX_PAGE_SIZE`, or
            not a page token.
    """
    if key == "max_results":
        if not _DIGITS.fullmatch(value) or not 1 <= int(value) <= MAX_PAGE_SIZE:
            raise InvalidParameterError(
                f"max_results: {value[:20]!r} is not a whole number from 1 to {MAX_PAGE_SIZE}."
            )
        return str(int(value))
    if key == "page_token":
        if len(value) > MAX_PAGE_TOKEN or any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise InvalidParameterError("page_token: not a page token of this list.")
        return value
    return None


def checked_query(
    path: str,
    label: str,
    allowed: frozenset[str],
    arguments: Mapping[str, list[bytes]],
    check: Callable[[str, str], str],
) -> str:
    """``path`` with its query re-encoded from arguments each checked by ``check``.

    Args:
        path: The platform path.
        label: How errors name the path (``features/views``).
        allowed: The query arguments the path takes.
        arguments: The request's query arguments (tornado's ``query_arguments``).
        check: ``(key, value) -> value`` for one argument, raising on a bad one.

    Raises:
        InvalidParameterError: An unknown, repeated, non-UTF-8 or malformed argument.
            The cache-busting ``&<milliseconds>`` JupyterLab adds to its GETs is left out.
    """
    query: list[tuple[str, str]] = []
    for key, values in sorted(arguments.items()):
        if _CACHE_BUSTER.fullmatch(key) and values == [b""]:
            continue  # JupyterLab's ServerConnection adds "&<milliseconds>" to GETs
        if key not in allowed:
            takes = ", ".join(sorted(allowed)) or "no query arguments"
            raise InvalidParameterError(
                f"{key[:80]!r} is not a query argument of {label[:120]} (it takes {takes})."
            )
        if len(values) != 1:
            raise InvalidParameterError(f"{key}: given {len(values)} times; give it once.")
        try:
            value = values[0].decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidParameterError(f"{key}: not UTF-8 text.") from None
        query.append((key, check(key, value)))
    return f"{path}?{urlencode(query)}" if query else path


def forwarded_path(resource: str, rest: str | None) -> str:
    """The platform path for ``rest`` below ``resource``, every segment re-encoded.

    Args:
        resource: The resource, e.g. ``models``.
        rest: The decoded path below it (``/churn/rollback``), or ``None``.

    Returns:
        ``api/<resource>/<segment>/...`` with each segment percent-encoded.

    Raises:
        InvalidParameterError: An empty, ``.`` or ``..`` segment, a backslash, a
            ``%`` (an encoding that was encoded again), a control character, too
            many or too long segments.
    """
    if not rest or rest == "/":
        return f"api/{resource}"
    segments = rest[1:].split("/") if rest.startswith("/") else [rest]
    if segments[-1] == "":
        segments.pop()  # one trailing slash
    if len(segments) > MAX_SEGMENTS:
        raise InvalidParameterError(f"path: more than {MAX_SEGMENTS} segments below {resource}.")
    for segment in segments:
        bad = (
            segment in ("", ".", "..")
            or len(segment) > MAX_SEGMENT
            or any(c in segment for c in "\\%")
            or any(ord(c) < 32 or ord(c) == 127 for c in segment)
        )
        if bad:
            raise InvalidParameterError(
                f"path: {segment[:80]!r} is not a name the platform API takes below {resource}."
            )
    return "/".join([f"api/{resource}", *(quote(s, safe="") for s in segments)])


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise InvalidParameterError(f"body: the key {key[:100]!r} appears twice.")
        result[key] = value
    return result


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, level)
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, level + 1) for child in children)
    return deepest


def parse_body(raw: bytes, content_type: str | None) -> dict[str, Any] | None:
    """Parse a body to forward: one strict JSON object, or ``None`` when empty.

    Raises:
        InvalidParameterError: Too large, not JSON (or not sent as JSON), a
            duplicate key, nested too deeply, or not an object.
    """
    if not raw.strip():
        return None
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidParameterError(f"body: larger than {MAX_BODY_BYTES} bytes; send less.")
    kind = (content_type or "application/json").partition(";")[0].strip().lower()
    if kind != "application/json":
        raise InvalidParameterError(
            f"Content-Type: {kind[:80]!r} is not accepted; send the body as application/json."
        )
    try:
        value = json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=_refuse_duplicates,
            parse_constant=lambda name: _refuse_constant(name),
        )
    except RecursionError:
        raise InvalidParameterError(f"body: nested more than {MAX_JSON_DEPTH} levels.") from None
    except InvalidParameterError:
        raise
    except ValueError:  # also UnicodeDecodeError
        raise InvalidParameterError("The request body is not valid JSON.") from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise InvalidParameterError(f"body: nested more than {MAX_JSON_DEPTH} levels.")
    if not isinstance(value, dict):
        raise InvalidParameterError(f"body: must be a JSON object, not {type(value).__name__}.")
    return value


def _refuse_constant(name: str) -> Any:
    raise InvalidParameterError(f"body: {name} is not JSON.")


class ResourceHandler(PlatformAPIHandler):
    """Forward one platform resource. Subclasses set :attr:`resource` and :attr:`verbs`."""

    #: The resource's name under the platform's ``api/`` (e.g. ``"models"``).
    resource: str = ""
    #: The verbs forwarded; others answer 405.
    verbs: frozenset[str] = frozenset({"GET"})

    def _target(self, rest: str | None) -> str:
        path = forwarded_path(self.resource, rest)
        query = self.request.query
        return f"{path}?{query}" if query else path

    def _body(self) -> Any:
        return parse_body(self.request.body or b"", self.request.headers.get("Content-Type"))

    async def _forward(self, rest: str | None) -> None:
        method = self.request.method or "GET"
        if method not in self.verbs:
            raise tornado.web.HTTPError(405)
        target, body = self._target(rest), self._body()
        if method == "GET" and body is not None:
            if body:
                raise InvalidParameterError(
                    "body: a GET request carries no body; send its arguments in the query."
                )
            body = None  # "{}": nothing to forward
        answer = await self.platform().request(method, target, body)
        if answer is None:
            self.set_status(204)
            self.finish()
        else:
            self.write_json(answer)

    @tornado.web.authenticated
    async def get(self, rest: str | None = None) -> None:
        """Forward a GET."""
        await self._forward(rest)

    @tornado.web.authenticated
    async def post(self, rest: str | None = None) -> None:
        """Forward a POST with its JSON body."""
        await self._forward(rest)

    @tornado.web.authenticated
    async def patch(self, rest: str | None = None) -> None:
        """Forward a PATCH with its JSON body."""
        await self._forward(rest)

    @tornado.web.authenticated
    async def delete(self, rest: str | None = None) -> None:
        """Forward a DELETE."""
        await self._forward(rest)


def resource_routes(prefix: str, handlers: list[type[ResourceHandler]]) -> list[tuple[str, type]]:
    """Return the routes of resource handlers under ``prefix``.

    Args:
        prefix: The extension's API prefix, e.g. ``/nbplatform/api``.
        handlers: Subclasses of :class:`ResourceHandler`.

    Returns:
        ``(pattern, handler)`` pairs matching ``<prefix>/<resource>`` and anything below it.
    """
    return [(rf"{prefix}/{h.resource}(/.*)?", h) for h in handlers]
