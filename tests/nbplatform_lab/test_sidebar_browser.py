"""The Platform sidebar in the real JupyterLab, driven in Debian's Chromium."""

from __future__ import annotations

import pytest

from browser_support import launch_chromium, requires_chromium

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    requires_chromium,
]


@pytest.fixture(scope="module")
def page(unconfigured_server):
    with launch_chromium() as browser:
        page = browser.new_page()
        page.goto(f"{unconfigured_server.url}/lab?token={unconfigured_server.token}")
        page.wait_for_selector("#nbplatform-sidebar", state="attached", timeout=60_000)
        yield page


def _open_sidebar(page):
    if not page.get_by_test_id("nbp-sidebar").is_visible():
        page.click("li[data-id='nbplatform-sidebar']")
    page.get_by_test_id("nbp-sidebar").wait_for(state="visible")


def test_sidebar_shows_the_servers_error_message(page):
    _open_sidebar(page)
    error = page.get_by_test_id("nbp-error")
    error.wait_for(state="visible", timeout=30_000)
    assert "not started by the platform hub" in error.inner_text()
    assert page.get_by_test_id("nbp-user").count() == 0


def test_sidebar_has_the_four_sections(page):
    _open_sidebar(page)
    for section in ("models", "features", "drift", "jobs"):
        assert page.get_by_test_id(f"nbp-section-{section}").is_visible()
