"""``nbplatform features ...``: the platform's feature store from the command line.

Reads ``NBP_PLATFORM_URL`` and ``NBP_TOKEN`` (or ``--url`` / ``--token``), like
``nbplatform jobs``::

    nbplatform features apply features/ --dry-run
    nbplatform features list
    nbplatform features describe driver_stats
    nbplatform features materialize --incremental --view driver_stats
    nbplatform features materialize --start 2026-01-01 --end 2026-02-01
    nbplatform features schedule-materialization --cron "0 * * * *"
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ..errors import InvalidParameterError
from ..notebook_templates import place_notebook as place
from ..notebook_templates import template, workspace
from .jobs import JOB_COLUMNS, _call, _echo

#: Where ``schedule-materialization`` puts its notebook in your workspace.
MATERIALIZATION_NOTEBOOK = "features/materialize_features.ipynb"


@click.group()
@click.option("--url", envvar="NBP_PLATFORM_URL", help="Platform service URL.")
@click.option("--token", envvar="NBP_TOKEN", help="Hub API token.")
@click.pass_context
def features(ctx: click.Context, url: str | None, token: str | None) -> None:
    """Feature store: apply Feast definitions, list views, materialize."""
    ctx.obj = {"url": url, "token": token}


def _table(rows: list[list[Any]], header: list[str]) -> None:
    cells = [header, *[["" if v is None else str(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def _age(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = int(seconds)
    if s >= 86400:
        return f"{s // 86400}d{s % 86400 // 3600}h"
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60}m"
    return f"{s // 60}m" if s >= 60 else f"{s}s"


@features.command()
@click.argument("path", default=".", type=click.Path(exists=True, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Only say what would change.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def apply(ctx: click.Context, path: Path, dry_run: bool, as_json: bool) -> None:
    """Register the Feast definitions in PATH (a folder, default: here)."""
    from nbplatform import features as api

    answer = _call(ctx, api.apply, path, dry_run)
    if as_json:
        click.echo(json.dumps(answer, indent=2))
        return
    rows = [
        [change, item["kind"], item["name"]]
        for change in ("created", "updated", "unchanged")
        for item in answer.get(change, [])
    ]
    _table(rows, ["CHANGE", "KIND", "NAME"])
    counts = ", ".join(f"{len(answer.get(c, []))} {c}" for c in ("created", "updated", "unchanged"))
    click.echo(f"{counts}{' (dry run: nothing was written)' if answer.get('dry_run') else ''}")


@features.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def list_(ctx: click.Context, as_json: bool) -> None:
    """List feature views with their freshness."""
    from nbplatform import features as api

    views = _call(ctx, api.list_feature_views)
    if as_json:
        click.echo(json.dumps(views, indent=2))
        return
    rows = []
    for view in views:
        freshness = view.get("freshness") or {}
        materialized = view.get("materialization") or {}
        rows.append(
            [
                view["name"],
                ",".join(e["name"] for e in view.get("entities", [])),
                len(view.get("features", [])),
                "" if view.get("ttl_seconds") is None else _age(view["ttl_seconds"]),
                freshness.get("status"),
                _age(freshness.get("age_seconds")),
                materialized.get("end"),
            ]
        )
    _table(rows, ["NAME", "ENTITIES", "FEATURES", "TTL", "FRESHNESS", "AGE", "MATERIALIZED_TO"])


@features.command()
@click.argument("view")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def describe(ctx: click.Context, view: str, as_json: bool) -> None:
    """Show VIEW: schema, TTL, source, materialization and column statistics."""
    from nbplatform import features as api

    info = _call(ctx, api.describe, view)
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    source = info.get("source") or {}
    materialized = info.get("materialization") or {}
    freshness = info.get("freshness") or {}
    stats = info.get("stats") or {}
    ttl = info.get("ttl_seconds")
    for label, value in (
        ("name", info["name"]),
        ("description", info.get("description")),
        ("owner", info.get("owner")),
        ("entities", ", ".join(e["name"] for e in info.get("entities", []))),
        ("ttl", "none" if ttl is None else _age(ttl)),
        ("online", info.get("online")),
        ("source", f"{source.get('name')} ({source.get('type')}) {source.get('path') or ''}"),
        ("materialized", f"{materialized.get('start')} .. {materialized.get('end')}"),
        ("freshness", f"{freshness.get('status')} {_age(freshness.get('age_seconds'))}".strip()),
        ("rows", stats.get("row_count")),
    ):
        click.echo(f"{label + ':':<14}{'' if value is None else value}")
    columns = {c["name"]: c for c in stats.get("columns", [])}
    rows = []
    for feature in info.get("features", []):
        c = columns.get(feature["name"], {})
        rows.append(
            [feature["name"], feature["dtype"], c.get("count"), c.get("nulls")]
            + [_short(c.get(k)) for k in ("mean", "std", "min", "max")]
        )
    click.echo("")
    _table(rows, ["FEATURE", "DTYPE", "COUNT", "NULLS", "MEAN", "STD", "MIN", "MAX"])


def _short(value: Any) -> Any:
    return f"{value:.4g}" if isinstance(value, float) else value


MATERIALIZATION_COLUMNS = ["id", "status", "views", "start", "end", "finished_at", "error"]


@features.command()
@click.option("--start", help="Start of the interval (ISO 8601, UTC when no offset).")
@click.option("--end", help="End of the interval (default: now).")
@click.option("--incremental", is_flag=True, help="From where each view's last run ended.")
@click.option("--view", "views", multiple=True, help="A view (repeat; default: every view).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def materialize(
    ctx: click.Context,
    start: str | None,
    end: str | None,
    incremental: bool,
    views: tuple[str, ...],
    as_json: bool,
) -> None:
    """Load feature values into the online store (--start/--end, or --incremental)."""
    from nbplatform import features as api

    if incremental and start:
        raise click.UsageError("give --start (and --end) or --incremental, not both")
    if not incremental and not start:
        raise click.UsageError("give --start (and --end), or --incremental")
    names = list(views) or None
    if incremental:
        record = _call(ctx, api.materialize_incremental, end, names)
    else:
        record = _call(ctx, api.materialize, start, end, names)
    if as_json:
        click.echo(json.dumps(record, indent=2))
        return
    _echo({**record, "views": ",".join(record.get("views") or [])}, False, MATERIALIZATION_COLUMNS)


def template_notebook() -> Path:
    """The packaged notebook that materializes features (``views``, ``incremental``...)."""
    return template("materialize_features.ipynb")


def place_notebook(notebook: str, root: Path) -> tuple[str, bool]:
    """Copy the template to ``notebook`` (relative to ``root``) unless a file is there.

    Raises:
        click.BadParameter: ``notebook`` is outside ``root`` or not an ``.ipynb`` file.
    """
    try:
        return place(notebook, root, template_notebook())
    except InvalidParameterError as e:
        raise click.BadParameter(e.message.removeprefix("notebook: ")) from None


@features.command("schedule-materialization")
@click.option("--cron", required=True, help='Cron expression, e.g. "0 * * * *".')
@click.option("--timezone", default="UTC", show_default=True)
@click.option("--view", "views", multiple=True, help="A view (repeat; default: every view).")
@click.option("--name", default="materialize-features", show_default=True, help="Job name.")
@click.option(
    "--notebook",
    default=MATERIALIZATION_NOTEBOOK,
    show_default=True,
    help="Notebook in your workspace (the template is copied there unless it exists).",
)
@click.option("--profile", help="Profile to run on (default: yours).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def schedule_materialization(
    ctx: click.Context,
    cron: str,
    timezone: str,
    views: tuple[str, ...],
    name: str,
    notebook: str,
    profile: str | None,
    as_json: bool,
) -> None:
    """Materialize incrementally on a schedule: a platform job running a notebook."""
    from nbplatform import jobs as api

    root = workspace()
    relative, copied = place_notebook(notebook, root)
    if copied:
        click.echo(f"wrote {root / relative}", err=True)
    parameters = {"views": list(views) or None, "incremental": True}
    job = _call(
        ctx,
        api.schedule,
        relative,
        name=name,
        cron=cron,
        timezone=timezone,
        parameters=parameters,
        profile=profile,
    )
    _echo(job, as_json, JOB_COLUMNS)
