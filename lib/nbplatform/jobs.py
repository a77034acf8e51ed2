"""Notebook jobs from a notebook or a laptop: schedule, run now, follow runs.

Example::

    import nbplatform as nbp

    job = nbp.jobs.schedule("notebooks/train.ipynb", cron="0 3 * * *",
                            timezone="Europe/Berlin", parameters={"epochs": 5})
    run = nbp.jobs.run_now(job)
    run = nbp.jobs.wait(run)          # a progress bar, cell i of n
    nbp.jobs.runs(job)[:3]

A job is named by its id, or by the dict the platform returned. Each call goes
to the platform service's REST API (``api/jobs``, ``api/runs``) with the
caller's token, so the same rules apply as in the Jobs panel.
"""

from __future__ import annotations

import os
import time
from typing import Any

from .client import PlatformClient
from .display import JobList, RunList

__all__ = [
    "cancel",
    "delete",
    "get_job",
    "get_output",
    "get_run",
    "list_jobs",
    "log",
    "pause",
    "rerun",
    "resume",
    "run_now",
    "runs",
    "schedule",
    "update",
    "wait",
]

FINAL = ("succeeded", "failed", "timed-out", "cancelled")


def _id(obj: str | dict[str, Any]) -> str:
    return obj["id"] if isinstance(obj, dict) else str(obj)


def _client(client: PlatformClient | None) -> PlatformClient:
    return client or PlatformClient()


def schedule(
    notebook: str,
    *,
    name: str | None = None,
    cron: str | None = None,
    timezone: str = "UTC",
    interval_seconds: int | None = None,
    parameters: dict[str, Any] | None = None,
    profile: str | None = None,
    timeout_seconds: int = 3600,
    retries: int = 0,
    retry_backoff_seconds: float = 60,
    max_concurrent_runs: int = 1,
    webhook_url: str | None = None,
    email: str | None = None,
    notify_on: list[str] | None = None,
    shared: bool = False,
    tags: list[str] | None = None,
    active: bool = True,
    idempotency_token: str | None = None,
    client: PlatformClient | None = None,
) -> dict[str, Any]:
    """Make ``notebook`` (a path in your workspace) a job.

    Args:
        notebook: Path relative to your workspace, e.g. ``notebooks/train.ipynb``.
        name: The job's name (default: the notebook's file name without suffix).
        cron: ``"minute hour day month day-of-week"`` (or six fields, seconds first).
        timezone: IANA zone the cron expression is read in.
        interval_seconds: Run every this many seconds instead of ``cron``.
        parameters: Values for the notebook's ``parameters`` cell (checked).
        profile: Profile to run on (default: yours).
        timeout_seconds: Stop a run after this long (status ``timed-out``).
        retries: Retries of a failed or timed-out run.
        retry_backoff_seconds: Wait before retry n: ``backoff * 2 ** (n - 1)``.
        max_concurrent_runs: Runs of this job at once.
        webhook_url: Receives a signed JSON POST (``X-Nbp-Signature-256``, keyed
            with the job's ``webhook_secret``) when a run fails for good. Internal
            addresses are refused unless an admin allowed them.
        email: Receives the same notice by e-mail (when the platform has SMTP).
        notify_on: Outcomes that send a notice: ``["failure"]`` (default),
            ``["success"]`` or both.
        shared: Let everyone who may read jobs read the runs' outputs and logs
            (default: only you and platform admins).
        tags: Free labels.
        active: ``False`` to create the job paused.
        idempotency_token: A key of yours: sending the same request again with it
            (after a timeout, say) returns the job it made instead of a duplicate.
        client: A client (default: ``NBP_PLATFORM_URL`` and ``NBP_TOKEN``).

    Returns:
        The job as the platform describes it (``id``, ``next_run_at``...).

    Raises:
        InvalidParameterError: A bad cron, time zone or parameter; the message names it.
    """
    body: dict[str, Any] = {
        "name": name or os.path.splitext(os.path.basename(notebook))[0],
        "notebook": notebook,
        "parameters": parameters or {},
        "timezone": timezone,
        "timeout_seconds": timeout_seconds,
        "retries": retries,
        "retry_backoff_seconds": retry_backoff_seconds,
        "max_concurrent_runs": max_concurrent_runs,
        "active": active,
        "shared": shared,
        "tags": tags or [],
    }
    for key, value in (
        ("cron", cron),
        ("interval_seconds", interval_seconds),
        ("profile", profile),
        ("webhook_url", webhook_url),
        ("email", email),
        ("notify_on", notify_on),
        ("idempotency_token", idempotency_token),
    ):
        if value is not None:
            body[key] = value
    return _client(client).request("POST", "api/jobs", json=body)


def list_jobs(
    owner: str | None = None, max_results: int = 100, client: PlatformClient | None = None
) -> JobList:
    """Every job (of ``owner``), following pages.

    Args:
        owner: Only this user's jobs (default: every job you may read).
        max_results: Jobs asked for per page.
        client: A client (default: ``NBP_PLATFORM_URL`` and ``NBP_TOKEN``).

    Returns:
        A list of the jobs' dicts that shows as a table (schedule, next run, last
        run); ``.to_pandas()`` gives a DataFrame.
    """
    params: dict[str, Any] = {"max_results": max_results}
    if owner:
        params["owner"] = owner
    found: list[dict[str, Any]] = []
    while True:
        page = _client(client).request("GET", "api/jobs", params=params)
        found += page["jobs"]
        if not page["next_page_token"]:
            return JobList(found)
        params["page_token"] = page["next_page_token"]


