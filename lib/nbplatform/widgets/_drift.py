"""``nbp.widgets.drift()``: drift monitors, their status and recent checks in a date window."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from .. import drift as _drift
from ..client import PlatformClient
from ..display import DASH, parse_time
from ._base import Panel, field_table, heading, html_table, ipw, set_options, when

#: The colour of a check's bar, by status.
COLOURS = {"ok": "#2e7d32", "warning": "#f9a825", "drift": "#c62828"}


def target(monitor: Mapping[str, Any]) -> str:
    """What the monitor watches: ``model models:/churn@champion`` or ``view driver_stats``."""
    if monitor.get("model"):
        return f"model {monitor['model']}"
    if monitor.get("feature_view"):
        return f"view {monitor['feature_view']}"
    return DASH


def latest(monitor: Mapping[str, Any]) -> str:
    """The latest check in short: ``3/10 columns drifted (30%)``."""
    check = monitor.get("latest_check") or {}
    if not check:
        return "no checks yet"
    share = check.get("drift_share")
    drifted = f"{check.get('n_drifted', '?')}/{check.get('n_columns', '?')} columns drifted"
    return f"{drifted} ({share:.0%})" if isinstance(share, int | float) else drifted


def _bar(share: Any, status: str) -> str:
    width = max(0.0, min(float(share), 1.0)) * 100 if isinstance(share, int | float) else 0
    colour = COLOURS.get(status, "#757575")
    return (
        '<div style="width:8em;background:#eee;height:0.8em">'
        f'<div style="width:{width:.0f}%;background:{colour};height:100%"></div></div>'
    )


class DriftMonitors(Panel):
    """Drift monitors as the Drift panel shows them, with the chosen one's recent checks.

    The ``window`` slider narrows the checks shown to a range of days;
    :attr:`shown` is the checks in it.

    Args:
        monitor: The monitor to select first (default: the first by name).
        mine: Only the monitors you own or watch.
        client: The platform client (default: from ``NBP_PLATFORM_URL`` and ``NBP_TOKEN``).
        load: Load now (default) or at the first :meth:`refresh`.
        **kwargs: Passed to ``ipywidgets.VBox``.
    """

    title = "Drift monitors"

    def __init__(
        self,
        monitor: str | None = None,
        *,
        mine: bool = False,
        client: PlatformClient | None = None,
        load: bool = True,
        **kwargs: Any,
    ) -> None:
        self._wanted = monitor
        self.mine = mine
        #: The monitors listed, by name (the platform's dicts).
        self.monitors: dict[str, dict[str, Any]] = {}
        #: The chosen monitor with its ``history`` (its last checks, oldest first).
        self.monitor: dict[str, Any] | None = None
        self.days: list[date] = []
        self.table = ipw.HTML()
        self.monitors_dropdown = ipw.Dropdown(
            description="Monitor", options=[], layout=ipw.Layout(width="min(100%, 32em)")
        )
        self.details = ipw.HTML()
        self.window = ipw.SelectionRangeSlider(
            options=[(DASH, None)],
            description="Window",
            continuous_update=False,
            layout=ipw.Layout(width="min(100%, 40em)", display="none"),
        )
        self.history = ipw.HTML()
        self.monitors_dropdown.observe(self._act(self._show_monitor), names="value")
        self.window.observe(self._act(self._show_history), names="index")
        body = [self.table, self.monitors_dropdown, self.details, self.window, self.history]
        super().__init__(body, client=client, load=load, **kwargs)

    @property
    def shown(self) -> list[dict[str, Any]]:
        """The chosen monitor's checks within the window, oldest first."""
        checks = (self.monitor or {}).get("history") or []
        if not self.days:
            return list(checks)
        start, end = (self.days[i] for i in self.window.index)
        return [
            c for c in checks if (t := parse_time(c.get("created_at"))) and start <= t.date() <= end
        ]

    def _load(self) -> None:
        found = sorted(_drift.list_monitors(self.mine, client=self.client), key=lambda m: m["name"])
        self.monitors = {str(m["name"]): m for m in found}
        self.table.value = html_table(
            ["monitor", "watches", "status", "since", "latest check", "at", "owner"],
            [
                [
                    name,
                    target(m),
                    m.get("status"),
                    when(m.get("status_since")),
                    latest(m),
                    when((m.get("latest_check") or {}).get("created_at")),
                    m.get("owner"),
                ]
                for name, m in self.monitors.items()
            ],
        )
        with self._quietly():
            keep = self.monitors_dropdown.value or self._wanted
            set_options(self.monitors_dropdown, [(n, n) for n in self.monitors], keep)
        self._show_monitor()

    def _show_monitor(self) -> None:
        name = self.monitors_dropdown.value
        self.monitor, self.days = None, []
        try:
            if name is not None:
                self.monitor = _drift.get_monitor(name, client=self.client)
        finally:  # a failure leaves nothing of another monitor behind
            self._set_window()
            self.details.value = self._details_html()
            self._show_history()

    def _set_window(self) -> None:
        checks = (self.monitor or {}).get("history") or []
        days = sorted({t.date() for c in checks if (t := parse_time(c.get("created_at")))})
        with self._quietly():
            if days:
                self.window.options = [(d.isoformat(), d) for d in days]
                self.window.index = (0, len(days) - 1)
            else:
                self.window.options = [(DASH, None)]
                self.window.index = (0, 0)
        self.days = days
        self.window.layout.display = None if len(days) > 1 else "none"

    def _details_html(self) -> str:
        m = self.monitor
        if m is None:
            return "<p>No drift monitors.</p>" if not self.monitors else ""
        current = m.get("current") or {}
        reference = m.get("reference") or {}
        return field_table(
            [
                ("description", m.get("description")),
                ("watches", target(m)),
                ("status", f"{m.get('status')} since {when(m.get('status_since'))}"),
                ("latest check", latest(m)),
                ("reference", reference.get("kind")),
                ("current", current.get("kind")),
                ("columns", ", ".join(m.get("columns") or []) or "all"),
                ("dataset drift at", m.get("drift_share")),
                ("acknowledged by", m.get("acknowledged_by")),
                ("muted until", when(m.get("muted_until")) if m.get("muted_until") else None),
                ("owner", m.get("owner")),
            ]
        )

    def _show_history(self) -> None:
        if self.monitor is None:
            self.history.value = ""
            return
        checks = self.shown
        rows = [
            [
                c.get("check_id"),
                when(c.get("created_at")),
                c.get("status"),
                c.get("drift_share"),
                _bar(c.get("drift_share"), str(c.get("status"))),
            ]
            for c in reversed(checks)
        ]
        total = len((self.monitor or {}).get("history") or [])
        title = f"Checks ({len(checks)} of {total} recent, newest first)"
        self.history.value = heading(title) + html_table(
            ["check", "at", "status", "drift share", ""], rows, raw=[4]
        )


def drift(
    monitor: str | None = None, *, mine: bool = False, client: PlatformClient | None = None
) -> DriftMonitors:
    """Drift monitors with their status, and the chosen one's recent checks in a date window.

    Args:
        monitor: The monitor to select first.
        mine: Only the monitors you own or watch.
        client: The platform client (default: from ``NBP_PLATFORM_URL`` and ``NBP_TOKEN``).

    Returns:
        The widget (an ``ipywidgets.VBox``).
    """
    return DriftMonitors(monitor, mine=mine, client=client)
