"""The Drift panel of the Platform sidebar, in Debian's Chromium.

Against the real platform of the session ``platform`` fixture: a data scientist
defines a drift monitor of a model with the REST API and records two checks,
the second with three columns where the largest score (``city``) is not the
largest drift weighted by the model's importance (``income``). In JupyterLab
the Drift panel shows the monitor in drift with its history, ranks ``income``
first, draws the model's SHAP importance, counts the alert in the status bar
and tells it once; the check's report opens in an iframe sandboxed without
``allow-same-origin`` (its script cannot reach JupyterLab), and acknowledging
clears the alert.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from browser_support import lab_session, new_user, open_lab, requires_chromium, screenshot, unique

XSS = "<img src=x onerror=alert(1)>"
#: The report's script: it tells whether it could reach the page that frames it.
REPORT_HTML = (
    "<!doctype html><html><body><p id=out>not run</p><script>"
    "var out = document.getElementById('out');"
    "try { out.textContent = 'reached:' + parent.document.title; }"
    "catch (e) { out.textContent = 'isolated:' + e.name; }"
    "</script></body></html>"
)
#: The policy the platform serves a report under (``nbplatform_drift.report.REPORT_CSP``).
REPORT_CSP = (
    "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'unsafe-inline'; img-src data:; font-src data:; connect-src 'none'; "
    "form-action 'none'; frame-ancestors 'self'"
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.timeout(420),
    requires_chromium,
]


def column(name: str, score: float, drifted: bool, method: str = "wasserstein") -> dict:
    return {
        "column": name,
        "type": "num",
        "method": method,
        "statistic": round(score * 0.1, 6),
        "threshold": 0.1,
        "drifted": drifted,
        "score": score,
    }


def check(columns: list[dict], **more: object) -> dict:
    drifted = sum(c["drifted"] for c in columns)
    share = drifted / len(columns)
    return {
        "columns": columns,
        "dataset_drift": share >= 0.5,
        "drift_share": share,
        "threshold_share": 0.5,
        "reference_rows": 2000,
        "current_rows": 500,
        **more,
    }


def test_drift_panel_ranks_by_weighted_drift_and_sandboxes_the_report(platform, page):
    ds, password, token = new_user(platform, "drew", "data-scientist")
    name = unique("churn_")
    model_version = f"models:/{name}/3"
    r = platform.service(
        "POST",
        "api/drift/monitors",
        token,
        json={"name": name, "model": f"models:/{name}@champion", "description": XSS},
    )
    assert r.status_code == 201, r.text
    path = f"api/drift/monitors/{name}/checks"
    calm = check(
        [column("income", 0.2, False), column("age", 0.1, False), column("city", 0.3, False)]
    )
    r = platform.service("POST", path, token, json=calm)
    assert r.status_code == 201, r.text
    # city has the largest score, but the model hardly uses it: income ranks first
    drifted = check(
        [column("city", 3.0, True), column("age", 0.5, False), column("income", 2.0, True)],
        importance={"income": 0.7, "age": 0.29, "city": 0.01},
        model_version=model_version,
        report_html=REPORT_HTML,
    )
    r = platform.service("POST", path, token, json=drifted)
    assert r.status_code == 201, r.text
    check_id = r.json()["id"]
    stored = platform.service("GET", f"api/drift/checks/{check_id}", token).json()
    assert [c["column"] for c in stored["columns"]] == ["income", "age", "city"]

    platform.spawn(ds, "cpu-small")
    with lab_session(page, platform, ds, failure_shot="drift-failure.png"):
        # The lab serves the report as the platform does: its sandbox policy, not Jupyter's.
        report = platform.server(ds, "GET", f"nbplatform/api/drift/checks/{check_id}/report", token)
        assert report.status_code == 200, report.text
        assert report.text == REPORT_HTML
        assert report.headers["Content-Security-Policy"] == REPORT_CSP
        assert report.headers["X-Content-Type-Options"] == "nosniff"
        assert report.headers["Content-Type"].startswith("text/html")
        listed = platform.server(ds, "GET", "nbplatform/api/drift/monitors", token)
        assert listed.status_code == 200 and name in [m["name"] for m in listed.json()["monitors"]]
        refused = platform.server(ds, "GET", "nbplatform/api/drift/notices", token)
        assert refused.status_code == 404

        open_lab(page, platform, ds, password)
        section = page.get_by_test_id("nbp-section-drift")
        item = section.locator(f"[data-testid=nbp-drift-monitor][data-monitor='{name}']")
        item.wait_for(state="visible", timeout=30_000)
        status = item.get_by_test_id("nbp-drift-status").first
        assert status.get_attribute("data-status") == "drift"
        assert status.inner_text() == "drift"
        assert item.get_by_test_id("nbp-drift-target").inner_text() == (
            f"model models:/{name}@champion"
        )
        assert item.get_by_test_id("nbp-drift-description").inner_text() == XSS
        sparkline = item.locator("svg[data-testid=nbp-drift-sparkline]")
        sparkline.wait_for(state="visible")
        assert sparkline.get_attribute("data-points") == "2"
        assert sparkline.locator("circle").count() == 2

        # One alert: counted in the status bar, told once.
        badge = page.get_by_test_id("nbp-drift-alerts-badge")
        badge.wait_for(state="visible")
        page.wait_for_function(
            "() => document.querySelector('[data-testid=nbp-drift-alerts-badge]')"
            "?.dataset.count === '1'",
            timeout=30_000,
        )
        notice = page.locator(".Toastify__toast", has_text=f"Drift monitor {name}")
        notice.first.wait_for(state="visible", timeout=30_000)
        assert "income" in notice.first.inner_text()

        # The latest check: columns ranked by weighted drift, the model's importance.
        item.get_by_test_id("nbp-drift-monitor-toggle").click()
        detail = item.get_by_test_id("nbp-drift-monitor-detail")
        table = detail.get_by_test_id("nbp-drift-columns")
        table.wait_for(state="visible")
        rows = table.get_by_test_id("nbp-drift-column")
        assert rows.first.get_attribute("data-column") == "income"
        assert [r.get_attribute("data-column") for r in rows.all()] == ["income", "age", "city"]
        assert rows.first.get_by_test_id("nbp-drift-column-drifted").inner_text() == "yes"
        assert rows.first.get_by_test_id("nbp-drift-column-method").inner_text() == "wasserstein"
        title = detail.get_by_test_id("nbp-drift-importance-title")
        assert title.text_content() == f"SHAP importance of {model_version}"
        plot = detail.locator("svg[data-testid=nbp-drift-importance-plot]")
        assert plot.get_attribute("data-bars") == "3"
        assert plot.locator("g[data-feature]").first.get_attribute("data-feature") == "income"
        assert detail.get_by_test_id("nbp-drift-retrain").count() == 0  # no retrain job
        screenshot(page, "drift-panel-check.png")

        # The report: in an iframe whose sandbox lets scripts run, in an opaque origin.
        detail.get_by_test_id("nbp-drift-open-report").click()
        frame = page.locator(f"iframe[data-testid=nbp-drift-report-frame][data-check='{check_id}']")
        frame.wait_for(state="attached", timeout=30_000)
        sandbox = frame.get_attribute("sandbox")
        assert sandbox is not None and "allow-scripts" in sandbox.split()
        assert "allow-same-origin" not in sandbox
        assert frame.get_attribute("src").endswith(
            f"/nbplatform/api/drift/checks/{check_id}/report"
        )
        out = page.frame_locator(
            f"iframe[data-testid=nbp-drift-report-frame][data-check='{check_id}']"
        ).locator("#out")
        # the report's script ran and could not reach the page that frames it
        expect(out).to_have_text(re.compile(r"^isolated:\w+$"), timeout=30_000)
        screenshot(page, "drift-report.png")

        # Acknowledging clears the alert (the status bar follows the panel).
        detail.get_by_test_id("nbp-drift-acknowledge").click()
        page.locator(".jp-Dialog textarea[data-testid=nbp-comment]").fill("retraining soon")
        page.locator(".jp-Dialog .jp-mod-accept").click()
        item.get_by_test_id("nbp-drift-acknowledged").wait_for(state="visible", timeout=30_000)
        page.wait_for_function(
            "() => document.querySelector('[data-testid=nbp-drift-alerts-badge]')"
            "?.dataset.count === '0'",
            timeout=30_000,
        )
        monitor = platform.service("GET", f"api/drift/monitors/{name}", token).json()
        assert monitor["acknowledged_by"] == ds

        # Muting for an hour; the next poll tells nothing again.
        detail.get_by_test_id("nbp-drift-mute-1h").click()
        item.get_by_test_id("nbp-drift-muted").wait_for(state="visible", timeout=30_000)
        assert platform.service("GET", f"api/drift/monitors/{name}", token).json()["muted_until"]
        assert page.locator(".Toastify__toast", has_text=f"Drift monitor {name}").count() <= 1
        assert page.dialogs == []
