"""Schedules as APScheduler triggers, with errors that name the field.

Three kinds: ``cron`` (five fields, ``minute hour day month day-of-week``, in a
time zone; six fields put a ``second`` field first, for fast schedules),
``interval_seconds``, or neither (manual runs only).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nbplatform.errors import InvalidParameterError


def check_timezone(name: str) -> ZoneInfo:
    """Return the zone called ``name``.

    Raises:
        InvalidParameterError: Unknown zone; the message names the field ``timezone``.
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidParameterError(
            f"timezone: {name!r} is not a time zone; use an IANA name such as "
            "'UTC' or 'Europe/Berlin'."
        ) from None


def make_trigger(
    cron: str | None = None, timezone: str = "UTC", interval_seconds: int | None = None
) -> Any:
    """Build the APScheduler trigger of a schedule, or ``None`` for manual-only jobs.

    Args:
        cron: A 5-field crontab expression, or 6 fields with seconds first.
        timezone: IANA time zone the cron expression is read in.
        interval_seconds: Run every this many seconds instead.

    Returns:
        A ``CronTrigger``, an ``IntervalTrigger`` or ``None``.

    Raises:
        InvalidParameterError: A bad expression, zone or interval, naming the field.
    """
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    zone = check_timezone(timezone)
    if cron is not None and interval_seconds is not None:
        raise InvalidParameterError(
            "cron, interval_seconds: give one schedule, not both (or neither for manual runs)."
        )
    if interval_seconds is not None:
        if interval_seconds < 1:
            raise InvalidParameterError("interval_seconds: must be at least 1.")
        return IntervalTrigger(seconds=interval_seconds, timezone=zone)
    if cron is None:
        return None
    fields = cron.split()
    try:
        if len(fields) == 5:
            return CronTrigger.from_crontab(cron, timezone=zone)
        if len(fields) == 6:
            second, minute, hour, day, month, day_of_week = fields
            return CronTrigger(
                second=second,
                minute=minute,
                hour=hour,
                day=day,
                month=month,
                day_of_week=day_of_week,
                timezone=zone,
            )
    except ValueError as e:
        raise InvalidParameterError(f"cron: {cron!r} is not a valid cron expression: {e}") from None
    raise InvalidParameterError(
        f"cron: {cron!r} has {len(fields)} fields; use 5 (minute hour day month "
        "day-of-week) or 6 (second first)."
    )


def anchored(trigger: Any, updated_at: datetime | None) -> Any:
    """An interval trigger counting from the definition's last change.

    Every replica (and every restart) then computes the same fire times; cron
    triggers are the same everywhere already.
    """
    from apscheduler.triggers.interval import IntervalTrigger

    if not isinstance(trigger, IntervalTrigger) or updated_at is None:
        return trigger
    interval = trigger.interval
    start = updated_at.replace(tzinfo=UTC) + interval
    return IntervalTrigger(seconds=interval.total_seconds(), start_date=start, timezone=UTC)


def next_fire_time(job: dict[str, Any], now: datetime | None = None) -> datetime | None:
    """When the scheduler fires ``job`` next (naive UTC), computed from its schedule.

    The trigger is the one the scheduler builds (:func:`make_trigger`,
    :func:`anchored`); ``None`` for paused or manual jobs and broken schedules.
    """
    if not job.get("active") or not (job.get("cron") or job.get("interval_seconds")):
        return None
    try:
        trigger = make_trigger(
            job.get("cron"), job.get("timezone") or "UTC", job.get("interval_seconds")
        )
    except InvalidParameterError:
        return None
    trigger = anchored(trigger, job.get("updated_at"))
    fire = trigger.get_next_fire_time(None, now or datetime.now(UTC))
    return None if fire is None else fire.astimezone(UTC).replace(tzinfo=None)
