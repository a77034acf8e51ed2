"""``nbplatform jobs ...``: notebook jobs from the command line, over the REST API.

Reads ``NBP_PLATFORM_URL`` and ``NBP_TOKEN`` (or ``--url`` / ``--token``), like
``kubectl`` reads its kubeconfig::

    nbplatform jobs create notebooks/train.ipynb --cron "0 3 * * *" -p epochs=5
    nbplatform jobs list
    nbplatform jobs run <job> --wait
    nbplatform jobs runs <job>
    nbplatform jobs logs <run>
    nbplatform jobs cancel <run>
    nbplatform jobs pause|resume|delete <job>
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from nbplatform.errors import NbplatformError


def _client(ctx: click.Context) -> Any:
    from nbplatform.client import PlatformClient

    return PlatformClient(ctx.obj.get("url"), ctx.obj.get("token"))


def _call(ctx: click.Context, fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, client=_client(ctx), **kwargs)
    except NbplatformError as e:
        click.echo(f"nbplatform: {e.message}", err=True)
        sys.exit(2)


def _parse_param(text: str) -> tuple[str, Any]:
    """``name=value``; the value is read as JSON when it parses (``5``, ``true``, ``"x"``)."""
    if "=" not in text:
        raise click.BadParameter(f"{text!r} is not name=value")
    name, raw = text.split("=", 1)
    try:
        return name, json.loads(raw)
    except ValueError:
        return name, raw


def _echo(data: Any, as_json: bool, columns: list[str]) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    rows = data if isinstance(data, list) else [data]
    click.echo("  ".join(f"{c.upper():<18}" for c in columns))
    for row in rows:
        cells = []
        for column in columns:
            value: Any = row
            for part in column.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            cells.append(f"{'' if value is None else value!s:<18}")
        click.echo("  ".join(cells))


JOB_COLUMNS = ["id", "name", "owner", "schedule.kind", "active", "next_run_at", "last_run.status"]
RUN_COLUMNS = ["id", "status", "attempt", "trigger", "started_at", "duration_seconds", "error"]


@click.group()
@click.option("--url", envvar="NBP_PLATFORM_URL", help="Platform service URL.")
@click.option("--token", envvar="NBP_TOKEN", help="Hub API token.")
@click.pass_context
def jobs(ctx: click.Context, url: str | None, token: str | None) -> None:
    """Notebook jobs: schedule notebooks, run them, follow their runs."""
    ctx.obj = {"url": url, "token": token}


@jobs.command()
@click.argument("notebook")
@click.option("--name", help="Job name (default: the notebook's name).")
@click.option("--cron", help='Cron expression, e.g. "0 3 * * *" (6 fields: seconds first).')
@click.option("--timezone", default="UTC", show_default=True)
@click.option("--interval", "interval_seconds", type=int, help="Run every N seconds.")
@click.option("-p", "--param", "params", multiple=True, help="name=value (JSON values).")
@click.option("--profile")
@click.option("--timeout", "timeout_seconds", type=int, default=3600, show_default=True)
@click.option("--retries", type=int, default=0, show_default=True)
@click.option("--webhook", "webhook_url", help="URL for a signed JSON notice.")
@click.option(
    "--notify-on",
    "notify_on",
    type=click.Choice(["failure", "success"]),
    multiple=True,
    help="Outcomes that send a notice (repeat for both; default: failure).",
)
@click.option("--shared", is_flag=True, default=None, help="Let every jobs reader see outputs.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def create(ctx: click.Context, notebook: str, params: tuple[str, ...], as_json: bool, **kw: Any):
    """Make NOTEBOOK (a path in your workspace) a job."""
    from nbplatform import jobs as api

    kw = {k: v for k, v in kw.items() if v is not None and v != ()}
    if "notify_on" in kw:
        kw["notify_on"] = list(kw["notify_on"])
    job = _call(ctx, api.schedule, notebook, parameters=dict(map(_parse_param, params)), **kw)
    _echo(job, as_json, JOB_COLUMNS)


@jobs.command("list")
@click.option("--owner")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def list_(ctx: click.Context, owner: str | None, as_json: bool) -> None:
    """List jobs with their next run time and last run's status."""
    from nbplatform import jobs as api

    _echo(_call(ctx, api.list_jobs, owner), as_json, JOB_COLUMNS)


@jobs.command()
@click.argument("job")
@click.option("-p", "--param", "params", multiple=True, help="Override name=value for this run.")
@click.option("--wait", "wait_", is_flag=True, help="Wait for the run to end (progress bar).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def run(ctx: click.Context, job: str, params: tuple[str, ...], wait_: bool, as_json: bool):
    """Run JOB now."""
    from nbplatform import jobs as api

    parameters = dict(map(_parse_param, params)) if params else None
    result = _call(ctx, api.run_now, job, parameters)
    if wait_:
        result = _call(ctx, api.wait, result)
    _echo(result, as_json, RUN_COLUMNS)
    if wait_ and result["status"] != "succeeded":
        sys.exit(1)


@jobs.command()
@click.argument("job")
@click.option("-n", "max_results", type=int, default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def runs(ctx: click.Context, job: str, max_results: int, as_json: bool) -> None:
    """Show JOB's latest runs."""
    from nbplatform import jobs as api

    _echo(_call(ctx, api.runs, job, max_results), as_json, RUN_COLUMNS)


@jobs.command()
@click.argument("run_id")
@click.pass_context
def logs(ctx: click.Context, run_id: str) -> None:
    """Print a run's log."""
    from nbplatform import jobs as api

    click.echo(_call(ctx, api.log, run_id), nl=False)


@jobs.command("cancel")
@click.argument("run_id")
@click.pass_context
def cancel_(ctx: click.Context, run_id: str) -> None:
    """Cancel a queued or running run."""
    from nbplatform import jobs as api

    _echo(_call(ctx, api.cancel, run_id), False, RUN_COLUMNS)


def _job_verb(verb: str, help_text: str) -> None:
    @jobs.command(verb, help=help_text)
    @click.argument("job")
    @click.pass_context
    def command(ctx: click.Context, job: str) -> None:
        from nbplatform import jobs as api

        result = _call(ctx, getattr(api, verb), job)
        if result is not None:
            _echo(result, False, JOB_COLUMNS)
        else:
            click.echo(f"deleted {job}")


_job_verb("pause", "Stop scheduling JOB.")
_job_verb("resume", "Schedule JOB again.")
_job_verb("delete", "Delete JOB, its runs and their outputs.")
