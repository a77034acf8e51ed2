"""``api/drift/monitors``: define, list, describe, change and delete drift monitors."""

from __future__ import annotations

import os
from typing import Any

from nbplatform_hub import host

from .. import store
from ..models import MonitorCreate, MonitorUpdate, check_webhooks, updated
from .common import NAME, READ, WRITE, DriftAPIHandler

__all__ = ["routes"]


def _allow() -> Any:
    return host.Allow.parse(os.environ.get("NBP_WEBHOOK_ALLOW", ""))


class MonitorListHandler(DriftAPIHandler):
    """``GET`` lists monitors (``mine=1``: owned or watched); ``POST`` defines one."""

    async def get(self) -> None:
        """Return ``{"monitors": [...], "next_page_token"}``, by name."""
        self.require_scope(READ)
        max_results, offset = self.paging()
        mine = self.flag("mine")

        def page() -> tuple[list[dict[str, Any]], bool]:
            with self.context.engine.connect() as conn:
                user = self.user["name"] if mine else None
                rows, more = store.list_monitors(conn, user, max_results, offset)
                return store.monitor_models(conn, rows), more

        models, more = await self.blocking(page)
        token = str(offset + max_results) if more else None
        self.write_json({"monitors": models, "next_page_token": token})

    async def post(self) -> None:
        """Create the monitor (the caller owns it); 201 with its ``webhook_secret``, shown once."""
        self.require_scope(WRITE)
        body = self.json_body(MonitorCreate)
        self.audit_resource = f"drift/monitors/{body.name}"
        await self.blocking(check_webhooks, body.webhooks, _allow())

        def create() -> dict[str, Any]:
            with self.context.engine.begin() as conn:
                row = store.create_monitor(conn, body.name, self.user["name"], body.definition())
                return {**store.monitor_model(conn, row), "webhook_secret": row["webhook_secret"]}

        self.write_json(await self.blocking(create), status=201)


class MonitorHandler(DriftAPIHandler):
    """One monitor: ``GET`` (with its history), ``PATCH``, ``DELETE`` (with checks and reports)."""

    async def get(self, name: str) -> None:
        """Return the monitor and its last checks (``history``, oldest first)."""
        self.require_scope(READ)

        def describe() -> dict[str, Any]:
            with self.context.engine.connect() as conn:
                row = store.get_monitor(conn, name)
                return {**store.monitor_model(conn, row), "history": store.history(conn, row["id"])}

        self.write_json(await self.blocking(describe))

    async def patch(self, name: str) -> None:
        """Change the fields given (owner or drift admin); the monitor."""
        self.require_writer()
        patch = self.json_body(MonitorUpdate)  # a hostile body is refused before any lookup
        with self.context.engine.connect() as conn:
            row = store.get_monitor(conn, name)
        self.require_owner(row)
        merged = updated(name, store.definition(row), patch)
        if "webhooks" in patch.model_fields_set:
            await self.blocking(check_webhooks, merged.webhooks, _allow())

        def change() -> dict[str, Any]:
            with self.context.engine.begin() as conn:
                current = store.get_monitor(conn, name)
                return store.monitor_model(
                    conn, store.update_monitor(conn, current, merged.definition())
                )

        self.audit_detail = ", ".join(sorted(patch.model_fields_set))[:1000] or None
        self.write_json(await self.blocking(change))

    async def delete(self, name: str) -> None:
        """Delete the monitor, its checks, watchers, notices and reports (owner or admin); 204."""
        self.no_body()
        with self.context.engine.connect() as conn:
            row = store.get_monitor(conn, name)
        self.require_owner(row)

        def remove() -> int:
            with self.context.engine.begin() as conn:
                ids = store.delete_monitor(conn, row)
            store.delete_reports(self.drift.settings.reports_dir, ids)
            return len(ids)

        count = await self.blocking(remove)
        self.audit_detail = f"{count} checks deleted"
        self.set_status(204)
        self.finish()


routes = [
    (r"api/drift/monitors", MonitorListHandler),
    (rf"api/drift/monitors/{NAME}", MonitorHandler),
]
