"""What the features handlers share: scopes, the repository, blocking work off the loop."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from tornado.ioloop import IOLoop

from nbplatform_hub import host
from nbplatform_hub.host import AuditedAPIHandler

from ..settings import PROJECT
from ..state import FeaturesState

READ, WRITE, ADMIN = host.FEATURES_READ, host.FEATURES_WRITE, host.FEATURES_ADMIN
#: A feature view, service or entity name in a route.
NAME_PATTERN = r"[A-Za-z_][A-Za-z0-9_.\-]{0,127}"

T = TypeVar("T")


class FeaturesAPIHandler(AuditedAPIHandler):
    """Base of the features handlers; every write (allowed or refused) is audited."""

    @property
    def audit_action(self) -> str:  # type: ignore[override]
        """``features:<resource>:<verb>``, e.g. ``features:apply:post``."""
        below = self.request.path.split("/api/features/", 1)[-1]
        resource = below.split("/", 1)[0] or "features"
        return f"features:{resource}:{(self.request.method or '').lower()}"

    @property
    def features(self) -> FeaturesState:
        """The feature store of this service, opened at start (:mod:`..capability`)."""
        return self.context.state["features"]

    def is_admin(self) -> bool:
        """Whether the caller may delete views and change anyone's definitions."""
        return ADMIN in self.user.get("scopes", [])

    async def blocking(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``function`` (Feast, DuckDB) on the service's thread pool, not the event loop."""
        call = functools.partial(function, *args, **kwargs)
        return await IOLoop.current().run_in_executor(self.features.executor, call)


def offset_of(token: str | None) -> int:
    """The row offset a ``page_token`` of these resources stands for (0 without one).

    Raises:
        InvalidParameterError: Not a token these resources hand out.
    """
    from nbplatform.errors import InvalidParameterError

    if token is None:
        return 0
    if not (token.isascii() and token.isdigit()) or len(token) > 12:
        raise InvalidParameterError("page_token: not a token from a previous page.")
    return int(token)


def paged(handler: FeaturesAPIHandler) -> tuple[int, int]:
    """``(max_results, offset)`` of a list request."""
    return host.page_size(handler), offset_of(host.page_token(handler))


def page_of(handler: FeaturesAPIHandler, items: list[T]) -> tuple[list[T], str | None]:
    """The page of ``items`` the request asks for, and the next page's token."""
    max_results, offset = paged(handler)
    more = len(items) > offset + max_results
    return items[offset : offset + max_results], str(offset + max_results) if more else None


def registry_objects(handler: FeaturesAPIHandler, lister: str) -> list[Any]:
    """The registry's objects of one kind (``list_entities``...), fresh, sorted by name."""
    registry = handler.features.repo.store.registry
    registry.refresh(PROJECT)
    return sorted(getattr(registry, lister)(PROJECT), key=lambda o: o.name)
