"""Replay from the Models panel, in Debian's Chromium.

A data scientist's job registers a version; in the panel, the version (made by a
job run) offers Replay; clicking it re-runs that job run and shows, once it has
ended, that every metric was reproduced, next to the recorded values.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from replay_support import wait_run, write_train_notebook

from browser_support import lab_session, new_user, open_lab, requires_chromium, screenshot, unique

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.timeout(600),
    requires_chromium,
]


def job_made_version(platform: Any, user: str, token: str, model: str) -> None:
    notebook = write_train_notebook(platform, user, model)
    body = {"name": unique("replay-train-"), "notebook": notebook, "profile": "cpu-small"}
    r = platform.service("POST", "api/jobs", token, json=body)
    assert r.status_code == 201, r.text
    r = platform.service("POST", f"api/jobs/{r.json()['id']}/runs", token, json={})
    assert r.status_code == 201, r.text
    run = wait_run(platform, token, r.json()["id"], timeout=180)
    assert run["status"] == "succeeded", run


def test_replay_from_the_models_panel_shows_the_metrics_reproduced(platform, page):
    ds, password, token = new_user(platform, "rpl", "data-scientist")
    model = unique("replay-ui-")
    job_made_version(platform, ds, token, model)
    platform.spawn(ds, "cpu-small")

    with lab_session(page, platform, ds, failure_shot="replay-failure.png"):
        open_lab(page, platform, ds, password)
        page.get_by_test_id("nbp-model-search").fill(model)
        item = page.locator(f"[data-testid=nbp-model][data-model='{model}']")
        item.get_by_test_id("nbp-model-toggle").click()
        v1 = item.locator("[data-testid=nbp-model-version][data-version='1']")
        v1.wait_for(state="visible", timeout=30_000)
        v1.get_by_test_id("nbp-replay-start").click()
        result = v1.get_by_test_id("nbp-replay-result")
        expect(result).to_have_attribute("data-finished", "true", timeout=240_000)
        expect(result).to_have_attribute("data-reproduced", "true")
        assert v1.get_by_test_id("nbp-replay-summary").inner_text() == (
            "Reproduced: 2 metrics as recorded."
        )
        rows = v1.locator("[data-testid=nbp-replay-table] tbody tr")
        assert rows.evaluate_all("rs => rs.map(r => r.dataset.key)") == ["accuracy", "log_loss"]
        for i in range(2):
            cells = rows.nth(i).locator("td")
            assert cells.nth(1).inner_text() == cells.nth(2).inner_text() != "—"
        expect(v1.get_by_test_id("nbp-replay-new-version")).to_have_text("registered as v2")
        screenshot(page, "models-replay.png")
        assert page.dialogs == []
