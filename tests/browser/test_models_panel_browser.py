"""The Models panel at sidebar width and its detail view, in Debian's Chromium.

Against the real platform of the session ``platform`` fixture: a data scientist's
kernel registers two versions of a model (each run logs a metric over steps), a
platform admin approves champion for version 1 and finds the request for version 2
in their inbox; the panel shows
``@champion → v1``, the metrics table, a metric-over-steps chart, the audit log
(admins only) and a main-area view that compares the two versions; in the light
and the dark theme. (A request's review: ``tests/integration/test_story_panels_browser.py``.)
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from browser_support import (
    contrast_ratio,
    lab_session,
    new_user,
    open_lab,
    requires_chromium,
    screenshot,
    unique,
)
from platform_harness import last_json_line

XSS = "<img src=x onerror=alert(1)>"
NOTEBOOK = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.timeout(600),
    requires_chromium,
]


def register_two_versions(platform: Any, user: str, token: str, model: str) -> dict[str, Any]:
    """Two versions of ``model`` from two runs, each with a loss over three steps."""
    r = platform.server(
        user,
        "PUT",
        "api/contents/train.ipynb",
        token,
        json={"type": "notebook", "content": NOTEBOOK},
    )
    assert r.status_code in (200, 201), r.text
    code = f"""
import json, mlflow, numpy as np
from sklearn.linear_model import LogisticRegression
X = np.random.RandomState(0).rand(40, 3); y = (X[:, 0] > 0.5).astype(int)
versions = []
for C, acc in ((1.0, 0.81), (0.5, 0.9)):
    with mlflow.start_run():
        for step, loss in enumerate((0.9, 0.6, 0.4)):
            mlflow.log_metric("loss", loss * C, step=step)
        info = nbp.registry.log_model(LogisticRegression(C=C).fit(X, y), {model!r},
                                      X_example=X[:5], metrics={{"accuracy": acc}},
                                      params={{"C": C}}, description={XSS!r})
    versions.append(info.registered_model_version)
mlflow.MlflowClient().update_registered_model({model!r}, description={XSS!r})
first = nbp.registry.request_promotion({model!r}, version=versions[0], note="first")
print(json.dumps({{"versions": versions, "first": first["id"]}}))
"""
    out = platform.execute(user, code, token, notebook="train.ipynb", timeout=240)
    assert out["status"] == "ok", out
    return last_json_line(out["stdout"])


def to_decide(platform: Any, token: str, me: str) -> int:
    """How many pending requests ``me`` may decide, as the server's ``rights`` say."""
    r = platform.service(
        "GET", "api/promotions", token, params={"state": "pending", "max_results": 100}
    )
    assert r.status_code == 200, r.text
    return sum(
        1
        for p in r.json()["promotions"]
        if p["rights"]["may_approve"] or (p["rights"]["may_reject"] and p["requested_by"] != me)
    )


