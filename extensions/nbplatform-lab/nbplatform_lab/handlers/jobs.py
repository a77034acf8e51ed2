"""``/nbplatform/api/jobs…`` and ``runs…``: the Jobs panel's calls."""

from __future__ import annotations

from .resource import ResourceHandler


class JobsHandler(ResourceHandler):
    """Job definitions: list, create, update (pause/resume), delete, run now, run history."""

    resource = "jobs"
    verbs = frozenset({"GET", "POST", "PATCH", "DELETE"})


class RunsHandler(ResourceHandler):
    """Runs: details, output notebook, log, cancel, re-run."""

    resource = "runs"
    verbs = frozenset({"GET", "POST"})


handlers: list[type[ResourceHandler]] = [JobsHandler, RunsHandler]
