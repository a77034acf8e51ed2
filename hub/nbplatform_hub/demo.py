"""The seeded demo: on a fresh ``NBP_HOME`` the story in ``notebooks/`` runs once, as jobs.

``make up`` (``nbplatform up``) starts this as a hub-managed service
(``python -m nbplatform_hub.demo``) unless ``NBP_DEMO=0``. It acts as the
platform's first admin, through the platform's REST API like any client, with a
token the hub mints for that admin (its role holds ``tokens!user=<admin>`` only):

1. the user ``demo`` (a data scientist; the hub's ``load_groups`` makes it) gets
   the story's notebooks in their workspace (01's apply makes its push-fed
   views' empty tables, as any data scientist's apply does);
2. each notebook runs once as a shared job of ``demo``'s, in order, on
   ``cpu-small`` with small parameters (01 features, 02 train, 03 explain, 04
   promote, 05 batch scoring, 06 drift, 07 Dask);
3. 04's promotion request gets its review; the admin then runs 04 with the
   request's ``promotion_id`` as a job of their own, which approves it (four
   eyes: the requester is ``demo``);
4. 05's job is scheduled daily (its schedule's test gate runs first).

So the panels show a registered model with a champion, feature views, a drift
monitor with history and a scheduled job. The outcome is written to
``NBP_HOME/demo/seeded.json`` (``state`` ``seeded`` or ``failed``, with the
step and the error); a home that has it is never seeded again. A seeding
interrupted (the hub stopped) starts again at the next start and finds the jobs
and runs it made (idempotency tokens). Idle afterwards: the hub restarts managed
services that exit. Only with the native authenticator, whose first admin is
known before anyone logs in.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

log = logging.getLogger("nbplatform.demo")

#: The data scientist whose work the demo shows.
DEMO_USER = "demo"
#: The hub service's name.
SERVICE = "demo"
#: The story, in order: notebook stem and the parameters of its job run.
STORY: tuple[tuple[str, dict[str, Any]], ...] = (
    ("01_features", {}),
    ("02_train", {"epochs": 15}),
    ("03_explain", {}),
    ("04_promote", {}),
    ("05_batch_scoring", {"features_from": "online"}),
    ("06_drift", {"retrain": False}),
    ("07_dask", {"npartitions": 2}),
)
#: Jobs of the story left scheduled: stem and cron.
SCHEDULES = {"05_batch_scoring": "0 6 * * *"}
#: The model the story registers.
MODEL = "story-order-success"
#: The profile the story runs on.
PROFILE = "cpu-small"
#: Seconds one run of the story may take.
RUN_TIMEOUT = 1800
#: Run states that end a run (as ``nbplatform.jobs.FINAL``).
FINAL = ("succeeded", "failed", "timed-out", "cancelled")


class SeedError(Exception):
    """A step of the seeding failed; the message says which and why."""


def copy_story(notebooks: Path, workspace: Path, stems: list[str]) -> None:
    """Copy the story's notebooks into ``workspace``, leaving files already there alone."""
    workspace.mkdir(parents=True, exist_ok=True)
    for stem in stems:
        target = workspace / f"{stem}.ipynb"
        if not target.exists():
            shutil.copy(notebooks / f"{stem}.ipynb", target)


