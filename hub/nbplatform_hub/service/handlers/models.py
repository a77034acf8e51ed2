"""``api/models``: registered models for the Models panel, and rollback of an alias."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from nbplatform.errors import NbplatformError

from .. import promotions
from ..audited import AuditedAPIHandler
from ..mlflow_ownership import REGISTERED_MODEL
from ..mlflow_rules import APPROVE, READ
from ..paging import page_size, page_token
from .permissions import describe


class Rollback(BaseModel):
    """Body of ``POST api/models/<name>/rollback``."""

    model_config = ConfigDict(extra="forbid")

    alias: str = Field(
        default="champion", min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_-]+$"
    )


class ModelsHandler(AuditedAPIHandler):
    """Search registered models (MLflow's answer, paginated)."""

    async def get(self) -> None:
        """Search with ``filter``, ``max_results`` (100), ``page_token``, ``order_by``.

        ``filter`` takes MLflow's search syntax, e.g. ``name LIKE 'churn%'``.
        """
        self.require_scope(READ)
        params: dict[str, Any] = {"max_results": page_size(self), "page_token": page_token(self)}
        for name in ("filter", "order_by"):
            value = self.get_query_argument(name, None)
            if value:
                params[name] = value
        params = {k: v for k, v in params.items() if v}
        answer = await self.context.mlflow.call("GET", "registered-models/search", params)
        self.write_json(
            {
                "registered_models": answer.get("registered_models", []),
                "next_page_token": answer.get("next_page_token"),
            }
        )


async def _add_run_data(mlflow: Any, version: dict[str, Any]) -> None:
    """Add the producing run's latest metrics and params to a version (key metrics)."""
    run_id = version.get("run_id")
    if not run_id:
        return
    try:
        run = (await mlflow.call("GET", "runs/get", {"run_id": run_id}))["run"]
    except NbplatformError:
        return  # the run was deleted; the version stays listed without its metrics
    data = run.get("data", {})
    version["metrics"] = {m["key"]: m["value"] for m in data.get("metrics", [])}
    version["params"] = {p["key"]: p["value"] for p in data.get("params", [])}


class ModelHandler(AuditedAPIHandler):
    """One registered model with its versions (newest first)."""

    async def get(self, name: str) -> None:
        """Return ``{"registered_model", "model_versions", "next_page_token"}``."""
        self.require_scope(READ)
        mlflow = self.context.mlflow
        model = await mlflow.call("GET", "registered-models/get", {"name": name})
        params: dict[str, Any] = {
            "filter": f"name = '{name.replace(chr(39), chr(39) * 2)}'",
            "max_results": page_size(self, 50),
            "order_by": "version_number DESC",
        }
        token = page_token(self)
        if token:
            params["page_token"] = token
        versions = await mlflow.call("GET", "model-versions/search", params)
        model_versions = versions.get("model_versions", [])
        await asyncio.gather(*(_add_run_data(mlflow, v) for v in model_versions))
        self.write_json(
            {
                "registered_model": model["registered_model"],
                "model_versions": model_versions,
                "next_page_token": versions.get("next_page_token"),
                "permissions": describe(self, REGISTERED_MODEL, name),
            }
        )


#: The most metrics of a run whose history ``metric-history`` answers (by name).
MAX_HISTORY_METRICS = 20
#: The most points of one metric's history (the last ones by step).
MAX_HISTORY_POINTS = 1000


def _points(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """MLflow's metric history as ``{step, value, timestamp}`` points, by step then time."""
    points = sorted(
        (
            {
                "step": int(m.get("step") or 0),
                "value": m.get("value"),
                "timestamp": m.get("timestamp"),
            }
            for m in history
        ),
        key=lambda p: (p["step"], p["timestamp"] or 0),
    )
    return points[-MAX_HISTORY_POINTS:]


class MetricHistoryHandler(AuditedAPIHandler):
    """The metric history (values over steps) of the run that made a model version."""

    async def get(self, name: str, version: str) -> None:
        """Return ``{"name", "version", "run_id", "metrics", "truncated"}``.

        ``metrics`` maps each metric of the run (the first :data:`MAX_HISTORY_METRICS`
        by name) to its points ``{step, value, timestamp}``, oldest step first; it is
        empty when the version has no run or its run was deleted.
        """
        self.require_scope(READ)
        mlflow = self.context.mlflow
        found = await mlflow.call("GET", "model-versions/get", {"name": name, "version": version})
        run_id = found["model_version"].get("run_id") or None
        answer: dict[str, Any] = {
            "name": name,
            "version": version,
            "run_id": run_id,
            "metrics": {},
            "truncated": False,
        }
        if run_id:
            try:
                run = (await mlflow.call("GET", "runs/get", {"run_id": run_id}))["run"]
            except NbplatformError:
                run = {}  # the run was deleted: no history
            keys = sorted({m["key"] for m in run.get("data", {}).get("metrics", [])})
            answer["truncated"] = len(keys) > MAX_HISTORY_METRICS
            keys = keys[:MAX_HISTORY_METRICS]
            histories = await asyncio.gather(
                *(
                    mlflow.call("GET", "metrics/get-history", {"run_id": run_id, "metric_key": key})
                    for key in keys
                )
            )
            for key, history in zip(keys, histories, strict=True):
                metrics = history.get("metrics", [])
                answer["truncated"] |= len(metrics) > MAX_HISTORY_POINTS
                answer["metrics"][key] = _points(metrics)
        self.write_json(answer)


class RollbackHandler(AuditedAPIHandler):
    """Point an alias back at ``previous-<alias>`` (platform-admins)."""

    async def post(self, name: str) -> None:
        """Swap ``alias`` (``champion``) and ``previous-<alias>``."""
        self.audit_action = "model:rollback"
        self.audit_resource = f"{name}@?"
        self.audit_model = name
        self.require_scope(APPROVE)
        body = self.json_body(Rollback)
        self.audit_resource = f"{name}@{body.alias}"
        self.audit_alias = body.alias
        result = await promotions.rollback(
            self.context.engine, self.context.mlflow, name, body.alias, self.user["name"]
        )
        self.audit_version = result.get("version")
        self.write_json(result)


routes = [
    (r"api/models", ModelsHandler),
    (r"api/models/(?P<name>[^/]+)", ModelHandler),
    (r"api/models/(?P<name>[^/]+)/rollback", RollbackHandler),
    (
        r"api/models/(?P<name>[^/]+)/versions/(?P<version>[0-9]{1,18})/metric-history",
        MetricHistoryHandler,
    ),
]
