"""The REST handlers of the extension, one module per resource."""

from __future__ import annotations

from . import features, jobs, models
from .me import MeHandler
from .resource import resource_routes

#: Where the handlers live, under the server's base URL.
API_PREFIX = "/nbplatform/api"

#: The routes of the extension, relative to the server's base URL.
default_handlers: list[tuple[str, type]] = [
    (rf"{API_PREFIX}/me", MeHandler),
    *resource_routes(API_PREFIX, models.handlers + features.handlers + jobs.handlers),
]

__all__ = ["API_PREFIX", "MeHandler", "default_handlers"]
