"""Data drift in Evidently's terms: monitors, checks with thresholds, history, alerts.

A *monitor* (kept by the platform) names a model (``models:/churn@champion``) or
a feature view, a reference (default: the training frame recorded on the model
version's run by :func:`nbplatform.features.get_training_frame`), where current
data comes from (a feature view's recent window, a parquet file, or a frame you
pass), per-column tests and thresholds, and who hears of a change. A *check*
compares current data with the reference, column by column, with Evidently's
own default tests (Wasserstein or Jensen–Shannon distance 0.1 on large samples,
KS, chi² or Z-test p < 0.05 on small ones; dataset drift when at least half the
columns drift), and stores the verdicts and Evidently's HTML report::

    nbp.drift.create_monitor("churn", model="models:/churn@champion",
                             current={"kind": "feature_view", "view": "customers",
                                      "window_days": 7})
    result = nbp.drift.check(monitor="churn")      # or check(reference_df, current_df)
    result.drifted_columns, result.dataset_drift
    nbp.drift.history("churn")                     # a DataFrame, one row per check
    nbp.drift.schedule("churn", cron="0 6 * * *")  # a platform job

Reference statistics are computed once per reference and reused by later checks,
in the same process and, kept in ``~/.cache/nbplatform/drift`` (``NBP_DRIFT_CACHE``),
by the next scheduled check (:mod:`nbplatform.drift_engine`). Evidently and pandas load
on first use (``pip install 'nbplatform[drift]'``).
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ._extras import require
from .client import PlatformClient
from .errors import InvalidParameterError, NbplatformError

__all__ = [
    "acknowledge",
    "check",
    "create_monitor",
    "delete_monitor",
    "get_check",
    "get_monitor",
    "history",
    "list_monitors",
    "mute",
    "retrain",
    "schedule",
    "unmute",
    "unwatch",
    "update_monitor",
    "watch",
]

#: Where :func:`schedule` puts it in your workspace, unless a file is there.
CHECK_NOTEBOOK = "drift/drift_check.ipynb"
#: The answer header describing a feature view's window.
WINDOW_HEADER = "Nbplatform-Feature-Window"


def _client(client: PlatformClient | None) -> PlatformClient:
    from .features import _client as shared

    return shared(client)


def _json(client: PlatformClient | None, method: str, path: str, **kwargs: Any) -> Any:
    response = _client(client).send(method, path, **kwargs)
    return response.json() if response.content else None


def _monitor_path(name: str) -> str:
    return f"api/drift/monitors/{quote(name, safe='')}"


# Monitors ----------------------------------------------------------------------------
def create_monitor(
    name: str,
    *,
    model: str | None = None,
    feature_view: str | None = None,
    reference: Mapping[str, Any] | None = None,
    current: Mapping[str, Any] | None = None,
    columns: Sequence[str] | None = None,
    tests: Mapping[str, Mapping[str, Any]] | None = None,
    drift_share: float = 0.5,
    webhooks: Sequence[str] = (),
    emails: Sequence[str] = (),
    retrain_job_id: str | None = None,
    description: str = "",
    client: PlatformClient | None = None,
) -> dict[str, Any]:
    """Create a drift monitor (you own it).

    Args:
        name: The monitor's name.
        model: ``models:/<name>@<alias>`` (or ``/<version>``) it watches.
        feature_view: A feature view it watches (instead of a model).
        reference: ``{"kind": "training_frame"}`` (default with a model) or
            ``{"kind": "parquet", "path": "/abs/path.parquet"}``.
        current: ``{"kind": "feature_view", "view": ..., "window_days": 7}``,
            ``{"kind": "parquet", "path": ...}`` or ``{"kind": "pushed"}`` (default:
            each check passes its frame).
        columns: The columns to test (default: the reference's features).
        tests: Per-column overrides, ``{"age": {"method": "psi", "threshold": 0.2}}``.
        drift_share: Share of drifted columns that makes the dataset drift.
        webhooks: URLs that receive a signed JSON notice when the status changes.
        emails: Addresses that receive the notice by e-mail.
        retrain_job_id: The job that trains the model ("retrain" runs it).
        description: Free text.
        client: A client (default: ``NBP_PLATFORM_URL`` and ``NBP_TOKEN``).

    Returns:
        The monitor, with ``webhook_secret`` (shown only now) when it has webhooks.
    """
    body: dict[str, Any] = {
        "name": name,
        "model": model,
        "feature_view": feature_view,
        "columns": list(columns) if columns is not None else None,
        "tests": {k: dict(v) for k, v in (tests or {}).items()},
        "drift_share": drift_share,
        "webhooks": list(webhooks),
        "emails": list(emails),
        "retrain_job_id": retrain_job_id,
        "description": description,
    }
    if reference is not None:
        body["reference"] = dict(reference)
    if current is not None:
        body["current"] = dict(current)
    return _json(client, "POST", "api/drift/monitors", json=body)


def get_monitor(name: str, *, client: PlatformClient | None = None) -> dict[str, Any]:
    """One monitor: its definition, status and recent history."""
    return _json(client, "GET", _monitor_path(name))


def list_monitors(mine: bool = False, *, client: PlatformClient | None = None) -> list[dict]:
    """Every monitor (``mine``: those you own or watch)."""
    monitors: list[dict[str, Any]] = []
    token = None
    while True:
        params: dict[str, Any] = {"mine": "1"} if mine else {}
        if token:
            params["page_token"] = token
        page = _json(client, "GET", "api/drift/monitors", params=params)
        monitors.extend(page["monitors"])
        token = page.get("next_page_token")
        if not token:
            return monitors


def update_monitor(name: str, *, client: PlatformClient | None = None, **fields: Any) -> dict:
    """Change a monitor you own (``tests=...``, ``webhooks=...``...)."""
    return _json(client, "PATCH", _monitor_path(name), json=fields)


def delete_monitor(name: str, *, client: PlatformClient | None = None) -> None:
    """Delete a monitor you own, with its checks and reports."""
    _client(client).send("DELETE", _monitor_path(name))


def acknowledge(name: str, comment: str | None = None, *, client: PlatformClient | None = None):
    """Acknowledge the monitor's alert (until its status changes again); audited."""
    return _json(client, "POST", f"{_monitor_path(name)}/acknowledge", json={"comment": comment})


def mute(name: str, minutes: int = 60, *, client: PlatformClient | None = None) -> dict:
    """Send no notices for ``minutes`` (checks still record status); audited."""
    return _json(client, "POST", f"{_monitor_path(name)}/mute", json={"minutes": minutes})


def unmute(name: str, *, client: PlatformClient | None = None) -> dict[str, Any]:
    """Send notices again."""
    return _json(client, "DELETE", f"{_monitor_path(name)}/mute")


def watch(name: str, *, client: PlatformClient | None = None) -> dict[str, Any]:
    """Hear of the monitor's alerts in JupyterLab (badge and notification)."""
    return _json(client, "POST", f"{_monitor_path(name)}/watch")


def unwatch(name: str, *, client: PlatformClient | None = None) -> dict[str, Any]:
    """Stop watching."""
    return _json(client, "DELETE", f"{_monitor_path(name)}/watch")


def retrain(
    name: str, check_id: int | None = None, *, client: PlatformClient | None = None
) -> dict[str, Any]:
    """Run the monitor's training job with the drift window as parameters.

    Returns:
        ``{"job_id", "run"}``: the run the jobs API queued.
    """
    body = {"check_id": check_id} if check_id is not None else {}
    return _json(client, "POST", f"{_monitor_path(name)}/retrain", json=body)


def get_check(check_id: int, *, client: PlatformClient | None = None) -> dict[str, Any]:
    """One stored check, columns ranked by drift weighted with the model's SHAP importance."""
    return _json(client, "GET", f"api/drift/checks/{int(check_id)}")


def history(name: str, *, limit: int = 1000, client: PlatformClient | None = None) -> Any:
    """The monitor's checks, oldest first, as a pandas DataFrame (one row per check)."""
    pd = require("pandas", "drift", "nbp.drift.history", "pandas")
    rows: list[dict[str, Any]] = []
    token = None
    while len(rows) < limit:
        params: dict[str, Any] = {"max_results": min(100, limit - len(rows))}
        if token:
            params["page_token"] = token
        page = _json(client, "GET", f"{_monitor_path(name)}/checks", params=params)
        rows.extend(page["checks"])
        token = page.get("next_page_token")
        if not token:
            break
    frame = pd.DataFrame(rows[:limit])
    if not frame.empty:
        frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
        frame = frame.sort_values("created_at").reset_index(drop=True)
    return frame


# Checks ------------------------------------------------------------------------------
def _read_parquet(path: str) -> Any:
    pd = require("pandas", "drift", "nbp.drift", "pandas")
    if not Path(path).exists():
        raise InvalidParameterError(f"{path}: no such parquet file or folder.")
    return pd.read_parquet(path)


def _model_version(model: str) -> Any:
    from mlflow.tracking import MlflowClient

    rest = model.removeprefix("models:/")
    client = MlflowClient()
    if "@" in rest:
        name, alias = rest.split("@", 1)
        return client.get_model_version_by_alias(name, alias)
    name, version = rest.rsplit("/", 1)
    return client.get_model_version(name, version)


def _training_frame(model: str, client: PlatformClient | None) -> tuple[Any, list[str]]:
    """Rebuild the training frame recorded on the model version's run, and its features."""
    import mlflow
    import pandas as pd

    from . import features

    version = _model_version(model)
    prefix = f"runs:/{version.run_id}/training_frame"
    try:
        spec = mlflow.artifacts.load_dict(f"{prefix}/spec.json")
        entities = pd.read_parquet(
            mlflow.artifacts.download_artifacts(f"{prefix}/entities.parquet")
        )
    except Exception as e:  # noqa: BLE001 (MLflow raises several kinds)
        raise InvalidParameterError(
            f"reference: {model} (run {version.run_id}) has no training frame recorded "
            "(train it with nbp.features.get_training_frame inside the MLflow run), or "
            f"give the monitor a parquet reference ({e})."
        ) from None
    refs = spec.get("features") or []
    frame = features.get_training_frame(
        entities,
        features=None if spec.get("feature_service") else refs,
        feature_service=spec.get("feature_service"),
        log=False,
        client=client,
    )
    return frame, [ref.split(":", 1)[-1] for ref in refs]


def _view_window(
    view: str, days: float, client: PlatformClient | None
) -> tuple[Any, list[str], datetime, datetime]:
    import pyarrow as pa

    end = datetime.now(UTC)
    start = end - timedelta(days=float(days))
    response = _client(client).send(
        "GET",
        f"api/features/views/{quote(view, safe='')}/window",
        params={"start": start.isoformat(), "end": end.isoformat()},
        timeout=600,
    )
    description = json.loads(response.headers.get(WINDOW_HEADER) or "{}")
    if description.get("sampled"):
        warnings.warn(
            f"nbp.drift: the window of {view} holds {description.get('source_rows')} rows; "
            f"a seeded sample of {description['rows']} is compared.",
            stacklevel=3,
        )
    frame = pa.ipc.open_stream(response.content).read_all().to_pandas()
    skip = {*description.get("join_keys", []), description.get("timestamp_field")}
    return frame, [c for c in frame.columns if c not in skip], start, end


def _resolve(
    reference: Any, current: Any, monitor: dict[str, Any] | None, client: PlatformClient | None
) -> tuple[Any, Any, list[str] | None, dict[str, Any]]:
    """Reference and current frames, default columns and the window of a check."""
    window: dict[str, Any] = {"window_start": None, "window_end": None}
    columns: list[str] | None = None
    if isinstance(reference, str | Path):
        reference = _read_parquet(str(reference))
    if isinstance(current, str | Path):
        current = _read_parquet(str(current))
    if monitor is not None and reference is None:
        spec = monitor.get("reference") or {"kind": "training_frame"}
        if spec["kind"] == "parquet":
            reference = _read_parquet(spec["path"])
        elif monitor.get("model"):
            reference, columns = _training_frame(monitor["model"], client)
    if monitor is not None and current is None:
        spec = monitor.get("current") or {"kind": "pushed"}
        if spec["kind"] == "parquet":
            current = _read_parquet(spec["path"])
        elif spec["kind"] == "feature_view":
            current, view_columns, start, end = _view_window(
                spec["view"], spec.get("window_days") or 7, client
            )
            columns = columns or view_columns
            window = {"window_start": start.isoformat(), "window_end": end.isoformat()}
    if reference is None or current is None:
        missing = "reference" if reference is None else "current"
        raise InvalidParameterError(
            f"{missing}: pass a DataFrame or a parquet path"
            + (" (the monitor does not say where it comes from)." if monitor else ".")
        )
    return reference, current, columns, window


def _importance(monitor: dict[str, Any] | None) -> tuple[dict[str, float] | None, str | None]:
    """The SHAP importance logged with the monitor's model version, and the version."""
    if not monitor or not monitor.get("model"):
        return None, None
    try:
        version = _model_version(monitor["model"])
        label = f"{version.name}/{version.version}"
    except Exception as e:  # noqa: BLE001
        warnings.warn(f"nbp.drift: {monitor['model']} cannot be resolved: {e}", stacklevel=3)
        return None, None
    try:
        from .explain import load_importance

        return load_importance(f"models:/{version.name}/{version.version}"), label
    except NbplatformError:
        return None, label  # the version was logged without explain=True


def _cache_dir() -> str:
    """Where reference statistics are kept between checks.

    ``NBP_DRIFT_CACHE``, else ``~/.cache/nbplatform/drift`` (yours alone: a
    scheduled check runs as you).
    """
    return os.environ.get("NBP_DRIFT_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "nbplatform", "drift"
    )


def _default_columns(frame: Any) -> list[str]:
    """Every column but times (event timestamps are not features)."""
    import pandas as pd

    return [
        c
        for c in frame.columns
        if not pd.api.types.is_datetime64_any_dtype(frame[c]) and c != "event_timestamp"
    ]


def check(
    reference: Any = None,
    current: Any = None,
    *,
    monitor: str | None = None,
    columns: Sequence[str] | None = None,
    tests: Mapping[str, Any] | None = None,
    drift_share: float | None = None,
    sample: int | None = None,
    report: bool = True,
    report_sample_rows: int = 100_000,
    client: PlatformClient | None = None,
) -> Any:
    """Compare ``current`` with ``reference`` column by column; store it when a monitor is named.

    Args:
        reference: A DataFrame or parquet path (default: the monitor's reference,
            e.g. the model version's training frame).
        current: A DataFrame or parquet path (default: the monitor's source).
        monitor: The monitor to record the check on (its columns, tests and
            share are the defaults of the arguments below).
        columns: Columns to test.
        tests: Per-column ``{"method", "threshold"}`` overrides.
        drift_share: Share of drifted columns that makes the dataset drift.
        sample: Compare a seeded random sample of this many rows per side
            (faster on big data; verdicts may then differ from all rows).
        report: Make Evidently's HTML report (stored with the check).
        report_sample_rows: The report is made on at most this many rows per side.
        client: A client (default: ``NBP_PLATFORM_URL`` and ``NBP_TOKEN``).

    Returns:
        A :class:`nbplatform.drift_engine.DriftResult`; with a monitor, ``.check``
        is the stored check (``status``, columns ranked by importance-weighted drift).

    Raises:
        SchemaMismatchError: Reference and current do not have the tested columns
            (the message names them).
    """
    from . import drift_engine, drift_evidently

    spec = get_monitor(monitor, client=client) if monitor else None
    ref, cur, default_columns, window = _resolve(reference, current, spec, client)
    if columns is None and spec is not None:
        columns = spec.get("columns")
    columns = list(columns or default_columns or _default_columns(ref))
    tests = tests if tests is not None else (spec or {}).get("tests") or None
    share = drift_share if drift_share is not None else (spec or {}).get("drift_share", 0.5)
    result = drift_engine.evaluate(
        drift_engine.reference_statistics(
            ref, columns=columns, tests=tests, cache_dir=_cache_dir()
        ),
        cur,
        columns=columns,
        tests=tests,
        drift_share=share,
        sample=sample,
    )
    html = None
    if report:
        html = drift_evidently.report_html(  # the tested columns only, as the verdicts
            ref[columns],
            cur[columns],
            columns=columns,
            tests=tests,
            drift_share=share,
            sample_rows=report_sample_rows,
        )
    result.report_html = html
    result.check = None
    if spec is not None:
        importance, version = _importance(spec)
        body = {
            **{k: v for k, v in result.to_dict().items() if k != "report_html"},
            **window,
            "importance": importance,
            "model_version": version,
            "report_html": html,
        }
        result.check = _json(client, "POST", f"{_monitor_path(monitor)}/checks", json=body)
    return result


# Scheduling --------------------------------------------------------------------------
def schedule(
    name: str,
    cron: str,
    *,
    timezone: str = "UTC",
    notebook: str = CHECK_NOTEBOOK,
    profile: str | None = None,
    workspace: str | Path | None = None,
    client: PlatformClient | None = None,
) -> dict[str, Any]:
    """Check the monitor on a schedule: a platform job running the check notebook.

    The template is copied to ``notebook`` in your workspace unless a file is
    there; the job is saved on the monitor (``schedule_job_id``).

    Returns:
        The job.
    """
    from . import jobs
    from .notebook_templates import place_notebook, template
    from .notebook_templates import workspace as default_workspace

    root = Path(workspace) if workspace is not None else default_workspace()
    relative, _ = place_notebook(notebook, root, template("drift_check.ipynb"))
    job = jobs.schedule(
        relative,
        name=f"drift-{name}",
        cron=cron,
        timezone=timezone,
        parameters={"monitor": name},
        profile=profile,
        client=client,
    )
    update_monitor(name, schedule_job_id=job["id"], client=client)
    return job
