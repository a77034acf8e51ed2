"""Actions on a monitor: ``acknowledge``, ``mute``, ``watch`` and ``retrain``."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from nbplatform.errors import ConflictError, NbplatformError, NotFoundError, UnauthenticatedError
from nbplatform_hub.host import service_url

from .. import store
from ..models import Acknowledge, Mute, Retrain
from ..retrain import refusal, run_parameters, runs_url
from ..status import ALERTING
from .common import NAME, READ, DriftAPIHandler

__all__ = ["routes"]


class MonitorAction(DriftAPIHandler):
    """Shared by the actions: load the monitor, answer it."""

    def load(self, name: str) -> dict[str, Any]:
        """The monitor's row (404 when there is none)."""
        with self.context.engine.connect() as conn:
            return store.get_monitor(conn, name)

    async def change(self, name: str, **values: Any) -> None:
        """Set ``values`` on the monitor and answer it."""

        def update() -> dict[str, Any]:
            with self.context.engine.begin() as conn:
                row = store.set_values(conn, store.get_monitor(conn, name), **values)
                return store.monitor_model(conn, row)

        self.write_json(await self.blocking(update))


class AcknowledgeHandler(MonitorAction):
    """``POST``: acknowledge the alert until the status changes (owner or drift admin)."""

    async def post(self, name: str) -> None:
        """Return the monitor; 409 when it has no alert (status ok or unknown)."""
        self.require_writer()
        body = self.json_body(Acknowledge)  # a hostile body is refused before any lookup
        row = self.load(name)
        self.require_owner(row)
        if row["status"] not in ALERTING:
            raise ConflictError(
                f"Drift monitor {name!r} is {row['status']}: there is no alert to acknowledge."
            )
        self.audit_detail = (body.comment or "")[:1000] or None
        await self.change(
            name,
            acknowledged_by=self.user["name"],
            acknowledged_at=store.utcnow(),
            acknowledge_comment=body.comment,
        )


class MuteHandler(MonitorAction):
    """``POST`` mutes notices for some minutes; ``DELETE`` unmutes (owner or drift admin)."""

    async def post(self, name: str) -> None:
        """Return the monitor with ``muted_until``."""
        self.require_writer()
        body = self.json_body(Mute)
        row = self.load(name)
        self.require_owner(row)
        self.audit_detail = f"{body.minutes} minutes"
        await self.change(name, muted_until=store.utcnow() + timedelta(minutes=body.minutes))

    async def delete(self, name: str) -> None:
        """Return the monitor, unmuted."""
        self.no_body()
        row = self.load(name)
        self.require_owner(row)
        await self.change(name, muted_until=None)


class WatchHandler(MonitorAction):
    """``POST`` watches the monitor (its alerts reach the caller); ``DELETE`` stops."""

    async def post(self, name: str) -> None:
        """Return the monitor (the caller among its ``watchers``)."""
        await self.watch(name, True)

    async def delete(self, name: str) -> None:
        """Return the monitor."""
        await self.watch(name, False)

    async def watch(self, name: str, on: bool) -> None:
        """Start or stop watching (read scope is enough)."""
        self.require_scope(READ)
        self.no_body()

        def update() -> dict[str, Any]:
            with self.context.engine.begin() as conn:
                row = store.get_monitor(conn, name)
                store.watch(conn, row, self.user["name"], on)
                return store.monitor_model(conn, row)

        self.write_json(await self.blocking(update))


class RetrainHandler(MonitorAction):
    """``POST``: run the monitor's training job with the drift window (owner or drift admin)."""

    async def post(self, name: str) -> None:
        """201 ``{"run", "job_id"}``; 409 without ``retrain_job_id``; jobs' 4xx passed on."""
        self.require_writer()
        body = self.json_body(Retrain)
        row = self.load(name)
        self.require_owner(row)
        job_id = row["retrain_job_id"]
        if not job_id:
            raise ConflictError(
                f"Drift monitor {name!r} has no retrain_job_id: set it to the id of the job "
                "that trains the model (PATCH the monitor)."
            )
        check = await self.blocking(self.chosen_check, row, body.check_id)
        token = self.hub_auth.get_token(self)
        if not token:
            raise UnauthenticatedError(
                "retrain runs the job with your own token: send 'Authorization: token <token>'."
            )
        base = service_url(self.context.settings, self.drift.settings.platform_url)
        headers = {
            "Authorization": f"token {token}",
            "Content-Type": "application/json",
            "User-Agent": "nbplatform-drift (retrain)",
        }
        forwarded = self.request.headers.get("X-Forwarded-For")
        if forwarded:  # the jobs API's audit sees the caller's address, as this one did
            headers["X-Forwarded-For"] = forwarded
        request = HTTPRequest(
            runs_url(base, job_id),
            method="POST",
            headers=headers,
            body=json.dumps({"parameters": run_parameters(row, check)}),
            request_timeout=60,
            follow_redirects=False,
        )
        response = await AsyncHTTPClient().fetch(request, raise_error=False)
        if response.code == 599:
            raise NbplatformError(f"The jobs API could not be reached: {response.error}")
        if response.code != 201:
            raise refusal(response.code, response.body)
        run = json.loads(response.body)
        self.audit_detail = f"job {job_id}, run {run.get('id')}"
        self.write_json({"run": run, "job_id": job_id}, status=201)

    def chosen_check(self, row: dict[str, Any], check_id: int | None) -> dict[str, Any] | None:
        """The check asked for (it must be the monitor's), else the latest (or none)."""
        wanted = check_id if check_id is not None else row["latest_check_id"]
        if wanted is None:
            return None
        with self.context.engine.connect() as conn:
            try:
                check, monitor = store.get_check(conn, wanted)
            except NotFoundError:
                if check_id is None:
                    return None
                raise
        if monitor["id"] != row["id"]:
            raise NotFoundError(f"Drift monitor {row['name']!r} has no check {wanted}.")
        return check


routes = [
    (rf"api/drift/monitors/{NAME}/acknowledge", AcknowledgeHandler),
    (rf"api/drift/monitors/{NAME}/mute", MuteHandler),
    (rf"api/drift/monitors/{NAME}/watch", WatchHandler),
    (rf"api/drift/monitors/{NAME}/retrain", RetrainHandler),
]
