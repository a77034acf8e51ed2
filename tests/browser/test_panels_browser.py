"""The Models and Jobs panels of the Platform sidebar, in Debian's Chromium.

Against the real platform of the session ``platform`` fixture: a kernel on a
user's server registers a model through the real MLflow gateway, a platform
admin approves its promotion from the Models panel; a data scientist schedules
a notebook from its toolbar, sees the run succeed in the Jobs panel and opens
its output.
"""

from __future__ import annotations

import re
import time

import pytest

from browser_support import (
    lab_session,
    new_user,
    notebook,
    open_lab,
    put_notebook,
    requires_chromium,
    screenshot,
    unique,
)
from platform_harness import last_json_line

XSS = "<img src=x onerror=alert(1)>"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.timeout(420),
    requires_chromium,
]


def test_models_panel_shows_a_registered_model_and_an_admin_approves_it(platform, page):
    ds, _, ds_token = new_user(platform, "mona", "data-scientist")
    admin, admin_password, admin_token = new_user(platform, "ada", "platform-admin")
    model = unique("panel-churn-")

    # A kernel of the data scientist registers a version and asks for champion.
    platform.spawn(ds, "cpu-small")
    put_notebook(platform, ds, ds_token, "train.ipynb", notebook([]))
    code = f"""
import json, mlflow, numpy as np
from sklearn.linear_model import LogisticRegression
X = np.random.RandomState(0).rand(40, 3); y = (X[:, 0] > 0.5).astype(int)
info = nbp.registry.log_model(LogisticRegression().fit(X, y), {model!r}, X_example=X[:5],
                              metrics={{"accuracy": 0.9}}, description={XSS!r})
mlflow.MlflowClient().update_registered_model({model!r}, description={XSS!r})
req = nbp.registry.request_promotion({model!r}, version=info.registered_model_version,
                                     note="first " + {XSS!r})
print(json.dumps({{"version": info.registered_model_version, "request": req["id"]}}))
"""
    out = platform.execute(ds, code, ds_token, notebook="train.ipynb", timeout=180)
    assert out["status"] == "ok", out
    registered = last_json_line(out["stdout"])
    assert registered["version"] == "1"
    # The admin's own request: four eyes, so the panel does not offer its approval.
    body = {"model": model, "version": "1", "alias": "staging"}
    own_request = platform.service("POST", "api/promotions", admin_token, json=body)
    assert own_request.status_code == 201, own_request.text

    platform.spawn(admin, "cpu-small")
    with lab_session(page, platform, admin, ds):
        open_lab(page, platform, admin, admin_password)
        page.get_by_test_id("nbp-model-search").fill(model)
        item = page.locator(f"[data-testid=nbp-model][data-model='{model}']")
        item.wait_for(state="visible", timeout=30_000)
        assert item.get_by_test_id("nbp-pending-count").inner_text() == "2 pending"

        # Text from the model is text: the markup shows literally, no element is made.
        description = item.get_by_test_id("nbp-model-description")
        assert description.inner_text() == XSS
        item.get_by_test_id("nbp-model-toggle").click()
        version = item.locator("[data-testid=nbp-model-version][data-version='1']")
        version.wait_for(state="visible")
        assert version.get_by_test_id("nbp-version-description").inner_text() == XSS
        assert version.get_by_test_id("nbp-lineage-path").inner_text() == "train.ipynb"
        assert version.get_by_test_id("nbp-lineage-author").inner_text() == f"by {ds}"
        # Who owns it and who may change it (the admin sees their own MANAGE).
        assert item.get_by_test_id("nbp-model-owner").inner_text() == f"owner {ds}"
        assert ds in item.get_by_test_id("nbp-model-editors").inner_text()
        assert item.get_by_test_id("nbp-model-my-permission").inner_text() == "you: MANAGE"
        promotion = item.locator(
            f"[data-testid=nbp-promotion][data-promotion-id='{registered['request']}']"
        )
        assert "first " + XSS in promotion.get_by_test_id("nbp-promotion-note").inner_text()
        deciders = promotion.get_by_test_id("nbp-promotion-deciders").inner_text()
        assert deciders == f"decided by platform admins other than {ds}"
        own = item.locator(
            f"[data-testid=nbp-promotion][data-promotion-id='{own_request.json()['id']}']"
        )
        assert own.get_by_test_id("nbp-approve").is_disabled()
        assert "another platform admin" in own.get_by_test_id("nbp-promotion-reason").inner_text()
        assert own.get_by_test_id("nbp-reject").inner_text() == "Withdraw"
        assert page.locator("[data-testid=nbp-sidebar] img").count() == 0
        mlflow_link = page.get_by_test_id("nbp-mlflow-link")
        assert mlflow_link.get_attribute("href").endswith("/services/platform/mlflow/")
        assert mlflow_link.get_attribute("target") == "_blank"
        screenshot(page, "models-panel-pending.png")

        # The admin approves from the panel, with a comment.
        promotion.get_by_test_id("nbp-approve").click()
        page.get_by_test_id("nbp-comment").fill("looks good")
        page.locator(".jp-Dialog-button.jp-mod-accept").click()
        promotion.wait_for(state="detached", timeout=30_000)
        assert item.get_by_test_id("nbp-pending-count").inner_text() == "1 pending"
        head = item.get_by_test_id("nbp-model-toggle")
        head.locator("[data-testid=nbp-alias][data-alias=champion]").wait_for(state="visible")
        version.locator("[data-testid=nbp-alias][data-alias=champion]").wait_for(state="visible")
        screenshot(page, "models-panel-approved.png")

        r = platform.service("GET", f"api/promotions/{registered['request']}", platform.admin_token)
        assert r.json()["state"] == "approved", r.text
        assert r.json()["decided_by"] == admin and r.json()["comment"] == "looks good"
        assert page.locator("[data-testid=nbp-sidebar] img").count() == 0
        assert page.dialogs == []


