"""Forwarding of a platform REST resource through this server, as its owner.

The sidebar's panels call ``/nbplatform/api/<resource>/…`` on their own server;
the handler sends the same verb, query and JSON body to the platform service's
``api/<resource>/…`` with the server's hub token, and answers with the
service's JSON. Only the resources a module lists are forwarded, and only the
verbs they allow.
"""

from __future__ import annotations

import json
from typing import Any

import tornado.web

from nbplatform.errors import InvalidParameterError

from .base import PlatformAPIHandler


class ResourceHandler(PlatformAPIHandler):
    """Forward one platform resource. Subclasses set :attr:`resource` and :attr:`verbs`."""

    #: The resource's name under the platform's ``api/`` (e.g. ``"models"``).
    resource: str = ""
    #: The verbs forwarded; others answer 405.
    verbs: frozenset[str] = frozenset({"GET"})

    def _target(self, rest: str | None) -> str:
        path = f"api/{self.resource}{rest or ''}"
        query = self.request.query
        return f"{path}?{query}" if query else path

    def _body(self) -> Any:
        if not self.request.body:
            return None
        try:
            return json.loads(self.request.body)
        except ValueError:
            raise InvalidParameterError("The request body is not valid JSON.") from None

    async def _forward(self, rest: str | None) -> None:
        method = self.request.method or "GET"
        if method not in self.verbs:
            raise tornado.web.HTTPError(405)
        answer = await self.platform().request(method, self._target(rest), self._body())
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
