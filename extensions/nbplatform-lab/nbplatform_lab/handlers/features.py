"""``/nbplatform/api/features/…``: the Features panel's calls (read only).

Only what the panel reads is forwarded: feature views (a page of them, one
with its statistics), feature services and the history of materializations.
Applying a feature repo, materializing, training frames, pushes and the Feast
registry go from the kernel (``nbp.features``) to the platform, never through
this server. Every query argument is checked here first, so an unknown or
malformed one is a 400 before the platform is called.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlencode

from nbplatform.errors import InvalidParameterError, NotFoundError

from .resource import MAX_SEGMENT, ResourceHandler, forwarded_path

#: The largest page the panel may ask for.
MAX_PAGE_SIZE = 1000
#: How long a page token may be (the platform's tokens are short, opaque text).
MAX_PAGE_TOKEN = 1024

_PAGING = frozenset({"max_results", "page_token"})

#: ``(first segment, segments below it)`` -> the query arguments it takes.
ROUTES: dict[tuple[str, int], frozenset[str]] = {
    ("views", 0): _PAGING,
    ("views", 1): frozenset(),
    ("services", 0): _PAGING,
    ("materializations", 0): _PAGING | {"view"},
}

_DIGITS = re.compile(r"[0-9]{1,9}")
_CACHE_BUSTER = re.compile(r"[0-9]{1,20}")


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
    return _checked_name(key, value)


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
    query: list[tuple[str, str]] = []
    for key, values in sorted(arguments.items()):
        if _CACHE_BUSTER.fullmatch(key) and values == [b""]:
            continue  # JupyterLab's ServerConnection adds "&<milliseconds>" to GETs
        if key not in allowed:
            takes = ", ".join(sorted(allowed)) or "no query arguments"
            raise InvalidParameterError(
                f"{key[:80]!r} is not a query argument of features/{segments[0]} (it takes "
                f"{takes})."
            )
        if len(values) != 1:
            raise InvalidParameterError(f"{key}: given {len(values)} times; give it once.")
        try:
            value = values[0].decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidParameterError(f"{key}: not UTF-8 text.") from None
        query.append((key, _checked_value(key, value)))
    return f"{path}?{urlencode(query)}" if query else path


class FeaturesHandler(ResourceHandler):
    """Feature views, feature services, materializations: read only."""

    resource = "features"
    verbs = frozenset({"GET"})

    def _target(self, rest: str | None) -> str:
        return features_target(rest, self.request.query_arguments)


handlers: list[type[ResourceHandler]] = [FeaturesHandler]
