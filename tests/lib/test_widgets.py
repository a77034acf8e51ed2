"""``nbp.widgets`` against a stand-in platform service: what the widgets ask for and show."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from fake_platform import FakePlatform, running
from nbplatform import widgets
from nbplatform.client import PlatformClient
from platform_harness import free_port

EVIL = "<img src=x onerror=alert(1)>"


@pytest.fixture
def platform() -> Iterator[FakePlatform]:
    with running() as fake:
        yield fake


@pytest.fixture
def client(platform: FakePlatform) -> PlatformClient:
    return PlatformClient(platform.url, "tok")


def queries(platform: FakePlatform, path: str) -> list[dict[str, list[str]]]:
    return [r["query"] for r in platform.sent("GET", path)]


def test_import_nbplatform_leaves_ipywidgets_alone():
    code = (
        "import sys, json, nbplatform\n"
        "dir(nbplatform)\n"
        "before = 'ipywidgets' in sys.modules\n"
        "nbplatform.widgets.models\n"
        "print(json.dumps([before, 'ipywidgets' in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [False, True]


# Models --------------------------------------------------------------------------------
def model(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "aliases": [], **fields}


def versions(name: str, *numbers: int, **fields: Any) -> list[dict[str, Any]]:
    return [{"name": name, "version": str(n), "status": "READY", **fields} for n in numbers]


@pytest.fixture
def registry(platform: FakePlatform) -> FakePlatform:
    """``churn`` (v1 champion, v2 challenger, v3) and ``fraud`` (v1), over two pages."""
    churn = model(
        "churn",
        aliases=[{"alias": "champion", "version": "1"}, {"alias": "challenger", "version": "2"}],
    )
    platform.pages(
        "GET",
        "api/models",
        [
            {"registered_models": [churn], "next_page_token": "p2"},
            {"registered_models": [model("fraud")], "next_page_token": None},
        ],
    )
    churn_versions = versions("churn", 1, 3, 2)
    churn_versions[0].update(metrics={"auc": 0.91, "f1": 0.5}, params={"C": "0.1"}, run_id="r1")
    platform.json(
        "GET", "api/models/churn", {"registered_model": churn, "model_versions": churn_versions}
    )
    platform.json(
        "GET",
        "api/models/fraud",
        {"registered_model": model("fraud"), "model_versions": versions("fraud", 1)},
    )
    return platform


def test_the_model_dropdown_lists_every_registered_model(registry, client):
    picker = widgets.models(client=client)
    assert picker.error is None
    assert picker.models_dropdown.options == (("churn", "churn"), ("fraud", "fraud"))
    sent = queries(registry, "api/models")
    assert [q.get("page_token") for q in sent] == [None, ["p2"]]
    assert sent[0]["order_by"] == ["name ASC"]
    assert isinstance(picker, widgets.Panel) and picker.children  # a VBox to display


def test_versions_newest_first_with_aliases_and_the_newest_chosen(registry, client):
    picker = widgets.models(client=client)
    assert picker.versions_dropdown.options == (
        ("v3", "3"),
        ("v2 @challenger", "2"),
        ("v1 @champion", "1"),
    )
    assert picker.value == ("churn", "3")
    assert picker.model_uri == "models:/churn/3"
    assert "<code>@champion</code> → v1" in picker.aliases.value
    assert "<code>@challenger</code> → v2" in picker.aliases.value


def test_choosing_a_version_shows_its_metrics_params_and_uris(registry, client):
    picker = widgets.models("churn", 1, client=client)
    assert picker.value == ("churn", "1")
    html = picker.details.value
    assert (
        ">auc</td>" in html and ">0.91</td>" in html and ">C</td>" in html and ">0.1</td>" in html
    )
    assert ">r1</td>" in html
    assert "models:/churn/1</code>" in picker.uri.value
    assert "models:/churn@champion</code>" in picker.uri.value
    picker.versions_dropdown.value = "2"
    assert picker.value == ("churn", "2") and "auc" not in picker.details.value


def test_changing_the_model_updates_the_versions_and_the_value(registry, client):
    picker = widgets.models(client=client)
    seen = []
    picker.observe(lambda change: seen.append(change["new"]), names="value")
    picker.models_dropdown.value = "fraud"
    assert picker.versions_dropdown.options == (("v1", "1"),)
    assert picker.value == ("fraud", "1") and seen == [("fraud", "1")]
    assert picker.aliases.value == "<p>Aliases: none</p>"
    assert [r["path"] for r in registry.requests][-1] == "api/models/fraud"


def test_refresh_keeps_the_choice_and_shows_new_models(registry, client):
    picker = widgets.models("churn", 2, client=client)
    registry.json("GET", "api/models", {"registered_models": [model("a-new"), model("churn")]})
    picker.refresh_button.click()
    assert picker.models_dropdown.options == (("a-new", "a-new"), ("churn", "churn"))
    assert picker.value == ("churn", "2")


def test_no_models_says_so(platform, client):
    platform.json("GET", "api/models", {"registered_models": []})
    picker = widgets.models(client=client)
    assert picker.value is None and picker.versions_dropdown.options == ()
    assert "No registered models." in picker.aliases.value
    assert picker.model_uri is None


def test_an_api_error_is_a_message_in_the_widget(platform, client):
    platform.json("GET", "api/models", {"message": f"You may not read models {EVIL}."}, status=403)
    picker = widgets.models(client=client)
    assert picker.error == f"You may not read models {EVIL}."
    assert picker.message.layout.display is None  # shown
    assert "You may not read models &lt;img src=x onerror=alert(1)&gt;." in picker.message.value
    assert EVIL not in picker.message.value and "Traceback" not in picker.message.value
    platform.json("GET", "api/models", {"registered_models": [model("churn")]})
    platform.json(
        "GET", "api/models/churn", {"registered_model": model("churn"), "model_versions": []}
    )
    picker.refresh()
    assert picker.error is None and picker.message.value == ""
    assert picker.message.layout.display == "none"


def test_a_failing_model_shows_a_message_and_no_stale_versions(registry, client):
    picker = widgets.models(client=client)
    registry.json("GET", "api/models/fraud", {"message": "MLflow is down."}, status=503)
    picker.models_dropdown.value = "fraud"
    assert picker.error == "MLflow is down."
    assert picker.versions_dropdown.options == () and picker.value is None
    picker.models_dropdown.value = "churn"
    assert picker.error is None and picker.value == ("churn", "3")


def test_an_unreachable_or_unconfigured_platform_is_a_message(monkeypatch):
    down = PlatformClient(f"http://127.0.0.1:{free_port()}/services/platform/", "t", timeout=5)
    assert "is not reachable" in widgets.models(client=down).error
    for name in ("NBP_PLATFORM_URL", "NBP_TOKEN", "JUPYTERHUB_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for make in (widgets.models, widgets.features, widgets.drift, widgets.jobs):
        shown = make()
        assert shown.error and "NBP_PLATFORM_URL" in shown.error, shown.error


def test_user_text_is_escaped_in_the_model_html(platform, client):
    name = f"m{EVIL}"
    platform.json("GET", "api/models", {"registered_models": [model(name, description=EVIL)]})
    evil = versions(name, 1, metrics={EVIL: 1.0}, params={"p": EVIL}, source=EVIL)
    platform.json(
        "GET",
        "api/models/" + "m%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E",
        {
            "registered_model": model(name, aliases=[{"alias": EVIL, "version": "1"}]),
            "model_versions": evil,
        },
    )
    picker = widgets.models(client=client)
    assert picker.error is None and picker.value == (name, "1")
    for html in (picker.aliases.value, picker.uri.value, picker.details.value):
        assert "<img" not in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html


# Features ------------------------------------------------------------------------------
VIEW = {
    "name": "driver_stats",
    "description": EVIL,
    "owner": "alice",
    "entities": [{"name": "driver", "join_keys": ["driver_id"], "value_type": "INT64"}],
    "features": [{"name": "conv_rate", "dtype": "Float32"}, {"name": "trips", "dtype": "Int64"}],
    "ttl_seconds": 86400,
    "online": True,
    "source": {"name": "driver_src", "type": "file", "path": "/data/d.parquet"},
    "materialization": {"start": None, "end": "2026-12-03T09:00:00+00:00", "last_run": None},
    "freshness": {"status": "stale", "age_seconds": 7200, "checked_at": "2026-12-03T11:00:00Z"},
}


def test_feature_views_with_entities_ttl_and_freshness(platform, client):
    other = {
        **VIEW,
        "name": "a_view",
        "ttl_seconds": None,
        "entities": [],
        "freshness": {"status": "never", "age_seconds": None},
    }
    platform.pages(
        "GET",
        "api/features/views",
        [
            {"feature_views": [VIEW], "next_page_token": "t"},
            {"feature_views": [other], "next_page_token": None},
        ],
    )
    stats = {
        "row_count": 42,
        "event_time": {"min": None, "max": None},
        "columns": [{"name": "conv_rate", "count": 40, "nulls": 2, "mean": 0.25}],
    }
    platform.json("GET", "api/features/views/a_view", {**other, "stats": stats})
    platform.json("GET", "api/features/views/driver_stats", {**VIEW, "stats": stats})
    shown = widgets.features(client=client)
    assert shown.error is None
    assert shown.views_dropdown.options == (("a_view", "a_view"), ("driver_stats", "driver_stats"))
    table = shown.table.value
    assert ">driver (driver_id)</td>" in table and ">1 d</td>" in table and ">none</td>" in table
    assert ">stale (2 h old)</td>" in table and ">never</td>" in table
    shown.views_dropdown.value = "driver_stats"
    details = shown.details.value
    assert ">42</td>" in details and ">conv_rate</td>" in details and ">0.25</td>" in details
    assert "<img" not in details and "&lt;img" in details


def test_a_view_that_is_gone_is_a_message(platform, client):
    platform.json("GET", "api/features/views", {"feature_views": [VIEW], "next_page_token": None})
    platform.json(
        "GET",
        "api/features/views/driver_stats",
        {"message": "No feature view driver_stats."},
        status=404,
    )
    shown = widgets.features(client=client)
    assert shown.error == "No feature view driver_stats." and shown.details.value == ""
    assert ">driver_stats</td>" in shown.table.value


# Drift ---------------------------------------------------------------------------------
def monitor(name: str, history: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "owner": "alice",
        "description": "",
        "model": "models:/churn@champion",
        "feature_view": None,
        "status": "drift",
        "status_since": "2026-12-03T09:00:00Z",
        "latest_check": {
            "n_drifted": 3,
            "n_columns": 10,
            "drift_share": 0.3,
            "created_at": "2026-12-03T09:00:00Z",
        },
        "history": history,
        **fields,
    }


def check(n: int, day: str, status: str = "ok") -> dict[str, Any]:
    return {
        "check_id": n,
        "created_at": f"{day}T10:00:00Z",
        "drift_share": n / 10,
        "status": status,
    }


HISTORY = [
    check(1, "2026-11-01"),
    check(2, "2026-11-02", "warning"),
    check(3, "2026-11-02"),
    check(4, "2026-11-05", "drift"),
]


@pytest.fixture
def monitors(platform: FakePlatform) -> FakePlatform:
    listed = [
        monitor("churn-drift", []),
        monitor(
            "quiet", [], status="ok", latest_check=None, model=None, feature_view="driver_stats"
        ),
    ]
    platform.json("GET", "api/drift/monitors", {"monitors": listed, "next_page_token": None})
    platform.json("GET", "api/drift/monitors/churn-drift", monitor("churn-drift", HISTORY))
    platform.json("GET", "api/drift/monitors/quiet", monitor("quiet", [], status="ok"))
    return platform


def test_drift_monitors_with_status_and_history(monitors, client):
    shown = widgets.drift(client=client)
    assert shown.error is None
    assert shown.monitors_dropdown.options == (("churn-drift", "churn-drift"), ("quiet", "quiet"))
    table = shown.table.value
    assert ">model models:/churn@champion</td>" in table and ">view driver_stats</td>" in table
    assert ">3/10 columns drifted (30%)</td>" in table and ">no checks yet</td>" in table
    assert [label for label, _ in shown.window.options] == [
        "2026-11-01",
        "2026-11-02",
        "2026-11-05",
    ]
    assert shown.window.layout.display is None
    assert [c["check_id"] for c in shown.shown] == [1, 2, 3, 4]
    assert "Checks (4 of 4 recent, newest first)" in shown.history.value


def test_the_window_slider_filters_the_history(monitors, client):
    shown = widgets.drift(client=client)
    shown.window.index = (1, 1)
    assert [c["check_id"] for c in shown.shown] == [2, 3]
    assert "Checks (2 of 4 recent" in shown.history.value
    assert ">4</td>" not in shown.history.value and ">2</td>" in shown.history.value
    shown.window.value = (shown.days[1], shown.days[2])
    assert [c["check_id"] for c in shown.shown] == [2, 3, 4]


def test_another_monitor_resets_the_window(monitors, client):
    shown = widgets.drift(client=client)
    shown.window.index = (2, 2)
    shown.monitors_dropdown.value = "quiet"
    assert shown.days == [] and shown.shown == [] and shown.window.layout.display == "none"
    assert "Checks (0 of 0 recent" in shown.history.value
    shown.monitors_dropdown.value = "churn-drift"
    assert shown.window.index == (0, 2) and len(shown.shown) == 4


def test_mine_asks_for_my_monitors(monitors, client):
    widgets.drift(mine=True, client=client)
    assert queries(monitors, "api/drift/monitors")[-1] == {"mine": ["1"]}


# Jobs ----------------------------------------------------------------------------------
def job(name: str, owner: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"{name}-id",
        "name": name,
        "owner": owner,
        "notebook": f"notebooks/{name}.ipynb",
        "schedule": {"kind": "cron", "cron": "0 3 * * *", "timezone": "UTC"},
        "active": True,
        "next_run_at": "2030-01-01T03:00:00Z",
        "last_run": {"status": "failed", "ended_at": "2026-12-03T03:05:00Z"},
        **fields,
    }


@pytest.fixture
def scheduler(platform: FakePlatform) -> FakePlatform:
    platform.json("GET", "api/me", {"name": "alice"})
    platform.json(
        "GET",
        "api/jobs",
        {
            "jobs": [job("train", "alice"), job(EVIL, "bob", active=False, last_run=None)],
            "next_page_token": None,
        },
    )
    return platform


def test_jobs_mine_then_all(scheduler, client):
    shown = widgets.jobs(client=client)
    assert shown.error is None and shown.scope.value == "mine"
    assert queries(scheduler, "api/jobs")[-1]["owner"] == ["alice"]
    table = shown.table.value
    assert ">train</td>" in table and ">failed</td>" in table and ">0 3 * * * (UTC)</td>" in table
    assert ">2030-01-01 03:00 UTC (in " in table
    assert ">never</td>" in table and ">paused</td>" in table
    assert "<img" not in table and "&lt;img src=x" in table
    shown.scope.value = "all"
    assert "owner" not in queries(scheduler, "api/jobs")[-1]
    assert len(scheduler.sent("GET", "api/me")) == 1
    assert [j["name"] for j in shown.jobs] == ["train", EVIL]


def test_a_refused_job_list_is_a_message(platform, client):
    platform.json("GET", "api/me", {"name": "alice"})
    platform.json("GET", "api/jobs", {"message": "owner is too long."}, status=400)
    shown = widgets.jobs(mine=False, client=client)
    assert shown.error == "owner is too long." and "0 jobs" not in shown.table.value
    assert platform.sent("GET", "api/me") == []
