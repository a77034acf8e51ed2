"""The REST handlers of the extension, one module per resource."""

from __future__ import annotations

from . import drift, features, jobs, models
from .me import MeHandler
from .resource import resource_routes

#: Where the handlers live, under the server's base URL.
API_PREFIX = "/nbplatform/api"

#: The routes of the extension, relative to the server's base URL.
default_handlers: list[tuple[str, type]] = [
    (rf"{API_PREFIX}/me", MeHandler),
    # before the drift resource's own route, which would take it otherwise
    (rf"{API_PREFIX}{drift.REPORT_ROUTE}", drift.DriftReportHandler),
    *resource_routes(
        API_PREFIX, models.handlers + features.handlers + drift.handlers + jobs.handlers
    ),
]

__all__ = ["API_PREFIX", "MeHandler", "default_handlers"]
