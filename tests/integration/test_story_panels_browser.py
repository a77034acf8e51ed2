"""The seeded demo in Debian's Chromium: every panel is populated, and a request's review opens.

On the platform as shipped (``review_platform``), once its demo seeding ended (see
``test_story_notebooks.py``, which runs first and checks the seeding itself): the
platform admin logs in to a fresh JupyterLab and finds the demo's model with its
champion, its feature views, its drift monitor with history and its scheduled jobs,
each panel kept as a screenshot (``NBP_SCREENSHOTS``). Then the demo's data scientist asks
for a promotion; the admin finds the request in their inbox with its review run,
whose output notebook they open.
"""

from __future__ import annotations

import json
import time

import pytest
from playwright.sync_api import expect

from browser_support import lab_session, open_lab, requires_chromium, screenshot
from nbplatform_hub import demo

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.timeout(900),
    requires_chromium,
]

ADMIN = "admin"


@pytest.fixture(scope="module")
def seeded(review_platform) -> dict:
    """The demo seeding's outcome, once written (it runs from the platform's start)."""
    marker = review_platform.home / "demo" / "seeded.json"
    deadline = time.monotonic() + 1200
    while not marker.is_file():
        assert time.monotonic() < deadline, "the demo was not seeded in 1200 s"
        time.sleep(1)
    outcome = json.loads(marker.read_text())
    assert outcome["state"] == "seeded", outcome
    return outcome


def test_the_seeded_demo_fills_every_panel(review_platform, seeded, page):
    platform = review_platform
    platform.spawn(ADMIN, "cpu-small")
    with lab_session(page, platform, ADMIN, demo.DEMO_USER, failure_shot="demo-failure.png"):
        open_lab(page, platform, ADMIN, platform.admin_password)

        models = page.get_by_test_id("nbp-section-models")
        page.get_by_test_id("nbp-model-search").fill(demo.MODEL)
        model = models.locator(f"[data-testid=nbp-model][data-model='{demo.MODEL}']")
        model.wait_for(state="visible", timeout=60_000)
        champion = model.locator("[data-testid=nbp-alias][data-alias=champion]")
        expect(champion).to_be_visible()
        model.scroll_into_view_if_needed()
        screenshot(page, "demo-models.png")

        features = page.get_by_test_id("nbp-section-features")
        view = features.locator(
            "[data-testid=nbp-feature-view][data-view='story_driver_hourly_stats']"
        )
        view.wait_for(state="visible", timeout=60_000)
        assert view.get_by_test_id("nbp-feature-freshness").inner_text().strip()
        assert features.locator("[data-testid=nbp-feature-view]").count() >= 2
        view.scroll_into_view_if_needed()
        screenshot(page, "demo-features.png")

        drift = page.get_by_test_id("nbp-section-drift")
        monitor = drift.locator(
            "[data-testid=nbp-drift-monitor][data-monitor='story-order-success']"
        )
        monitor.wait_for(state="visible", timeout=60_000)
        monitor.get_by_test_id("nbp-drift-monitor-toggle").click()
        monitor.get_by_test_id("nbp-drift-monitor-detail").wait_for(state="visible", timeout=60_000)
        monitor.scroll_into_view_if_needed()
        screenshot(page, "demo-drift.png")

        jobs = page.get_by_test_id("nbp-section-jobs")
        jobs.get_by_test_id("nbp-jobs-filter-all").click()
        scoring = jobs.locator("[data-testid=nbp-job][data-job='demo-05-batch-scoring']")
        scoring.wait_for(state="visible", timeout=60_000)
        assert not scoring.get_by_test_id("nbp-job-schedule").inner_text().startswith("manual")
        assert jobs.locator("[data-testid=nbp-job]").count() >= len(demo.STORY)
        scoring.scroll_into_view_if_needed()
        screenshot(page, "demo-jobs.png")
        assert page.dialogs == []


def test_the_approver_opens_a_requests_review(review_platform, seeded, page):
    platform = review_platform
    token = platform.create_user(demo.DEMO_USER, "data-scientist")
    r = platform.service(
        "POST",
        "api/promotions",
        token,
        json={"model": demo.MODEL, "version": "1", "alias": "champion", "note": "v1 again"},
    )
    assert r.status_code == 201, r.text
    asked = r.json()
    assert asked["review"]["run_id"], asked

    platform.spawn(ADMIN, "cpu-small")
    with lab_session(page, platform, ADMIN, demo.DEMO_USER, failure_shot="review-failure.png"):
        open_lab(page, platform, ADMIN, platform.admin_password)
        request = page.get_by_test_id("nbp-promotion-inbox").locator(
            f"[data-testid=nbp-promotion][data-promotion-id='{asked['id']}']"
        )
        request.wait_for(state="visible", timeout=60_000)
        review = request.get_by_test_id("nbp-promotion-review")
        expect(review).to_have_attribute("data-review-kind", "ok", timeout=300_000)
        assert review.get_by_test_id("nbp-promotion-review-text").inner_text() == (
            "Review succeeded."
        )
        screenshot(page, "models-panel-review.png")
        review.get_by_test_id("nbp-open-review").click()
        page.locator(".lm-TabBar-tab", has_text="promotion-review-").wait_for(
            state="visible", timeout=60_000
        )
        heading = page.locator(".jp-NotebookPanel .jp-RenderedMarkdown h1", has_text="Promotion")
        heading.first.wait_for(state="visible", timeout=60_000)
        assert page.dialogs == []
