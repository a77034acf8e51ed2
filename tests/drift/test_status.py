"""A check's status, what it does to its monitor, and when a notice is due."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from drift_support import column

from nbplatform_drift.status import check_status, is_muted, notice_due, transition

NOW = datetime(2026, 12, 2, 12, 0)


def test_a_checks_status():
    assert check_status(True, [column("a", True, 2)]) == "drift"
    assert check_status(False, [column("a", True, 2), column("b", False, 0)]) == "warning"
    assert check_status(False, [column("a", False, 0.5)]) == "ok"
    assert check_status(True, [column("a", False, 0.5)]) == "drift"  # the engine decided


@pytest.mark.parametrize(
    ("previous", "status", "due"),
    [
        ("unknown", "ok", False),  # the first check finding nothing is no news
        ("unknown", "warning", True),
        ("unknown", "drift", True),
        ("ok", "ok", False),
        ("ok", "warning", True),
        ("ok", "drift", True),
        ("warning", "drift", True),
        ("drift", "warning", True),
        ("drift", "ok", True),
        ("drift", "drift", False),
    ],
)
def test_a_notice_is_due_on_every_change_but_the_first_ok(previous, status, due):
    assert notice_due(previous, status, None, NOW) is due
    assert notice_due(previous, status, NOW + timedelta(minutes=1), NOW) is False  # muted
    assert notice_due(previous, status, NOW - timedelta(seconds=1), NOW) is due  # mute over


def test_muting_ends_at_its_time():
    assert is_muted(NOW + timedelta(seconds=1), NOW)
    assert not is_muted(NOW, NOW) and not is_muted(None, NOW)


def test_a_change_clears_the_acknowledgement_and_restarts_since():
    monitor = {
        "status": "drift",
        "muted_until": None,
        "acknowledged_by": "dora",
        "acknowledged_at": NOW - timedelta(hours=1),
    }
    same = transition(monitor, "drift", 7, NOW)
    assert not same.changed and not same.notify
    assert same.values == {"status": "drift", "latest_check_id": 7, "updated_at": NOW}
    changed = transition(monitor, "warning", 8, NOW)
    assert changed.changed and changed.notify and changed.previous == "drift"
    assert changed.values["status_since"] == NOW
    assert changed.values["acknowledged_by"] is None and changed.values["acknowledged_at"] is None
    first = transition({"status": "unknown", "muted_until": None}, "ok", 1, NOW)
    assert first.changed and not first.notify and first.values["status_since"] == NOW
