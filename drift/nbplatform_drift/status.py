"""A monitor's status: what a check says, what a change of status does, when to tell people.

- A check's status: ``drift`` when the dataset drifted (the share of drifted
  columns reached the monitor's), ``warning`` when some column drifted, else ``ok``.
- A monitor starts ``unknown``; each check sets its status. A change of status
  clears the acknowledgement and restarts ``status_since``.
- A notice is due on a change, except the first ``unknown -> ok`` (no news),
  unless the monitor is muted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: Statuses that are alerts (shown in JupyterLab until acknowledged).
ALERTING = ("warning", "drift")


def check_status(dataset_drift: bool, columns: Sequence[Mapping[str, Any]]) -> str:
    """``drift``, ``warning`` or ``ok`` for a check's results."""
    if dataset_drift:
        return "drift"
    if any(c.get("drifted") for c in columns):
        return "warning"
    return "ok"


def is_muted(muted_until: datetime | None, now: datetime) -> bool:
    """Whether a monitor muted until ``muted_until`` is muted at ``now``."""
    return muted_until is not None and muted_until > now


def notice_due(previous: str, status: str, muted_until: datetime | None, now: datetime) -> bool:
    """Whether moving from ``previous`` to ``status`` tells the monitor's webhooks and addresses."""
    if previous == status or (previous == "unknown" and status == "ok"):
        return False
    return not is_muted(muted_until, now)


@dataclass(frozen=True)
class Transition:
    """What recording a check does to its monitor.

    Attributes:
        previous: The monitor's status before.
        status: The check's status, the monitor's after.
        changed: Whether the status changed.
        notify: Whether a notice is due (:func:`notice_due`).
        values: The monitor's columns to update.
    """

    previous: str
    status: str
    changed: bool
    notify: bool
    values: dict[str, Any]


def transition(monitor: Mapping[str, Any], status: str, check_id: int, now: datetime) -> Transition:
    """What a check of ``status`` (stored as ``check_id``) does to ``monitor`` (its row).

    Args:
        monitor: The monitor's row (``status``, ``muted_until``...).
        status: The check's status.
        check_id: The check's id.
        now: The time of the check (naive UTC).
    """
    previous = monitor["status"]
    changed = previous != status
    values: dict[str, Any] = {"status": status, "latest_check_id": check_id, "updated_at": now}
    if changed:
        values |= {
            "status_since": now,
            "acknowledged_by": None,
            "acknowledged_at": None,
            "acknowledge_comment": None,
        }
    notify = notice_due(previous, status, monitor.get("muted_until"), now)
    return Transition(previous, status, changed, notify, values)
