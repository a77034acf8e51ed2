"""Schedules become APScheduler triggers; bad ones are refused naming the field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from nbplatform.errors import InvalidParameterError
from nbplatform_jobs.triggers import make_trigger


def test_five_field_cron_in_a_time_zone():
    trigger = make_trigger("0 3 * * *", "Europe/Berlin")
    assert isinstance(trigger, CronTrigger)
    fire = trigger.get_next_fire_time(None, datetime(2026, 1, 1, tzinfo=UTC))
    assert fire.utcoffset().total_seconds() == 3600 and fire.hour == 3


def test_six_fields_put_seconds_first():
    trigger = make_trigger("*/2 * * * * *")
    now = datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert trigger.get_next_fire_time(None, now).second == 2


def test_interval_and_manual():
    assert isinstance(make_trigger(interval_seconds=5), IntervalTrigger)
    assert make_trigger() is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"cron": "61 * * * *"}, "cron:"),
        ({"cron": "* * *"}, "cron:"),
        ({"cron": "0 3 * * *", "timezone": "Mars/Olympus"}, "timezone:"),
        ({"interval_seconds": 0}, "interval_seconds:"),
        ({"cron": "0 3 * * *", "interval_seconds": 5}, "cron, interval_seconds:"),
    ],
)
def test_bad_schedules_name_the_field(kwargs, field):
    with pytest.raises(InvalidParameterError) as error:
        make_trigger(**kwargs)
    assert error.value.message.startswith(field)
