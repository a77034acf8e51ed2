"""``nbplatform drift ...``: drift monitors from the command line.

Reads ``NBP_PLATFORM_URL`` and ``NBP_TOKEN`` (or ``--url`` / ``--token``)::

    nbplatform drift list
    nbplatform drift show churn
    nbplatform drift check churn
    nbplatform drift schedule churn --cron "0 6 * * *"
    nbplatform drift acknowledge churn --comment "known: new market"
    nbplatform drift mute churn --minutes 120
"""

from __future__ import annotations

import json
from typing import Any

import click

from .jobs import JOB_COLUMNS, _call, _echo

MONITOR_COLUMNS = ["name", "owner", "model", "feature_view", "status", "status_since"]
COLUMN_COLUMNS = ["column", "method", "statistic", "threshold", "drifted", "weighted"]


@click.group()
@click.option("--url", envvar="NBP_PLATFORM_URL", help="Platform service URL.")
@click.option("--token", envvar="NBP_TOKEN", help="Hub API token.")
@click.pass_context
def drift(ctx: click.Context, url: str | None, token: str | None) -> None:
    """Drift monitors: list them, check now, schedule checks, acknowledge alerts."""
    ctx.obj = {"url": url, "token": token}


@drift.command("list")
@click.option("--mine", is_flag=True, help="Only monitors you own or watch.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def list_(ctx: click.Context, mine: bool, as_json: bool) -> None:
    """List monitors with their status."""
    from nbplatform import drift as api

    _echo(_call(ctx, api.list_monitors, mine), as_json, MONITOR_COLUMNS)


@drift.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def show(ctx: click.Context, name: str, as_json: bool) -> None:
    """Show a monitor and its latest check, columns ranked by weighted drift."""
    from nbplatform import drift as api

    monitor = _call(ctx, api.get_monitor, name)
    latest = monitor.get("latest_check")
    check = _call(ctx, api.get_check, latest["id"]) if latest else None
    if as_json:
        click.echo(json.dumps({"monitor": monitor, "latest_check": check}, indent=2))
        return
    _echo(monitor, False, MONITOR_COLUMNS)
    if check:
        click.echo("")
        _echo(check["columns"], False, COLUMN_COLUMNS)


@drift.command("check")
@click.argument("name")
@click.option("--sample", type=int, help="Compare a seeded sample of this many rows per side.")
@click.option("--no-report", is_flag=True, help="Skip Evidently's HTML report.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def check_(ctx: click.Context, name: str, sample: int | None, no_report: bool, as_json: bool):
    """Check the monitor now, with its own reference and current data."""
    from nbplatform import drift as api

    result = _call(ctx, api.check, monitor=name, sample=sample, report=not no_report)
    stored: Any = result.check or {}
    if as_json:
        click.echo(json.dumps(stored, indent=2))
        return
    click.echo(
        f"{name}: {stored.get('status')} ({stored.get('n_drifted')} of "
        f"{stored.get('n_columns')} columns drifted), check {stored.get('id')}"
    )
    _echo(stored.get("columns") or [], False, COLUMN_COLUMNS)


@drift.command()
@click.argument("name")
@click.option("--cron", required=True, help='Cron expression, e.g. "0 6 * * *".')
@click.option("--timezone", default="UTC", show_default=True)
@click.option("--profile", help="Profile to run on (default: yours).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def schedule(
    ctx: click.Context, name: str, cron: str, timezone: str, profile: str | None, as_json: bool
) -> None:
    """Check the monitor on a schedule: a platform job running the check notebook."""
    from nbplatform import drift as api

    job = _call(ctx, api.schedule, name, cron, timezone=timezone, profile=profile)
    _echo(job, as_json, JOB_COLUMNS)


@drift.command()
@click.argument("name")
@click.option("--comment", help="Why (kept in the audit log).")
@click.pass_context
def acknowledge(ctx: click.Context, name: str, comment: str | None) -> None:
    """Acknowledge the monitor's alert until its status changes again."""
    from nbplatform import drift as api

    _echo(_call(ctx, api.acknowledge, name, comment), False, MONITOR_COLUMNS)


@drift.command()
@click.argument("name")
@click.option("--minutes", type=int, default=60, show_default=True)
@click.pass_context
def mute(ctx: click.Context, name: str, minutes: int) -> None:
    """Send no notices for a while (checks still record status)."""
    from nbplatform import drift as api

    _echo(_call(ctx, api.mute, name, minutes), False, [*MONITOR_COLUMNS, "muted_until"])
