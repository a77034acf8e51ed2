"""The MLflow UI through the platform's gateway, opened from the Models panel in Chromium.

The UI's own requests (``ajax-api/...``, fetched by script) carry the browser
session's login cookie and its XSRF token, which the gateway hands the UI
(``mlflow-request-header-X-XSRFToken``); the same scopes and audit apply as to
API calls, and a script's request without the token is refused.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from browser_support import lab_session, new_user, open_lab, requires_chromium, screenshot, unique
from platform_harness import last_json_line

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.timeout(420),
    requires_chromium,
]

AJAX = "ajax-api/2.0/mlflow"


def ui_calls(page: Any) -> list[tuple[int, str]]:
    """Record the status and path of every request of the MLflow UI's data API."""
    calls: list[tuple[int, str]] = []

    def on_response(response: Any) -> None:
        if "/mlflow/ajax-api/" in response.url or "/mlflow/graphql" in response.url:
            calls.append((response.status, response.url.split("/mlflow/", 1)[1]))

    page.on("response", on_response)
    return calls


def fetch(page: Any, url: str, method: str = "GET", body: Any = None, xsrf: bool = False) -> int:
    """A script's request from the UI's page: with the session's cookies, and the XSRF
    token only when ``xsrf``; returns the status."""
    return page.evaluate(
        """async ([url, method, body, xsrf]) => {
            const headers = {'Content-Type': 'application/json'};
            if (xsrf) {
                const m = document.cookie.match(/mlflow-request-header-X-XSRFToken=([^;]+)/);
                headers['X-XSRFToken'] = decodeURIComponent(m[1]);
            }
            const r = await fetch(url, {method, headers, credentials: 'same-origin',
                                        body: body === null ? undefined : JSON.stringify(body)});
            return r.status;
        }""",
        [url, method, body, xsrf],
    )


def test_mlflow_ui_opened_from_the_panel_shows_experiments_runs_and_versions(platform, page):
    ds, password, token = new_user(platform, "uma", "data-scientist")
    model, experiment, run_name = unique("ui-churn-"), unique("ui-exp-"), unique("ui-run-")
    platform.spawn(ds, "cpu-small")
    code = f"""
import json, mlflow, numpy as np
from sklearn.linear_model import LogisticRegression
mlflow.set_experiment({experiment!r})
X = np.random.RandomState(0).rand(40, 3); y = (X[:, 0] > 0.5).astype(int)
with mlflow.start_run(run_name={run_name!r}) as run:
    info = nbp.registry.log_model(LogisticRegression().fit(X, y), {model!r}, X_example=X[:5],
                                  metrics={{"accuracy": 0.9}})
print(json.dumps({{"run": run.info.run_id, "experiment": run.info.experiment_id}}))
"""
    out = platform.execute(ds, code, token, timeout=180)
    assert out["status"] == "ok", out
    logged = last_json_line(out["stdout"])

    with lab_session(page, platform, ds, failure_shot="mlflow-ui-failure.png"):
        open_lab(page, platform, ds, password)
        page.get_by_test_id("nbp-model-search").fill(model)
        item = page.locator(f"[data-testid=nbp-model][data-model='{model}']")
        item.get_by_test_id("nbp-model-toggle").click()
        with page.context.expect_page() as opened:
            item.get_by_test_id("nbp-model-mlflow-link").click()
        ui = opened.value
        calls = ui_calls(ui)
        # The model's page: its version, listed by the UI's own requests.
        ui.get_by_role("link", name=re.compile(r"^Version 1$")).first.wait_for(timeout=60_000)
        screenshot(ui, "mlflow-ui-model.png")

        # The experiment's training runs with its run (MLflow 3 opens an experiment
        # on an overview whose dialogs may cover the tabs: go to the runs directly).
        ui.goto(ui.url.split("#", 1)[0] + f"#/experiments/{logged['experiment']}/runs")
        ui.get_by_text(run_name).first.wait_for(timeout=60_000)
        screenshot(ui, "mlflow-ui-experiment.png")
        # The run's page with its metric.
        ui.goto(
            ui.url.split("#", 1)[0] + f"#/experiments/{logged['experiment']}/runs/{logged['run']}"
        )
        ui.get_by_text("accuracy").first.wait_for(timeout=60_000)
        screenshot(ui, "mlflow-ui-run.png")

        refused = [(status, path) for status, path in calls if status in (401, 403)]
        assert not refused, refused
        assert any(
            path.startswith(("ajax-api/2.0/mlflow/runs/search", "graphql")) for _, path in calls
        )

        # A script's request with the cookie but without the XSRF token: the cookie
        # does not count, so nobody is logged in.
        base = ui.url.split("#", 1)[0]
        search = f"{base}{AJAX}/experiments/search?max_results=5"
        assert fetch(ui, search) == 401
        assert fetch(ui, search, xsrf=True) == 200
        # The same scopes apply as to the API: a data scientist reads, but may not
        # move a protected alias or delete another user's experiment.
        alias = {"name": model, "alias": "champion", "version": "1"}
        assert fetch(ui, f"{base}{AJAX}/registered-models/alias", "POST", alias, xsrf=True) == 403
        assert (
            fetch(ui, f"{base}{AJAX}/experiments/delete", "POST", {"experiment_id": "0"}, xsrf=True)
            == 403
        )
        ui.close()

    # The refusals were audited, as the caller.
    audit = platform.service("GET", f"api/audit?model={model}", platform.admin_token)
    assert audit.status_code == 200, audit.text
    entries = audit.json()["entries"]
    assert any(e.get("user") == ds and e.get("result") == "refused" for e in entries), entries
