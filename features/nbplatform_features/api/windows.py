"""``api/features/views/<name>/window``: a view's source rows in a time window, as Arrow."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from nbplatform.errors import InvalidParameterError

from ..window import MAX_ROWS, view_window
from .common import NAME_PATTERN, READ, FeaturesAPIHandler
from .training_frames import ARROW_STREAM

__all__ = ["routes"]

#: The header describing the window (rows, sampled, start, end, columns).
WINDOW_HEADER = "Nbplatform-Feature-Window"


def _time(name: str, raw: str | None) -> datetime | None:
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidParameterError(f"{name}: {raw[:40]!r} is not an ISO 8601 time.") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class WindowHandler(FeaturesAPIHandler):
    """``GET ?start=&end=[&max_rows=]``: the rows as an Arrow stream, described in a header."""

    async def get(self, name: str) -> None:
        """Answer the window's rows (``max_rows`` default and limit: :data:`MAX_ROWS`)."""
        self.require_scope(READ)
        start = _time("start", self.get_query_argument("start", None))
        end = _time("end", self.get_query_argument("end", None))
        raw = self.get_query_argument("max_rows", str(MAX_ROWS))
        if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) <= MAX_ROWS:
            raise InvalidParameterError(
                f"max_rows: {raw[:20]!r} is not a number of rows from 1 to {MAX_ROWS}."
            )
        for argument, value in (("start", start), ("end", end)):
            if value is None:
                raise InvalidParameterError(f"{argument}: required (an ISO 8601 time).")
        assert start is not None and end is not None
        body, description = await self.blocking(
            view_window, self.features.repo, name, start, end, int(raw)
        )
        self.set_header("Content-Type", ARROW_STREAM)
        self.set_header(WINDOW_HEADER, json.dumps(description, separators=(",", ":")))
        self.finish(body)


routes: list[tuple[str, Any]] = [
    (rf"api/features/views/(?P<name>{NAME_PATTERN})/window", WindowHandler),
]
