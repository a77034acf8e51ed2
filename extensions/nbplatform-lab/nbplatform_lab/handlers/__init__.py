"""The REST handlers of the extension, one module per resource."""

from __future__ import annotations

from .me import MeHandler

#: Where the handlers live, under the server's base URL.
API_PREFIX = "/nbplatform/api"

#: The routes of the extension, relative to the server's base URL.
default_handlers: list[tuple[str, type]] = [
    (rf"{API_PREFIX}/me", MeHandler),
]

__all__ = ["API_PREFIX", "MeHandler", "default_handlers"]