def test_schedule_a_notebook_from_its_toolbar_and_open_the_run_output(platform, page):
    name, password, token = new_user(platform, "joan", "data-scientist")
    job = unique("hello-")
    path = f"{job}.ipynb"
    platform.spawn(name, "cpu-small")
    put_notebook(
        platform,
        name,
        token,
        path,
        notebook(
            [
                ('greeting = "hi"\ntimes = 2  # how often', ["parameters"]),
                ('print("-".join([greeting] * times), "done")', []),
            ]
        ),
    )
    with lab_session(page, platform, name, failure_shot="jobs-failure.png"):
        open_lab(page, platform, name, password, path)
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60_000)
        page.locator(
            ".jp-NotebookPanel-toolbar [data-command='nbplatform:schedule-notebook']"
        ).click()

        form = page.get_by_test_id("nbp-schedule-form")
        form.wait_for(state="visible")
        assert page.get_by_test_id("nbp-schedule-notebook").inner_text() == path
        assert page.get_by_test_id("nbp-schedule-name").input_value() == job
        times = page.locator("[data-testid=nbp-schedule-param][data-param=times]")
        assert times.input_value() == "2"
        greeting = page.locator("[data-testid=nbp-schedule-param][data-param=greeting]")
        assert greeting.input_value() == '"hi"'

        # A value of the wrong type: the API's message shows, the dialog stays.
        times.fill('"three"')
        page.locator(".jp-Dialog-button.jp-mod-accept").click()
        error = page.get_by_test_id("nbp-schedule-error")
        error.wait_for(state="visible")
        assert "times" in error.inner_text(), error.inner_text()
        assert form.is_visible()
        screenshot(page, "schedule-dialog-error.png")

        times.fill("3")
        page.locator(".jp-Dialog-button.jp-mod-accept").click()
        form.wait_for(state="detached")

        r = platform.service("GET", "api/jobs", token, params={"owner": name})
        (created,) = [j for j in r.json()["jobs"] if j["name"] == job]
        assert created["notebook"] == path and created["parameters"] == {"times": 3}

        item = page.locator(f"[data-testid=nbp-job][data-job='{job}']")
        item.wait_for(state="visible", timeout=30_000)
        assert item.get_by_test_id("nbp-job-schedule").inner_text().startswith("manual")
        item.get_by_test_id("nbp-job-run").click()
        run = item.locator("[data-testid=nbp-run]").first
        run.wait_for(state="visible")
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            status = run.get_attribute("data-status")
            if status not in ("queued", "running"):
                break
            time.sleep(1)
        assert status == "succeeded", (status, run.get_attribute("title"))
        screenshot(page, "jobs-panel-succeeded.png")

        # Its log, as text in a dialog.
        run.get_by_test_id("nbp-run-log").click()
        log = page.get_by_test_id("nbp-log-text")
        log.wait_for(state="visible")
        assert log.inner_text().strip()
        page.locator(".jp-Dialog-button.jp-mod-accept").click()
        log.wait_for(state="detached")

        # Its output: a read-only copy opens in JupyterLab, with the injected value.
        run.get_by_test_id("nbp-run-output").click()
        tab = page.locator(".lm-TabBar-tab", has_text=re.compile(rf"^{re.escape(job)}-.*ipynb"))
        tab.wait_for(state="visible", timeout=30_000)
        output = page.locator(".jp-NotebookPanel:visible .jp-OutputArea-output", has_text="done")
        output.first.wait_for(state="visible", timeout=30_000)
        assert "hi-hi-hi done" in output.first.inner_text()
        screenshot(page, "jobs-run-output.png")

        listing = platform.server(name, "GET", "api/contents/job-runs", token).json()
        (copy,) = [f for f in listing["content"] if f["name"].startswith(job)]
        saved = platform.server(name, "GET", f"api/contents/{copy['path']}", token).json()
        cells = saved["content"]["cells"]
        assert cells and all(c["metadata"].get("editable") is False for c in cells)
        assert page.dialogs == []