def get_job(job: str | dict[str, Any], client: PlatformClient | None = None) -> dict[str, Any]:
    """The job's current definition, next run time and last run."""
    return _client(client).request("GET", f"api/jobs/{_id(job)}")


def update(
    job: str | dict[str, Any], client: PlatformClient | None = None, **changes: Any
) -> dict[str, Any]:
    """Change fields of a job (same names as :func:`schedule`)."""
    return _client(client).request("PATCH", f"api/jobs/{_id(job)}", json=changes)


def pause(job: str | dict[str, Any], client: PlatformClient | None = None) -> dict[str, Any]:
    """Stop scheduling the job (runs can still be started by hand)."""
    return update(job, client, active=False)


def resume(job: str | dict[str, Any], client: PlatformClient | None = None) -> dict[str, Any]:
    """Schedule the job again from now on."""
    return update(job, client, active=True)


def delete(job: str | dict[str, Any], client: PlatformClient | None = None) -> None:
    """Delete the job, its runs and their outputs."""
    _client(client).request("DELETE", f"api/jobs/{_id(job)}")


def run_now(
    job: str | dict[str, Any],
    parameters: dict[str, Any] | None = None,
    client: PlatformClient | None = None,
    idempotency_token: str | None = None,
) -> dict[str, Any]:
    """Queue a run now; ``parameters`` override the job's for this run only.

    The same ``idempotency_token`` again returns the run it made, not a second run.
    """
    body: dict[str, Any] = {"parameters": parameters} if parameters is not None else {}
    if idempotency_token is not None:
        body["idempotency_token"] = idempotency_token
    return _client(client).request("POST", f"api/jobs/{_id(job)}/runs", json=body)


def runs(
    job: str | dict[str, Any], max_results: int = 20, client: PlatformClient | None = None
) -> RunList:
    """The job's latest runs, newest first.

    Args:
        job: The job or its id.
        max_results: Runs at most.
        client: A client (default: ``NBP_PLATFORM_URL`` and ``NBP_TOKEN``).

    Returns:
        A list of the runs' dicts that shows as a table (status, start, duration,
        error); ``.to_pandas()`` gives a DataFrame.
    """
    page = _client(client).request(
        "GET", f"api/jobs/{_id(job)}/runs", params={"max_results": max_results}
    )
    return RunList(page["runs"])


def get_run(run: str | dict[str, Any], client: PlatformClient | None = None) -> dict[str, Any]:
    """A run: status, attempt, progress, error and failing cell."""
    return _client(client).request("GET", f"api/runs/{_id(run)}")


def cancel(run: str | dict[str, Any], client: PlatformClient | None = None) -> dict[str, Any]:
    """Cancel a queued run or stop a running one (its kernel too)."""
    return _client(client).request("POST", f"api/runs/{_id(run)}/cancel")


def rerun(run: str | dict[str, Any], client: PlatformClient | None = None) -> dict[str, Any]:
    """Run again with the same input snapshot and parameters."""
    return _client(client).request("POST", f"api/runs/{_id(run)}/rerun")


def get_output(run: str | dict[str, Any], client: PlatformClient | None = None) -> dict[str, Any]:
    """The executed notebook (nbformat JSON), also of a failed run."""
    return _client(client).request("GET", f"api/runs/{_id(run)}/output")


def log(
    run: str | dict[str, Any], tail: int | None = None, client: PlatformClient | None = None
) -> str:
    """The run's whole log (or its last ``tail`` bytes), read page by page."""
    path = f"api/runs/{_id(run)}/log"
    if tail is not None:
        return _client(client).request("GET", path, params={"tail": tail})["log"]
    parts, offset = [], 0
    while True:
        page = _client(client).request("GET", path, params={"offset": offset})
        parts.append(page["log"])
        if page["next_offset"] >= page["size"] or page["next_offset"] <= offset:
            return "".join(parts)
        offset = page["next_offset"]


def wait(
    run: str | dict[str, Any],
    timeout: float | None = None,
    poll: float = 0.5,
    progress: bool = True,
    client: PlatformClient | None = None,
) -> dict[str, Any]:
    """Wait for a run to end, with a tqdm progress bar (cell i of n).

    Args:
        run: The run or its id.
        timeout: Give up after this many seconds (``TimeoutError``).
        poll: Seconds between checks.
        progress: Show the bar.
        client: A client.

    Returns:
        The ended run.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    bar = None
    try:
        while True:
            current = get_run(run, client)
            step = current.get("progress")
            if progress and step:
                if bar is None:
                    from tqdm.auto import tqdm

                    bar = tqdm(total=step["total"], desc=f"run {current['id']}", unit="cell")
                bar.update(step["cell"] - bar.n)
            if current["status"] in FINAL:
                if bar is not None and current["status"] != "succeeded":
                    at = f" at cell {step['cell']}/{step['total']}" if step else ""
                    bar.set_description(f"run {current['id']} {current['status']}{at}")
                    bar.colour = "red"
                return current
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"run {current['id']} is still {current['status']}")
            time.sleep(poll)
    finally:
        if bar is not None:
            bar.close()
