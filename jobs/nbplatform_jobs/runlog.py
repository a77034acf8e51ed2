"""Reading a run's log in pages, cut only between UTF-8 characters."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: The most one page holds.
MAX_PAGE = 16 << 20
#: A page when none is asked for: the last MiB.
DEFAULT_PAGE = 1 << 20


@dataclass(frozen=True)
class LogPage:
    """Bytes ``[offset, next_offset)`` of a log of ``size`` bytes, decoded.

    Attributes:
        text: The page as text.
        offset: Where it starts (a character boundary).
        next_offset: Where the next page starts; ``size`` at the end.
        size: The whole log's size now.
    """

    text: str
    offset: int
    next_offset: int
    size: int

    @property
    def truncated(self) -> bool:
        """Whether the log holds more than this page (before or after it)."""
        return self.offset > 0 or self.next_offset < self.size


def _continuation(byte: int) -> bool:
    return 0x80 <= byte < 0xC0


def _sequence_length(lead: int) -> int:
    return 4 if lead >= 0xF0 else 3 if lead >= 0xE0 else 2 if lead >= 0xC0 else 1


def read_page(path: Path, offset: int | None, length: int) -> LogPage:
    """Read ``length`` bytes from ``offset`` (``None``: the last ``length`` bytes).

    A page never starts or ends inside a character: a start inside one moves to
    the next character, an end inside one moves back to its start (where the
    next page then begins).
    """
    try:
        f = path.open("rb")
    except FileNotFoundError:
        return LogPage("", 0, 0, 0)
    with f:
        size = f.seek(0, 2)
        start = max(0, size - length) if offset is None else min(offset, size)
        f.seek(start)
        data = f.read(min(length, size - start) + 3)
    skip = 0
    while start + skip > 0 and skip < min(3, len(data)) and _continuation(data[skip]):
        skip += 1
    end = min(length, len(data))
    if start + end < size:
        # Back off to the start of a character the page would cut.
        for back in range(1, 4):
            i = end - back
            if i < skip:
                break
            if not _continuation(data[i]):
                if i + _sequence_length(data[i]) > end:
                    end = i
                break
    chunk = data[skip:end]
    return LogPage(chunk.decode("utf-8", errors="replace"), start + skip, start + end, size)
