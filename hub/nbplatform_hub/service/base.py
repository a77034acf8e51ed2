"""Base handlers of the platform service: hub authentication, scopes, JSON in and out.

Request bodies are read here, once, by :class:`JSONAPIHandler`: a body over
:data:`MAX_BODY_BYTES` is refused with 400 as soon as its ``Content-Length``
says so (before it is read), and a body is accepted only as strict JSON (one
object, no duplicate keys, nested at most :data:`MAX_JSON_DEPTH` deep), as
:mod:`.json_input` parses it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

from jupyterhub.services.auth import HubOAuthenticated, UserNotAllowed
from pydantic import BaseModel
from tornado.log import app_log
from tornado.web import HTTPError, RequestHandler, stream_request_body

from nbplatform.errors import (
    NbplatformError,
    PermissionDeniedError,
    UnauthenticatedError,
)

from ..roles import nbplatform_scopes
from .errors import error_body, status_for
from .json_input import (
    MAX_BODY_BYTES,
    BodyError,
    check_argument,
    parse_json_object,
)

#: A declared body over the limit but under this is read (and dropped) before the
#: 400, so that a proxy sending it sees the answer; a larger one is answered at once.
DRAIN_LIMIT = 32 << 20
#: Methods that change state: they need an XSRF token when authenticated by cookie.
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")

Model = TypeVar("Model", bound=BaseModel)


class PlatformHandler(HubOAuthenticated, RequestHandler):
    """A handler of the platform service; errors are written as JSON in one place."""

    @property
    def context(self) -> Any:
        """The service's shared objects (database engine, hub client, settings)."""
        return self.settings["nbp_context"]

    def write_json(self, data: Any, status: int = 200) -> None:
        """Send ``data`` as a JSON response."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps(data, default=str))

    def finish(self, chunk: Any = None) -> Any:
        """Finish; say ``Connection: close`` when tornado is about to drop the connection.

        A streaming handler (``stream_request_body``) that answers from
        ``prepare()``, before its body was read, has tornado close the connection
        after the answer. Saying so keeps a keep-alive proxy
        (configurable-http-proxy) from sending the next request down the closing
        socket, which it would answer 503.
        """
        prepared = getattr(self, "_prepared_future", None)  # tornado: set while streaming
        if not self._headers_written and prepared is not None and not prepared.done():
            self.set_header("Connection", "close")
        return super().finish(chunk)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Write every error as ``{"message", "error_code", "status"}``."""
        error = kwargs["exc_info"][1] if "exc_info" in kwargs else None
        status = status_for(error, status_code)
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps(error_body(error, status)))

    def decode_argument(self, value: bytes, name: str | None = None) -> str:
        """Decode a query argument or path parameter; refuse what no resource takes.

        Not UTF-8 (a lone surrogate's ``%ED%A0%80`` included), longer than
        :data:`MAX_ARGUMENT_LENGTH`, or holding a control character (which tornado
        would silently turn into a space): 400, naming the argument.

        Raises:
            InvalidParameterError: Naming the argument.
        """
        return check_argument(name or "path", value)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Log domain errors in one line; anything else with its traceback."""
        if isinstance(value, NbplatformError):
            app_log.warning(
                "%s %s: %s", self.request.method, self.request.path[:512], value.message[:1000]
            )
        else:
            super().log_exception(typ, value, tb)


class APIHandler(PlatformHandler):
    """A REST handler: every request must carry a valid hub token or login cookie."""

    user: dict[str, Any]

    async def prepare(self) -> None:
        """Identify the caller; refuse with 401 (no valid token) or 403 (not allowed).

        A browser session (the service's login cookie) that changes state must
        also send the XSRF token (the ``_xsrf`` cookie's value as ``X-XSRFToken``);
        without it the hub ignores the cookie, and the answer is 403 saying so.
        """
        model = await self.hub_auth.get_user(self, sync=False)
        if not model:
            self._refuse_cookie_without_xsrf()
            raise UnauthenticatedError(
                "A valid JupyterHub token is required: send 'Authorization: token <token>' "
                "or log in to the hub."
            )
        try:
            allowed = self.check_hub_user(model)
        except UserNotAllowed:
            allowed = None
        if not allowed:
            raise PermissionDeniedError(
                f"{model.get('kind', 'user')} {model['name']} may not use the platform service: "
                "the token lacks the 'access:services!service=platform' scope."
            )
        self.user = allowed
        self._hub_auth_user_cache = allowed

    def _refuse_cookie_without_xsrf(self) -> None:
        """Say 403 when a login cookie came with a state-changing request but no XSRF token."""
        if self.request.method not in UNSAFE_METHODS:
            return
        if not self.get_secure_cookie(self.hub_auth.cookie_name):
            return
        try:
            self.check_xsrf_cookie()
        except HTTPError as e:
            raise PermissionDeniedError(
                f"A browser session must send its XSRF token to {self.request.method} here "
                f"({e.log_message}): send the '_xsrf' cookie's value as the X-XSRFToken header, "
                "or call with 'Authorization: token <token>'."
            ) from None

    def get_current_user(self) -> dict[str, Any] | None:
        """Return the caller identified in :meth:`prepare`."""
        return getattr(self, "user", None)

    @property
    def scopes(self) -> list[str]:
        """The platform scopes of the caller's token."""
        return nbplatform_scopes(self.user.get("scopes", []))

    def require_scope(self, scope: str) -> None:
        """Refuse the request unless the caller's token has ``scope``.

        Raises:
            PermissionDeniedError: The scope is missing.
        """
        if scope not in self.user.get("scopes", []):
            raise PermissionDeniedError(
                f"{self.user['name']} lacks the scope {scope}: ask a platform admin to put "
                "you in a group that grants it."
            )

    def check_xsrf_cookie(self) -> None:
        """Token-authenticated API calls need no XSRF token; cookie ones do."""
        if getattr(self, "_token_authenticated", False):
            return
        super().check_xsrf_cookie()


def _body_guard(verb: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a verb so it runs only once its request body was accepted."""
    if getattr(verb, "_nbp_body_guard", False):
        return verb

    @functools.wraps(verb)
    async def guarded(self: JSONAPIHandler, *args: Any, **kwargs: Any) -> Any:
        if self._finished:
            return None
        if self._body_error is not None:
            raise self._body_error
        return await verb(self, *args, **kwargs)

    guarded._nbp_body_guard = True  # type: ignore[attr-defined]
    return guarded


class _BodyLimit:
    """Read request bodies in streaming mode, refusing large ones before reading them.

    Mixed into streaming handlers (:func:`tornado.web.stream_request_body`); keeps
    at most :data:`MAX_BODY_BYTES` and answers 400 as soon as a body goes over.
    """

    _body_bytes: bytearray | None = None
    _body_error: BodyError | None = None
    #: Set when the body was refused (too large), for the audit entry.
    body_refused: str | None = None

    def check_declared_body(self: Any) -> None:
        """Refuse a declared body that is too large or not JSON, before reading it.

        Raises:
            BodyError: ``Content-Length`` over the limit or not a number, or a
                ``Content-Type`` other than JSON.
        """
        self._body_bytes = bytearray()
        headers = self.request.headers
        declared = headers.get("Content-Length")
        if declared is not None:
            if not declared.strip().isdigit() or not declared.isascii():
                raise BodyError("Content-Length: not a number of bytes.")
            size = int(declared)
            if size > MAX_BODY_BYTES:
                self.body_refused = f"body of {size} bytes over {MAX_BODY_BYTES}"
                error = BodyError(
                    f"body: {size} bytes is larger than the {MAX_BODY_BYTES} bytes "
                    "this API accepts; send less."
                )
                if size > DRAIN_LIMIT:
                    raise error  # answered at once; tornado then drops the connection
                # Read it to its end without keeping it, then answer: a proxy still
                # sending the body would otherwise answer 503 instead of this 400.
                self._body_bytes = None
                self._body_error = error
                return
        has_body = int(declared or 0) > 0 or "Transfer-Encoding" in headers
        content_type = headers.get("Content-Type", "")
        if has_body and content_type:
            kind, _, params = content_type.partition(";")
            charset = params.strip().lower().removeprefix("charset=").strip('"')
            if kind.strip().lower() != "application/json" or charset not in ("", "utf-8"):
                raise BodyError(
                    f"Content-Type: {content_type[:100]!r} is not accepted; "
                    "send the body as 'application/json' (UTF-8)."
                )

    def data_received(self: Any, chunk: bytes) -> None:
        """Keep the body, unless it grows over the limit: then drop the rest.

        A body without a declared size (chunked) that goes over the limit is
        read to its end (tornado's own ``max_body_size`` bounds that) and the
        verb answers 400; answering in the middle of it would make a proxy that
        is still sending it answer 503 instead.
        """
        if self._body_bytes is None:
            return
        if len(self._body_bytes) + len(chunk) > MAX_BODY_BYTES:
            self._body_bytes = None
            self.body_refused = f"body over {MAX_BODY_BYTES} bytes"
            self._body_error = BodyError(
                f"body: larger than the {MAX_BODY_BYTES} bytes this API accepts; send less."
            )
            return
        self._body_bytes += chunk


@stream_request_body
class JSONAPIHandler(_BodyLimit, APIHandler):
    """A REST handler whose request bodies are JSON objects read by one helper.

    The body is refused with 400 before it is read when ``Content-Length`` is
    over :data:`MAX_BODY_BYTES` or the ``Content-Type`` is not JSON, and as soon
    as it grows over the limit otherwise. Verbs read it with :meth:`json_body`.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in ("post", "put", "patch", "delete"):
            verb = cls.__dict__.get(name)
            if verb is not None:
                setattr(cls, name, _body_guard(verb))

    async def prepare(self) -> None:
        """Authenticate (see :class:`APIHandler`), then look at the declared body."""
        await super().prepare()
        if self.request.method in UNSAFE_METHODS:
            self.check_declared_body()
        else:
            self._body_bytes = bytearray()

    def _received(self) -> bytes:
        return bytes(self._body_bytes or b"")

    def json_body(self, model: type[Model] | None = None) -> Any:
        """The request body: a JSON object, validated by ``model`` when given.

        Args:
            model: A pydantic model (``extra="forbid"``: unknown fields are refused).

        Returns:
            The model instance, or the object as a dict.

        Raises:
            BodyError: Not a strict JSON object (see :func:`parse_json_object`).
            pydantic.ValidationError: The object does not fit ``model`` (400).
        """
        cached = getattr(self, "_parsed_body", None)
        if cached is None:
            cached = self._parsed_body = parse_json_object(self._received())
        return model.model_validate(cached) if model is not None else dict(cached)

    def no_body(self) -> None:
        """Refuse a body on a verb that takes none (anything but empty or ``{}``).

        Raises:
            BodyError: The body holds something.
        """
        given = self.json_body()
        if given:
            fields = ", ".join(sorted(given))[:200]
            raise BodyError(f"body: this request takes no body, and no field ({fields}).")


@stream_request_body
class NotFoundHandler(_BodyLimit, PlatformHandler):
    """Any other path under the service: 404 as JSON (after authentication)."""

    async def prepare(self) -> None:  # noqa: D102
        model = await self.hub_auth.get_user(self, sync=False)
        if not model:
            raise UnauthenticatedError("A valid JupyterHub token is required.")
        path = self.request.path
        shown = path if len(path) <= 200 else path[:200] + "..."
        raise HTTPError(404, "No such platform API resource: %s", shown)
