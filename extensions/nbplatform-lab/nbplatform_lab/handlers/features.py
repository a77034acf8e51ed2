"""``/nbplatform/api/features/…``: the Features panel's calls (read only).

Only what the panel reads is forwarded: feature views (a page of them, one
with its statistics), feature services and the history of materializations.
Applying a feature repo, materializing, training frames, pushes and the Feast
registry go from the kernel (``nbp.features``) to the platform, never through
this server. Every query argument is checked here first, so an unknown or
malformed one is a 400 before the platform is called.
"""

from __future__ import annotations

from collections.abc import Mapping

from nbplatform.errors import InvalidParameterError, NotFoundError

from .resource import (
    MAX_SEGMENT,
    PAGING,
    ResourceHandler,
    checked_paging,
    checked_query,
    forwarded_path,
)

_PAGING = PAGING

#: ``(first segment, segments below it)`` -> the query arguments it takes.
ROUTES: dict[tuple[str, int], frozenset[str]] = {
    ("views", 0): _PAGING,
    ("views", 1): frozenset(),
    ("services", 0): _PAGING,
    ("materializations", 0): _PAGING | {"view"},
}


def _checked_name(key: str, value: str) -> str:
    bad = (
        not value
        or len(value) > MAX_SEGMENT
        or value != value.strip()
        or any(ord(c) < 32 or ord(c) == 127 for c in value)
    )
    if bad:
        raise InvalidParameterError(f"{key}: {value[:80]!r} is not the name of a feature view.")
    return value


def _checked_value(key: str, value: str) -> str:
    paging = checked_paging(key, value)
    return paging if paging is not None else _checked_name(key, value)


def features_target(rest: str | None, arguments: Mapping[str, list[bytes]]) -> str:
    """The platform path and query for a Features panel request, checked.

    Args:
        rest: The decoded path below ``features`` (``/views/driver_stats``).
        arguments: The request's query arguments (tornado's ``query_arguments``).

    Returns:
        ``api/features/<path>`` with its segments re-encoded, and the checked
        query re-encoded after ``?`` when there is one.

    Raises:
        NotFoundError: A path the panel does not read (only ``views``,
            ``views/<name>``, ``services`` and ``materializations`` are forwarded).
        InvalidParameterError: A hostile path segment (see ``forwarded_path``), an
            unknown, repeated or malformed query argument. The cache-busting
            ``&<milliseconds>`` JupyterLab adds to its GETs is left out.
    """
    path = forwarded_path("features", rest)
    segments = path.split("/")[2:]
    allowed = ROUTES.get((segments[0], len(segments) - 1)) if segments else None
    if allowed is None:
        raise NotFoundError(
            f"{path.removeprefix('api/')[:120]} is not a path the Features panel reads; it "
            "reads features/views, features/views/<name>, features/services and "
            "features/materializations. Use nbp.features in a notebook for the rest.",
            "RESOURCE_DOES_NOT_EXIST",
        )
    return checked_query(path, f"features/{segments[0]}", allowed, arguments, _checked_value)


class FeaturesHandler(ResourceHandler):
    """Feature views, feature services, materializations: read only."""

    resource = "features"
    verbs = frozenset({"GET"})

    def _target(self, rest: str | None) -> str:
        return features_target(rest, self.request.query_arguments)


handlers: list[type[ResourceHandler]] = [FeaturesHandler]
