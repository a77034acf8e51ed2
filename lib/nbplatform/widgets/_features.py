"""``nbp.widgets.features()``: feature views, their entities, TTL and freshness."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import features as _features
from ..client import PlatformClient
from ..display import DASH
from ._base import Panel, age, field_table, heading, html_table, ipw, set_options, when


def freshness(view: Mapping[str, Any]) -> str:
    """``fresh (2 h old)``, ``stale (3 d old)`` or ``never``."""
    found = view.get("freshness") or {}
    status = str(found.get("status") or DASH)
    seconds = found.get("age_seconds")
    return f"{status} ({age(seconds)} old)" if seconds is not None else status


def entities(view: Mapping[str, Any]) -> str:
    """The view's entities with their join keys: ``driver (driver_id)``."""
    shown = []
    for entity in view.get("entities") or []:
        keys = [k for k in entity.get("join_keys") or [] if k != entity.get("name")]
        shown.append(f"{entity.get('name')} ({', '.join(keys)})" if keys else entity.get("name"))
    return ", ".join(str(s) for s in shown) or DASH


def ttl(view: Mapping[str, Any]) -> str:
    """The view's TTL, or ``none``."""
    return age(view["ttl_seconds"]) if view.get("ttl_seconds") else "none"


class FeatureViews(Panel):
    """Feature views as the Features panel shows them; choose one for its schema and statistics.

    Args:
        view: The view to select first (default: the first by name).
        client: The platform client (default: from ``NBP_PLATFORM_URL`` and ``NBP_TOKEN``).
        load: Load now (default) or at the first :meth:`refresh`.
        **kwargs: Passed to ``ipywidgets.VBox``.
    """

    title = "Feature views"

    def __init__(
        self,
        view: str | None = None,
        *,
        client: PlatformClient | None = None,
        load: bool = True,
        **kwargs: Any,
    ) -> None:
        self._wanted = view
        #: The views listed, by name (the platform's dicts).
        self.views: dict[str, dict[str, Any]] = {}
        self.table = ipw.HTML()
        self.views_dropdown = ipw.Dropdown(
            description="View", options=[], layout=ipw.Layout(width="min(100%, 32em)")
        )
        self.details = ipw.HTML()
        self.views_dropdown.observe(self._act(self._show_view), names="value")
        body = [self.table, self.views_dropdown, self.details]
        super().__init__(body, client=client, load=load, **kwargs)

    def _load(self) -> None:
        found = sorted(_features.list_feature_views(client=self.client), key=lambda v: v["name"])
        self.views = {str(v["name"]): v for v in found}
        self.table.value = html_table(
            ["view", "entities", "features", "TTL", "online", "freshness", "materialized to"],
            [
                [
                    name,
                    entities(v),
                    len(v.get("features") or []),
                    ttl(v),
                    v.get("online"),
                    freshness(v),
                    when((v.get("materialization") or {}).get("end")),
                ]
                for name, v in self.views.items()
            ],
        )
        with self._quietly():
            keep = self.views_dropdown.value or self._wanted
            set_options(self.views_dropdown, [(n, n) for n in self.views], keep)
        self._show_view()

    def _show_view(self) -> None:
        name = self.views_dropdown.value
        self.details.value = ""
        if name is None:
            return
        info = _features.describe(name, client=self.client)
        source = info.get("source") or {}
        materialized = info.get("materialization") or {}
        stats = info.get("stats") or {}
        event_time = stats.get("event_time") or {}
        fields = field_table(
            [
                ("description", info.get("description")),
                ("owner", info.get("owner")),
                ("entities", entities(info)),
                ("TTL", ttl(info)),
                ("online", info.get("online")),
                ("source", " ".join(str(source.get(k) or "") for k in ("name", "type", "path"))),
                (
                    "materialized",
                    f"{when(materialized.get('start'))} → {when(materialized.get('end'))}",
                ),
                ("freshness", freshness(info)),
                ("rows", stats.get("row_count")),
                ("event times", f"{when(event_time.get('min'))} → {when(event_time.get('max'))}"),
            ]
        )
        columns = {c.get("name"): c for c in stats.get("columns") or []}
        rows = []
        for feature in info.get("features") or []:
            c = columns.get(feature.get("name"), {})
            rows.append(
                [feature.get("name"), feature.get("dtype"), c.get("count"), c.get("nulls")]
                + [c.get(k) for k in ("mean", "std", "min", "max")]
            )
        schema = html_table(
            ["feature", "dtype", "count", "nulls", "mean", "std", "min", "max"], rows
        )
        self.details.value = fields + heading("Schema") + schema


def features(view: str | None = None, *, client: PlatformClient | None = None) -> FeatureViews:
    """Feature views with entities, TTL, freshness and, for the chosen one, its statistics.

    Args:
        view: The view to select first.
        client: The platform client (default: from ``NBP_PLATFORM_URL`` and ``NBP_TOKEN``).

    Returns:
        The widget (an ``ipywidgets.VBox``).
    """
    return FeatureViews(view, client=client)
