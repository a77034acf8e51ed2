"""What every widget of ``nbp.widgets`` shares: the frame, the client, errors, HTML."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from html import escape
from typing import Any, ClassVar

from .._extras import require
from ..client import PlatformClient
from ..display import DASH, format_duration, format_time
from ..errors import NbplatformError

ipw = require("ipywidgets", "kernel", "nbp.widgets", "ipywidgets")

LEFT = 'style="text-align:left;vertical-align:top;padding:2px 8px 2px 0"'
ERROR_STYLE = (
    "color:var(--jp-error-color1,#b00020);background:var(--jp-error-color3,#fde8ea);"
    "padding:4px 8px;border-radius:2px"
)


# HTML ---------------------------------------------------------------------------------
def text(value: Any) -> str:
    """A value as the text of a cell: ``—`` for nothing, floats in 4 significant digits."""
    if value is None or value == "":
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def html_table(
    headers: Iterable[str], rows: Iterable[Iterable[Any]], *, raw: Iterable[int] = ()
) -> str:
    """An HTML table of ``rows``, every cell escaped (but the columns in ``raw``).

    Args:
        headers: The headings.
        rows: The cells of each row; :func:`text` makes them text.
        raw: Indices of columns whose cells are HTML made here (already escaped).

    Returns:
        The table, or ``<p>None.</p>`` without rows.
    """
    raw = set(raw)
    body = [
        "<tr>"
        + "".join(
            f"<td {LEFT}>{cell if i in raw else escape(text(cell))}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    ]
    if not body:
        return "<p>None.</p>"
    head = "".join(f"<th {LEFT}>{escape(h)}</th>" for h in headers)
    return (
        f'<table class="nbp-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def field_table(fields: Iterable[tuple[str, Any]]) -> str:
    """A two-column HTML table of ``(name, value)`` pairs, escaped."""
    body = "".join(
        f"<tr><th {LEFT}>{escape(name)}</th><td {LEFT}>{escape(text(value))}</td></tr>"
        for name, value in fields
    )
    return f'<table class="nbp-table"><tbody>{body}</tbody></table>' if body else ""


def heading(title: str) -> str:
    """A small escaped heading."""
    return f"<h4 style='margin:8px 0 4px'>{escape(title)}</h4>"


def age(seconds: float | None) -> str:
    """An age or a duration in seconds, as ``3 h 5 min`` (``—`` for none)."""
    return format_duration(seconds) if seconds is not None else DASH


def when(value: Any) -> str:
    """A time as :func:`nbplatform.display.format_time` shows it."""
    return format_time(value)


def error_html(message: str) -> str:
    """A readable, escaped error line."""
    return f'<div class="nbp-widget-error" style="{ERROR_STYLE}">⚠ {escape(message)}</div>'


def message_of(error: Exception) -> str:
    """What to tell the user of ``error``: its message, named when it is no platform error."""
    if isinstance(error, NbplatformError):
        return error.message
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


# The frame ----------------------------------------------------------------------------
class Panel(ipw.VBox):
    """A sidebar panel as a widget: a title, a Refresh button, an error line, a body.

    Subclasses build their widgets, call ``super().__init__(body, client=...)`` and
    load in :meth:`_load`. Every call to the platform runs in :meth:`_guard`, which
    shows a failure as a message in the widget instead of a traceback.

    Args:
        body: The widgets under the header.
        client: The client to call the platform with (default: one from
            ``NBP_PLATFORM_URL`` and ``NBP_TOKEN``, made on first use).
        load: Load from the platform now (else on the first :meth:`refresh`).
        **kwargs: Passed to ``ipywidgets.VBox``.
    """

    title: ClassVar[str] = "Platform"

    def __init__(
        self,
        body: list[Any],
        *,
        client: PlatformClient | None = None,
        load: bool = True,
        **kwargs: Any,
    ) -> None:
        self._client = client
        self._quiet = 0
        #: The last error's message, or ``None`` when the last action went well.
        self.error: str | None = None
        self.message = ipw.HTML(layout=ipw.Layout(display="none"))
        self.refresh_button = ipw.Button(
            description="Refresh", icon="refresh", tooltip="Load again from the platform"
        )
        self.refresh_button.on_click(lambda _: self.refresh())
        header = ipw.HBox(
            [ipw.HTML(f"<b>{escape(self.title)}</b>"), self.refresh_button],
            layout=ipw.Layout(justify_content="space-between", align_items="center"),
        )
        super().__init__(children=[header, self.message, *body], **kwargs)
        if load:
            self.refresh()

    @property
    def client(self) -> PlatformClient:
        """The platform client (made on first use).

        Raises:
            ConfigurationError: No platform URL or token is configured.
        """
        if self._client is None:
            self._client = PlatformClient()
        return self._client

    def refresh(self) -> None:
        """Load everything again from the platform, keeping the selection where it still is."""
        with self._guard():
            self._load()

    def _load(self) -> None:  # pragma: no cover - every panel has its own
        raise NotImplementedError

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Show what fails in the block as the widget's message, not as a traceback."""
        self.error = None
        self._show_error(None)
        try:
            yield
        except Exception as e:  # noqa: BLE001 - a widget shows every failure, never raises
            self.error = message_of(e)
            self._show_error(self.error)

    def _show_error(self, message: str | None) -> None:
        self.message.value = error_html(message) if message else ""
        self.message.layout.display = None if message else "none"

    @contextmanager
    def _quietly(self) -> Iterator[None]:
        """Change widgets without their observers acting (see :meth:`_act`)."""
        self._quiet += 1
        try:
            yield
        finally:
            self._quiet -= 1

    def _act(self, handler: Callable[[], None]) -> Callable[[dict[str, Any]], None]:
        """An observer calling ``handler`` (guarded), unless changed :meth:`_quietly`."""

        def observer(change: dict[str, Any]) -> None:
            if not self._quiet:
                with self._guard():
                    handler()

        return observer


def set_options(dropdown: Any, options: list[tuple[str, Any]], keep: Any = None) -> None:
    """Give ``dropdown`` new options and select ``keep`` if among them, else the first.

    Call it :meth:`Panel._quietly`; ipywidgets would otherwise pick values on the way.
    """
    values = [value for _, value in options]
    dropdown.options = options
    dropdown.value = keep if keep in values else (values[0] if values else None)