@dataclass
class Seeder:
    """Runs the story as jobs through the platform's REST API.

    Attributes:
        home: ``NBP_HOME``.
        notebooks: The folder of the story's notebooks.
        call: ``call(method, path, json=None)`` the platform API as the admin; the
            decoded answer (raises :class:`nbplatform.errors.NbplatformError`).
        admin: The admin's name.
        poll: Seconds between looks at a run.
        progress: Told each step as it starts (for the log).
    """

    home: Path
    notebooks: Path
    call: Callable[..., Any]
    admin: str
    poll: float = 2.0
    progress: Callable[[str], None] = log.info

    @property
    def marker(self) -> Path:
        """Where the outcome is written."""
        return self.home / "demo" / "seeded.json"

    def workspace(self, user: str) -> Path:
        """A user's workspace."""
        return self.home / "users" / user

    def wait(self, run_id: str, what: str) -> dict[str, Any]:
        """The run once it ended.

        Raises:
            SeedError: It did not succeed, or not in :data:`RUN_TIMEOUT`.
        """
        deadline = time.monotonic() + RUN_TIMEOUT
        while time.monotonic() < deadline:
            run = self.call("GET", f"api/runs/{quote(run_id, safe='')}")
            if run["status"] in FINAL:
                if run["status"] != "succeeded":
                    raise SeedError(f"{what}: run {run_id} {run['status']}: {run.get('error')}")
                return run
            time.sleep(self.poll)
        raise SeedError(f"{what}: run {run_id} did not end in {RUN_TIMEOUT} s")

    def run_job(
        self, stem: str, owner: str, parameters: dict[str, Any], name: str | None = None
    ) -> dict[str, Any]:
        """Make (or find) ``owner``'s shared job of notebook ``stem``, run it once, wait."""
        name = name or f"demo-{stem.replace('_', '-')}"
        job = self.call(
            "POST",
            "api/jobs",
            json={
                "name": name,
                "notebook": f"{stem}.ipynb",
                "owner": owner,
                "profile": PROFILE,
                "parameters": parameters,
                "shared": True,
                "tags": ["demo"],
                "idempotency_token": f"nbplatform-demo-{name}",
            },
        )
        run = self.call(
            "POST",
            f"api/jobs/{quote(job['id'], safe='')}/runs",
            json={"idempotency_token": f"nbplatform-demo-{name}"},
        )
        self.wait(run["id"], f"{stem}.ipynb as a job of {owner}")
        return job

    def approve(self) -> None:
        """The admin runs 04 on ``demo``'s pending request, which approves it."""
        found = self.call("GET", f"api/promotions?model={quote(MODEL)}&state=pending")
        mine = [p for p in found["promotions"] if p["requested_by"] == DEMO_USER]
        if not mine:
            raise SeedError(f"04_promote.ipynb made no pending promotion request of {MODEL}")
        request = mine[0]
        review = request.get("review") or {}
        if review.get("run_id"):
            self.wait(review["run_id"], "the promotion's review")
        copy_story(self.notebooks, self.workspace(self.admin), ["04_promote"])
        self.run_job(
            "04_promote",
            self.admin,
            {"promotion_id": request["id"]},
            name="demo-approve-promotion",
        )
        decided = self.call("GET", f"api/promotions/{request['id']}")
        if decided["state"] != "approved":
            raise SeedError(f"promotion request {request['id']} is {decided['state']}")

    def schedule(self, jobs: Mapping[str, dict[str, Any]]) -> None:
        """Give the story's scheduled jobs their cron (each schedule's test gate runs)."""
        for stem, cron in SCHEDULES.items():
            job = jobs[stem]
            self.call("PATCH", f"api/jobs/{quote(job['id'], safe='')}", json={"cron": cron})

    def seed(self) -> dict[str, Any]:
        """Run the whole story; write and return the outcome (never raises for a step)."""
        started = datetime.now(UTC).isoformat()
        step = "prepare"
        jobs: dict[str, dict[str, Any]] = {}
        try:
            stems = [stem for stem, _ in STORY]
            missing = [s for s in stems if not (self.notebooks / f"{s}.ipynb").is_file()]
            if missing:
                raise SeedError(f"the story's notebooks are not in {self.notebooks}: {missing}")
            self.marker.parent.mkdir(parents=True, exist_ok=True)  # begun
            copy_story(self.notebooks, self.workspace(DEMO_USER), stems)
            for stem, parameters in STORY:
                step = stem
                self.progress(f"demo: {stem}.ipynb as a job of {DEMO_USER}")
                jobs[stem] = self.run_job(stem, DEMO_USER, parameters)
                if stem == "04_promote":
                    step = "approve"
                    self.progress("demo: the admin approves the promotion (04_promote.ipynb)")
                    self.approve()
            step = "schedule"
            self.schedule(jobs)
            outcome: dict[str, Any] = {"state": "seeded", "step": None, "error": None}
        except Exception as e:  # noqa: BLE001 - the outcome says what failed
            message = getattr(e, "message", None) or str(e)
            outcome = {"state": "failed", "step": step, "error": f"{type(e).__name__}: {message}"}
            log.error("demo: seeding failed at %s: %s", step, outcome["error"])
        outcome.update(
            started=started,
            ended=datetime.now(UTC).isoformat(),
            user=DEMO_USER,
            jobs={stem: job["id"] for stem, job in jobs.items()},
        )
        self.marker.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.marker.with_suffix(".tmp")
        tmp.write_text(json.dumps(outcome, indent=2))
        os.replace(tmp, self.marker)
        return outcome


def wanted(home: Path, enabled: bool = True) -> bool:
    """Whether this start seeds the demo.

    Args:
        home: ``NBP_HOME``.
        enabled: ``NBP_DEMO``.

    Returns:
        True when enabled and the home is fresh (no user has a workspace yet) or a
        seeding began and did not write its outcome.
    """
    if not enabled or (home / "demo" / "seeded.json").exists():
        return False
    users = home / "users"
    begun = (home / "demo").is_dir()
    return begun or not users.is_dir() or not any(users.iterdir())


def mint_admin_token(api_url: str, service_token: str, admin: str) -> str:
    """A token of ``admin`` for the seeding (two hours).

    Raises:
        SeedError: The hub refused or is unreachable.
    """
    import requests

    try:
        r = requests.post(
            f"{api_url.rstrip('/')}/users/{quote(admin, safe='')}/tokens",
            headers={"Authorization": f"token {service_token}"},
            json={"note": "nbplatform demo seeding", "expires_in": 7200},
            timeout=20,
        )
    except requests.RequestException as e:
        raise SeedError(f"the hub at {api_url} is not reachable: {e}") from None
    if r.status_code not in (200, 201):
        raise SeedError(f"the hub refused a token for {admin} ({r.status_code}: {r.text[:300]})")
    return r.json()["token"]


def main() -> None:
    """Seed once (as the hub starts this service), then idle."""
    logging.basicConfig(
        level=logging.INFO, format="[%(levelname)1.1s %(asctime)s %(name)s] %(message)s"
    )
    from nbplatform.client import PlatformClient
    from nbplatform.errors import NbplatformError

    home = Path(os.environ["NBP_HOME"])
    admin = os.environ["NBP_DEMO_ADMIN"]
    try:
        if wanted(home):
            token = mint_admin_token(
                os.environ["JUPYTERHUB_API_URL"], os.environ["JUPYTERHUB_API_TOKEN"], admin
            )
            client = PlatformClient(os.environ["NBP_PLATFORM_URL"], token, timeout=60)
            deadline = time.monotonic() + 600
            while True:  # the platform service starts beside this one
                try:
                    client.me()
                    break
                except NbplatformError:  # not up yet, or the hub not yet answering it
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(2)
            seeder = Seeder(
                home=home,
                notebooks=Path(os.environ["NBP_DEMO_NOTEBOOKS"]),
                call=client.request,
                admin=admin,
            )
            log.info("demo: %s", json.dumps(seeder.seed()))
    except Exception:  # the next start tries again (no outcome was written)
        log.exception("demo: the seeding could not start")
    while True:  # the hub restarts a managed service that exits
        time.sleep(3600)


if __name__ == "__main__":
    main()