def dark_theme(page: Any) -> None:
    """Switch JupyterLab to its dark theme from the Settings menu."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Settings$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Theme$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^JupyterLab Dark$")).click()
    page.wait_for_function("document.body.dataset.jpThemeName === 'JupyterLab Dark'")
    page.wait_for_timeout(500)  # the theme's stylesheet applies


def legible(page: Any, view: Any) -> None:
    """The badges and the highlighted comparison rows read at WCAG AA (4.5:1) in this theme."""
    samples = {
        "champion badge": page.locator(
            "[data-testid=nbp-section-models] [data-testid=nbp-alias][data-alias=champion]"
        ).first,
        "differing row": view.locator("[data-testid=nbp-compare-row][data-differs=true] td").first,
        "pending badge": page.locator("[data-testid=nbp-section-models] .nbp-Pending").first,
    }
    assert samples["champion badge"].count() and samples["differing row"].count()
    ratios = {
        name: round(contrast_ratio(where), 2) for name, where in samples.items() if where.count()
    }
    assert all(ratio >= 4.5 for ratio in ratios.values()), ratios


def test_models_panel_badges_metrics_detail_inbox_and_audit(platform, page):
    ds, ds_password, ds_token = new_user(platform, "mira", "data-scientist")
    admin, admin_password, admin_token = new_user(platform, "adam", "platform-admin")
    model = unique("panel-compare-")

    platform.spawn(ds, "cpu-small")
    registered = register_two_versions(platform, ds, ds_token, model)
    assert registered["versions"] == ["1", "2"]
    # champion → v1 (approved by someone else than the requester), then a request for v2
    ok = platform.service(
        "POST", f"api/promotions/{registered['first']}/approve", platform.admin_token, json={}
    )
    assert ok.status_code == 200, ok.text
    second = platform.service(
        "POST", "api/promotions", ds_token, json={"model": model, "version": "2", "note": XSS}
    )
    assert second.status_code == 201, second.text
    expected = to_decide(platform, admin_token, admin)
    assert expected >= 1

    # The history endpoint through the service (what the chart draws).
    history = platform.service(
        "GET", f"api/models/{model}/versions/1/metric-history", ds_token
    ).json()
    assert [p["step"] for p in history["metrics"]["loss"]] == [0, 1, 2]

    platform.spawn(admin, "cpu-small")
    with lab_session(page, platform, admin, ds, failure_shot="models-failure.png"):
        open_lab(page, platform, admin, admin_password)
        section = page.get_by_test_id("nbp-section-models")

        # The inbox at the top, its count in the header.
        expect(page.get_by_test_id("nbp-inbox-count")).to_have_text(f"{expected} to decide")
        inbox = page.get_by_test_id("nbp-promotion-inbox")
        request = inbox.locator(
            f"[data-testid=nbp-promotion][data-promotion-id='{second.json()['id']}']"
        )
        request.wait_for(state="visible")
        assert request.get_by_test_id("nbp-promotion-model").inner_text().strip() == model
        assert XSS in request.get_by_test_id("nbp-promotion-note").inner_text()
        assert request.get_by_test_id("nbp-approve").is_enabled()

        # The model's line: its alias with the version it points at.
        page.get_by_test_id("nbp-model-search").fill(model)
        item = section.locator(f"[data-testid=nbp-model][data-model='{model}']")
        item.wait_for(state="visible", timeout=30_000)
        head = item.get_by_test_id("nbp-model-toggle")
        badge = head.locator("[data-testid=nbp-alias][data-alias=champion]")
        expect(badge).to_have_text("@champion → v1")
        assert item.get_by_test_id("nbp-model-description").inner_text() == XSS

        # The versions: a compact metrics table, the source shortened, a chart.
        head.click()
        v1 = item.locator("[data-testid=nbp-model-version][data-version='1']")
        v1.wait_for(state="visible")
        accuracy = v1.locator("[data-testid=nbp-metric][data-metric=accuracy]")
        assert accuracy.get_by_test_id("nbp-metric-value").inner_text() == "0.81"
        loss = v1.locator("[data-testid=nbp-metric][data-metric=loss]")
        assert loss.get_by_test_id("nbp-metric-value").inner_text() == "0.4"
        v2 = item.locator("[data-testid=nbp-model-version][data-version='2']")
        assert (
            v2.locator("[data-testid=nbp-metric][data-metric=accuracy]")
            .get_by_test_id("nbp-metric-value")
            .inner_text()
            == "0.9"
        )
        source = v1.get_by_test_id("nbp-version-source")
        full = source.get_attribute("title")
        assert full and "/" in full
        assert len(source.inner_text()) <= 34
        if len(full) > 34:
            assert "…" in source.inner_text()
        v1.get_by_test_id("nbp-metric-history-toggle").click()
        chart = v1.get_by_test_id("nbp-metric-chart-plot")
        chart.wait_for(state="visible")
        assert chart.get_attribute("data-metric") == "loss"
        assert chart.get_attribute("data-points") == "3"
        width = page.locator("#nbplatform-sidebar").bounding_box()["width"]
        assert chart.bounding_box()["width"] <= width

        # The audit log, for platform admins, filtered by the model.
        page.get_by_test_id("nbp-audit-toggle").click()
        page.get_by_test_id("nbp-audit-model").fill(model)
        entries = page.locator("[data-testid=nbp-audit-log] [data-testid=nbp-audit-entry]")
        entries.first.wait_for(state="visible", timeout=30_000)
        actions = [entries.nth(i).get_attribute("data-action") for i in range(entries.count())]
        assert "promotion:approve" in actions and "promotion:request" in actions, actions
        assert all(
            model in entries.nth(i).get_by_test_id("nbp-audit-entry-subject").inner_text()
            for i in range(entries.count())
        )
        page.get_by_test_id("nbp-audit-result").select_option("refused")
        page.get_by_test_id("nbp-audit-empty").wait_for(state="visible", timeout=30_000)
        page.get_by_test_id("nbp-audit-result").select_option("")
        entries.first.wait_for(state="visible", timeout=30_000)
        assert page.locator("[data-testid=nbp-sidebar] img").count() == 0
        screenshot(page, "models-panel-light.png")

        # The detail view in the main area compares the two versions.
        item.get_by_test_id("nbp-model-details").click()
        view = page.locator(".jp-MainAreaWidget [data-testid=nbp-model-detail-view]")
        view.wait_for(state="visible")
        table = view.get_by_test_id("nbp-compare-table")
        table.wait_for(state="visible", timeout=30_000)
        assert table.get_attribute("data-versions") == "1,2"
        assert view.get_by_test_id("nbp-model-detail-description").inner_text() == XSS

        def row(group: str, key: str) -> Any:
            return table.locator(
                f"[data-testid=nbp-compare-group][data-group={group}] "
                f"[data-testid=nbp-compare-row][data-key='{key}']"
            )

        def cells(group: str, key: str) -> list[str]:
            tds = row(group, key).locator("td")
            return [tds.nth(i).inner_text() for i in range(tds.count())]

        assert cells("metrics", "accuracy") == ["0.81", "0.9"]
        assert row("metrics", "accuracy").get_attribute("data-differs") == "true"
        assert cells("params", "C") == ["1.0", "0.5"]
        assert cells("aliases", "@champion") == ["yes", "—"]
        assert cells("lineage", "notebook") == ["train.ipynb", "train.ipynb"]
        assert row("lineage", "notebook").get_attribute("data-differs") == "false"
        assert cells("lineage", "author") == [ds, ds]
        assert row("tags", "nbp.notebook").count() == 1
        # only the rows that differ
        view.get_by_test_id("nbp-compare-only-differing").check()
        assert row("lineage", "notebook").count() == 0
        assert row("params", "C").count() == 1
        view.get_by_test_id("nbp-compare-only-differing").uncheck()
        # one version only, then both again
        view.locator("[data-testid=nbp-compare-version][data-version='1']").uncheck()
        expect(table).to_have_attribute("data-versions", "2")
        view.locator("[data-testid=nbp-compare-version][data-version='1']").check()
        expect(table).to_have_attribute("data-versions", "1,2")
        assert (
            page.locator(".jp-MainAreaWidget [data-testid=nbp-model-detail-view] img").count() == 0
        )
        screenshot(page, "models-detail-light.png")

        legible(page, view)
        dark_theme(page)
        screenshot(page, "models-detail-dark.png")
        legible(page, view)
        page.locator(".lm-TabBar-tab", has_text=f"Model {model}").locator(
            ".lm-TabBar-tabCloseIcon"
        ).click()
        view.wait_for(state="detached")
        screenshot(page, "models-panel-dark.png")
        assert page.dialogs == []

        # This platform runs no reviews (NBP_PROMOTION_REVIEW=0): the request has no Review line.
        assert request.get_by_test_id("nbp-promotion-review").count() == 0

        # A data scientist sees neither the inbox nor the audit log.
        page.goto("about:blank")
        page.context.clear_cookies()
        open_lab(page, platform, ds, ds_password)
        page.get_by_test_id("nbp-model-search").fill(model)
        item = page.locator(
            f"[data-testid=nbp-section-models] [data-testid=nbp-model][data-model='{model}']"
        )
        item.wait_for(state="visible", timeout=30_000)
        expect(item.locator("[data-testid=nbp-alias][data-alias=champion]")).to_have_text(
            "@champion → v1"
        )
        assert page.get_by_test_id("nbp-audit-toggle").count() == 0
        assert page.get_by_test_id("nbp-audit-log").count() == 0
        assert page.get_by_test_id("nbp-promotion-inbox").count() == 0
        assert page.get_by_test_id("nbp-inbox-count").count() == 0
        screenshot(page, "models-panel-data-scientist.png")
        assert page.dialogs == []
