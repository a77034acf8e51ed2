"""Job definitions kept as YAML files in a folder (``NBP_JOBS_DIR``), synced at start.

Each ``*.yaml`` / ``*.yml`` file holds one definition, or ``jobs:`` with a list;
every definition names its ``owner``, plus the fields of ``POST api/jobs``::

    owner: alice
    name: nightly-train
    notebook: notebooks/train.ipynb
    cron: "0 3 * * *"
    timezone: Europe/Berlin
    parameters: {epochs: 5}

A definition is created, or updated when the owner already has a job of that
name; the same checks as the REST API apply (a refused one is logged and
skipped, the others still load), and so does the test that gates a schedule
(:mod:`nbplatform_jobs.gate`).
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml
from pydantic import ValidationError
from sqlalchemy import Engine

from nbplatform.errors import NbplatformError

from . import gate, store
from .definitions import validate
from .models import JobCreate, JobUpdate
from .settings import JobsSettings

log = logging.getLogger("nbplatform.jobs")


def _groups(api_url: str, token: str, owner: str) -> list[str]:
    request = urllib.request.Request(
        f"{api_url.rstrip('/')}/users/{quote(owner, safe='')}",
        headers={"Authorization": f"token {token}"},
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        return list(json.loads(response.read()).get("groups", []))


def read_definitions(path: Path) -> list[dict[str, Any]]:
    """The definitions in one YAML file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if isinstance(data, dict) and "jobs" in data:
        data = data["jobs"]
    return data if isinstance(data, list) else [data]


def sync_folder(
    settings: JobsSettings,
    engine: Engine,
    api_url: str,
    token: str,
    groups_of: Callable[[str], list[str]] | None = None,
) -> int:
    """Create or update every definition found in ``settings.definitions_dir``.

    Args:
        settings: Jobs settings (``definitions_dir``).
        engine: The platform database.
        api_url: ``JUPYTERHUB_API_URL`` (to look up owners' groups).
        token: The scheduler's token.
        groups_of: Owner -> groups (default: ask the hub).

    Returns:
        How many definitions were loaded.
    """
    folder = settings.definitions_dir
    if folder is None or not folder.is_dir():
        return 0
    loaded = 0
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        for index, raw in enumerate(read_definitions(path)):
            where = f"{path}[{index}]"
            try:
                if not isinstance(raw, dict) or not raw.get("owner"):
                    raise ValueError("each definition needs an 'owner'")
                owner = str(raw["owner"])
                body = JobCreate.model_validate(raw)
                groups = groups_of(owner) if groups_of else _groups(api_url, token, owner)
                with engine.begin() as conn:
                    current = store.find_job(conn, owner, body.name)
                    if current is None:
                        values = validate(
                            settings.home,
                            owner,
                            groups,
                            body,
                            webhook_allow=settings.webhook_destinations,
                        )
                        values, action = gate.decide(None, values, settings.test_gate)
                        job = store.insert_job(conn, {**values, "source": f"yaml:{path.name}"})
                        gate.apply(conn, job, action, owner)
                    else:
                        change = JobUpdate.model_validate(
                            {k: v for k, v in raw.items() if k != "owner"}
                        )
                        values = validate(
                            settings.home,
                            owner,
                            groups,
                            change,
                            current,
                            webhook_allow=settings.webhook_destinations,
                        )
                        values, action = gate.decide(current, values, settings.test_gate)
                        job = store.update_job(conn, current["id"], values)
                        gate.apply(conn, job, action, owner)
                loaded += 1
            except (NbplatformError, ValidationError, ValueError, OSError) as e:
                message = e.message if isinstance(e, NbplatformError) else str(e)
                log.error("%s: not loaded: %s", where, message)
    log.info("loaded %d job definitions from %s", loaded, folder)
    return loaded
