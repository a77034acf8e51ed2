"""``nbp.widgets.jobs()``: notebook jobs (yours or all) with their last and next run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import display
from .. import jobs as _jobs
from ..client import PlatformClient
from ..display import DASH, JobList
from ._base import Panel, html_table, ipw, when


def last_run(job: Mapping[str, Any]) -> tuple[str, str]:
    """The last run's status and time, ``("never", "—")`` before the first."""
    run = job.get("last_run")
    if not run:
        return "never", DASH
    at = run.get("ended_at") or run.get("started_at") or run.get("created_at")
    return str(run.get("status") or "?"), when(at)


class Jobs(Panel):
    """Notebook jobs as the Jobs panel lists them: Mine or All, last run status, next run.

    Args:
        mine: Start with only your jobs (default) or every job you may read.
        client: The platform client (default: from ``NBP_PLATFORM_URL`` and ``NBP_TOKEN``).
        load: Load now (default) or at the first :meth:`refresh`.
        **kwargs: Passed to ``ipywidgets.VBox``.
    """

    title = "Jobs"

    def __init__(
        self,
        mine: bool = True,
        *,
        client: PlatformClient | None = None,
        load: bool = True,
        **kwargs: Any,
    ) -> None:
        #: The jobs listed (a :class:`~nbplatform.display.JobList` of the platform's dicts).
        self.jobs: JobList = JobList()
        self._me: str | None = None
        self.scope = ipw.ToggleButtons(
            options=[("Mine", "mine"), ("All", "all")],
            value="mine" if mine else "all",
            tooltips=["Only your jobs", "Every job you may read"],
        )
        self.table = ipw.HTML()
        self.scope.observe(self._act(self._load), names="value")
        super().__init__([self.scope, self.table], client=client, load=load, **kwargs)

    @property
    def owner(self) -> str | None:
        """Whose jobs are listed: your name (``api/me``) for Mine, ``None`` for All."""
        if self.scope.value != "mine":
            return None
        if self._me is None:
            self._me = str(self.client.me()["name"])
        return self._me

    def _load(self) -> None:
        self.table.value = ""
        self.jobs = JobList()
        self.jobs = _jobs.list_jobs(owner=self.owner, client=self.client)
        rows, now = [], display._now()
        for job in self.jobs:
            status, at = last_run(job)
            rows.append(
                [
                    job.get("name") or job.get("id"),
                    job.get("notebook"),
                    job.get("owner"),
                    display._schedule(job),  # the same text as list_jobs' table
                    status,
                    at,
                    display._next_run(job, now),
                ]
            )
        headers = ["job", "notebook", "owner", "schedule", "last run", "ended", "next run"]
        summary = f"<p><b>{len(rows)} job{'' if len(rows) == 1 else 's'}</b></p>"
        self.table.value = summary + html_table(headers, rows)


def jobs(mine: bool = True, *, client: PlatformClient | None = None) -> Jobs:
    """Your notebook jobs (or all you may read) with their last run's status and next run.

    Args:
        mine: Start with only your jobs (default); the Mine/All toggle changes it.
        client: The platform client (default: from ``NBP_PLATFORM_URL`` and ``NBP_TOKEN``).

    Returns:
        The widget (an ``ipywidgets.VBox``).
    """
    return Jobs(mine, client=client)
