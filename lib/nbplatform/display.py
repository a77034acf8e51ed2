"""Tables for notebooks: what ``search_models``, ``list_jobs``, ``runs`` and ``me`` return.

The results stay what they were (lists of MLflow objects or of dicts, a dict for
``me``), and also show as an HTML table in Jupyter and as a short aligned table
when printed: readable times (``2026-12-03 09:15 UTC (2 h ago)``) instead of
epoch milliseconds, aliases as ``@champion → v3``, long lists cut with
``… and N more``. ``.to_pandas()`` gives a DataFrame (pandas is imported then,
never when this module is). Every value is escaped in HTML: names and
descriptions are user text.

Example:
    >>> models = nbp.registry.search_models()
    >>> models                     # a table in a notebook
    >>> models[0].name             # still a list of RegisteredModel
    >>> models.to_pandas()
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Any, ClassVar

from ._extras import require

__all__ = [
    "JobList",
    "Me",
    "ModelList",
    "RunList",
    "Table",
    "format_duration",
    "format_list",
    "format_time",
    "parse_time",
    "shorten",
]

DASH = "—"


def _now() -> datetime:
    """The current time (UTC); tests replace it."""
    return datetime.now(UTC)


# Values -------------------------------------------------------------------------
def parse_time(value: Any) -> datetime | None:
    """Read a time the platform or MLflow gave as an aware UTC ``datetime``.

    Args:
        value: A ``datetime`` (naive ones are UTC), epoch milliseconds (MLflow's;
            numbers below 10**11 are read as seconds) or an ISO 8601 string
            (the platform's, e.g. ``2026-12-03T09:15:00.000Z``).

    Returns:
        The time, or ``None`` for ``None``, ``""`` and what is no time.
    """
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, int | float):
        seconds = value / 1000 if abs(value) >= 1e11 else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            return parse_time(datetime.fromisoformat(value.strip()))
        except ValueError:
            return None
    return None


def _relative(seconds: float) -> str:
    size = abs(seconds)
    if size < 60:
        return "just now" if seconds >= 0 else "in < 1 min"
    if size < 3600:
        amount = f"{int(size // 60)} min"
    elif size < 86400:
        amount = f"{int(size // 3600)} h"
    else:
        amount = f"{int(size // 86400)} d"
    return f"{amount} ago" if seconds >= 0 else f"in {amount}"


def format_time(value: Any, now: datetime | None = None) -> str:
    """Show a time as ``2026-12-03 09:15 UTC (2 h ago)`` (or ``(in 5 min)``).

    Args:
        value: Anything :func:`parse_time` reads.
        now: The time to count from (default: now).

    Returns:
        The text; ``—`` for no time, the value itself when it is no time.
    """
    when = parse_time(value)
    if when is None:
        return DASH if value is None or value == "" else str(value)
    ago = ((now or _now()) - when).total_seconds()
    return f"{when:%Y-%m-%d %H:%M} UTC ({_relative(ago)})"


def format_duration(seconds: float | None) -> str:
    """Show a duration as ``4.2 s``, ``3 min 5 s``, ``2 h 5 min`` or ``1 d 3 h``."""
    if seconds is None:
        return DASH
    if seconds < 10:
        return f"{seconds:.1f} s"
    total = int(seconds)
    for unit, size, small, small_size in (
        ("d", 86400, "h", 3600),
        ("h", 3600, "min", 60),
        ("min", 60, "s", 1),
    ):
        if total >= size:
            rest = total % size // small_size
            return f"{total // size} {unit}" + (f" {rest} {small}" if rest else "")
    return f"{total} s"


def shorten(text: Any, width: int) -> str:
    """``text`` on one line, cut to ``width`` characters with ``…``."""
    line = " ".join(str(text).split()) if text is not None else ""
    return line if len(line) <= width else line[: max(width - 1, 0)].rstrip() + "…"


def format_list(items: Iterable[Any], limit: int = 5) -> str:
    """Join ``items`` with commas; past ``limit`` of them, end with ``… and N more``."""
    items = [str(item) for item in items]
    if not items:
        return DASH
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown}, … and {len(items) - limit} more"


def _flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts as ``a.b`` keys; times (``*_at``, ``*_for``) as datetimes."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value and key not in ("parameters", "progress"):
            flat.update(_flatten(value, f"{name}."))
        elif isinstance(value, str) and key.endswith(("_at", "_for")):
            flat[name] = parse_time(value) or value
        else:
            flat[name] = value
    return flat


# Tables -------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    """A column of a :class:`Table`.

    Attributes:
        header: Its heading.
        text: The cell's text of an item, given the current time.
        title: Hover text of the cell in HTML (the full value), if any.
        width: Characters at most in the printed table.
    """

    header: str
    text: Callable[[Any, datetime], str]
    title: Callable[[Any, datetime], str] | None = None
    width: int = 40


def _time_column(header: str, get: Callable[[Any], Any]) -> Column:
    def title(item: Any, now: datetime) -> str:
        when = parse_time(get(item))
        return when.isoformat() if when else ""

    return Column(header, lambda item, now: format_time(get(item), now), title, width=34)


class Table(list):
    """A list that shows as a table: HTML in a notebook, aligned text when printed.

    Subclasses name their ``columns`` and ``noun``; indexing, iterating, ``len``
    and ``==`` are a list's, and slices keep the table.
    """

    noun: ClassVar[tuple[str, str]] = ("item", "items")
    columns: ClassVar[tuple[Column, ...]] = ()
    fields: ClassVar[tuple[str, ...]] = ()  # the DataFrame's columns when empty
    html_rows: ClassVar[int] = 50
    text_rows: ClassVar[int] = 20
    html_width: ClassVar[int] = 120

    def __getitem__(self, index: Any) -> Any:
        found = super().__getitem__(index)
        return self._like(found) if isinstance(index, slice) else found

    def _like(self, items: list[Any]) -> Table:
        return type(self)(items)

    def _summary(self) -> str:
        one, many = self.noun
        if not self:
            return f"No {many}."
        return f"{len(self)} {one if len(self) == 1 else many}"

    def _footer(self) -> str:
        """A line under the table (e.g. how to get the next page)."""
        return ""

    def _record(self, item: Any) -> dict[str, Any]:
        """One row of :meth:`to_pandas`."""
        return _flatten(item) if isinstance(item, Mapping) else dict(vars(item))

    def to_pandas(self) -> Any:
        """Return the items as a pandas ``DataFrame``, one row each, times as datetimes.

        Raises:
            ConfigurationError: pandas is not installed (``pip install 'nbplatform[ml]'``).
        """
        pd = require("pandas", "ml", f"{type(self).__name__}.to_pandas", "pandas")
        records = [self._record(item) for item in self]
        nested = {key.split(".")[0] for record in records for key in record if "." in key}
        for key in nested:  # ``last_run`` None in some rows, ``last_run.status`` in others
            if all(record.get(key) is None for record in records):
                for record in records:
                    record.pop(key, None)
        return pd.DataFrame.from_records(records) if records else pd.DataFrame(columns=self.fields)

    def _rows(self, limit: int) -> tuple[list[list[tuple[str, str]]], int]:
        """Cells (text, hover title) of the first ``limit`` items, and how many are left."""
        now = _now()
        rows = [
            [(c.text(item, now), c.title(item, now) if c.title else "") for c in self.columns]
            for item in list.__getitem__(self, slice(0, limit))
        ]
        return rows, max(len(self) - limit, 0)

    def _repr_html_(self) -> str:
        """The table as escaped HTML (Jupyter's rich display)."""
        summary = f"<p><b>{escape(self._summary())}</b></p>"
        if not self:
            return summary
        rows, more = self._rows(self.html_rows)
        left = 'style="text-align:left;vertical-align:top"'
        head = "".join(f"<th {left}>{escape(c.header)}</th>" for c in self.columns)
        body = []
        for row in rows:
            cells = []
            for text, title in row:
                shown = shorten(text, self.html_width)
                hover = title or (text if shown != text else "")
                attr = f' title="{escape(hover)}"' if hover else ""
                cells.append(f"<td {left}{attr}>{escape(shown)}</td>")
            body.append(f"<tr>{''.join(cells)}</tr>")
        tail = f"<p>… and {more} more</p>" if more else ""
        footer = f"<p>{escape(self._footer())}</p>" if self._footer() else ""
        return (
            f'{summary}<table class="nbp-table"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>{tail}{footer}"
        )

    def __repr__(self) -> str:
        if not self:
            return self._summary()
        rows, more = self._rows(self.text_rows)
        table = [[c.header for c in self.columns]]
        for row in rows:
            table.append(
                [shorten(text, c.width) for (text, _), c in zip(row, self.columns, strict=True)]
            )
        widths = [max(len(row[i]) for row in table) for i in range(len(self.columns))]
        lines = [self._summary()]
        for n, row in enumerate(table):
            lines.append(
                "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            )
            if n == 0:
                lines.append("  ".join("-" * w for w in widths))
        if more:
            lines.append(f"… and {more} more")
        if self._footer():
            lines.append(self._footer())
        return "\n".join(lines)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        """IPython's plain-text display: the same as ``repr``."""
        p.text(repr(self))


# Models ---------------------------------------------------------------------------
def _aliases(model: Any) -> list[str]:
    aliases = getattr(model, "aliases", None) or {}
    if isinstance(aliases, Mapping):
        return [f"@{a} → v{v}" for a, v in sorted(aliases.items())]
    return [f"@{a}" for a in aliases]


def _latest(model: Any) -> str:
    versions = getattr(model, "latest_versions", None) or []
    numbers = sorted({str(v.version) for v in versions}, key=lambda v: (len(v), v))
    return f"v{numbers[-1]}" if numbers else DASH


class ModelList(Table):
    """Registered models (MLflow's ``RegisteredModel``), with ``.token`` for the next page.

    Args:
        items: The models.
        token: The next page's token (``search_models(page_token=...)``), if any.
    """

    noun = ("model", "models")
    fields = ("name", "aliases", "latest_version", "description", "tags")
    columns = (
        Column("name", lambda m, now: str(m.name)),
        Column("aliases", lambda m, now: format_list(_aliases(m), 3), width=48),
        Column("latest", lambda m, now: _latest(m), width=8),
        Column("description", lambda m, now: getattr(m, "description", None) or ""),
        _time_column("updated", lambda m: getattr(m, "last_updated_timestamp", None)),
    )

    def __init__(self, items: Iterable[Any] = (), token: str | None = None) -> None:
        super().__init__(items)
        self.token = token

    def to_list(self) -> list[Any]:
        """A plain list of the models (as MLflow's ``PagedList.to_list``)."""
        return list(self)

    def _footer(self) -> str:
        return "More on the next page: search_models(page_token=<this>.token)" if self.token else ""

    def _record(self, item: Any) -> dict[str, Any]:
        aliases = getattr(item, "aliases", None) or {}
        return {
            "name": item.name,
            "aliases": dict(aliases) if isinstance(aliases, Mapping) else list(aliases),
            "latest_version": None if _latest(item) == DASH else int(_latest(item)[1:]),
            "description": getattr(item, "description", None),
            "tags": dict(getattr(item, "tags", None) or {}),
            "created": parse_time(getattr(item, "creation_timestamp", None)),
            "updated": parse_time(getattr(item, "last_updated_timestamp", None)),
        }


# Jobs ------------------------------------------------------------------------------
def _schedule(job: Mapping[str, Any]) -> str:
    schedule = job.get("schedule") or {}
    if schedule.get("cron"):
        return f"{schedule['cron']} ({schedule.get('timezone') or 'UTC'})"
    if schedule.get("interval_seconds"):
        return f"every {format_duration(schedule['interval_seconds'])}"
    return "manual"


def _next_run(job: Mapping[str, Any], now: datetime) -> str:
    if not job.get("active", True):
        return "paused"
    return format_time(job.get("next_run_at"), now)


def _last_run(job: Mapping[str, Any], now: datetime) -> str:
    last = job.get("last_run")
    if not last:
        return "never"
    when = last.get("ended_at") or last.get("started_at") or last.get("created_at")
    return f"{last.get('status', '?')} {format_time(when, now)}"


class JobList(Table):
    """Notebook jobs (the platform's dicts), as ``nbp.jobs.list_jobs`` returns them."""

    noun = ("job", "jobs")
    fields = ("id", "name", "owner", "notebook", "schedule.kind", "active", "next_run_at")
    columns = (
        Column("id", lambda j, now: str(j.get("id", "")), width=16),
        Column("name", lambda j, now: str(j.get("name", ""))),
        Column("notebook", lambda j, now: str(j.get("notebook", ""))),
        Column("owner", lambda j, now: str(j.get("owner", "")), width=20),
        Column("schedule", lambda j, now: _schedule(j)),
        Column("next run", _next_run, width=34),
        Column("last run", _last_run, width=44),
    )


# Runs ------------------------------------------------------------------------------
def _status(run: Mapping[str, Any]) -> str:
    status = str(run.get("status", "?"))
    progress = run.get("progress")
    if status == "running" and isinstance(progress, Mapping) and progress.get("total"):
        return f"{status} (cell {progress.get('cell', 0)}/{progress['total']})"
    return status


def _duration(run: Mapping[str, Any], now: datetime) -> str:
    if run.get("duration_seconds") is not None:
        return format_duration(run["duration_seconds"])
    started = parse_time(run.get("started_at"))
    if started and not run.get("ended_at"):
        return f"{format_duration((now - started).total_seconds())} so far"
    return DASH


def _error(run: Mapping[str, Any]) -> str:
    # The error names the cell as the user counts them ("failed in cell 3 of 4");
    # ``failed_cell`` is an index into the output notebook, not for people.
    return str(run.get("error") or "")


class RunList(Table):
    """Runs of a job (the platform's dicts), newest first, as ``nbp.jobs.runs`` returns them."""

    noun = ("run", "runs")
    fields = ("id", "job_id", "status", "attempt", "trigger", "started_at", "duration_seconds")
    columns = (
        Column("id", lambda r, now: str(r.get("id", "")), width=16),
        Column("status", lambda r, now: _status(r), width=24),
        Column("trigger", lambda r, now: str(r.get("trigger") or DASH), width=12),
        Column("attempt", lambda r, now: str(r.get("attempt") or DASH), width=7),
        _time_column("started", lambda r: r.get("started_at")),
        Column("duration", _duration, width=20),
        Column("error", lambda r, now: _error(r)),
    )


# Me ----------------------------------------------------------------------------------
class Me(dict):
    """Who the platform thinks you are (``nbp.me()``): a dict that shows as a table."""

    prefix: ClassVar[str] = "custom:nbplatform:"

    def _items(self) -> list[tuple[str, str]]:
        can = self.get("can") or {}
        scopes = [str(s).removeprefix(self.prefix) for s in self.get("scopes") or []]
        rows = [
            ("name", str(self.get("name", ""))),
            ("kind", str(self.get("kind", DASH))),
            ("admin", "yes" if self.get("admin") else "no"),
            ("groups", format_list(self.get("groups") or [])),
            ("roles", format_list(self.get("roles") or [])),
            ("can", format_list(sorted(k for k, v in can.items() if v), 8)),
            ("scopes", format_list(scopes, 6)),
        ]
        known = {"name", "kind", "admin", "groups", "roles", "can", "scopes", "granted_by"}
        rows += [(k, shorten(v, 80)) for k, v in self.items() if k not in known]
        return rows

    def _repr_html_(self) -> str:
        """The fields as an escaped two-column HTML table."""
        left = 'style="text-align:left;vertical-align:top"'
        body = "".join(
            f"<tr><th {left}>{escape(k)}</th><td {left}>{escape(v)}</td></tr>"
            for k, v in self._items()
        )
        return f'<table class="nbp-table"><tbody>{body}</tbody></table>'

    def __repr__(self) -> str:
        items = self._items()
        width = max(len(k) for k, _ in items)
        return "\n".join(f"{k.ljust(width)}  {v}" for k, v in items)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        """IPython's plain-text display: the same as ``repr``."""
        p.text(repr(self))
