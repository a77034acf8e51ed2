"""The whole path a user takes, in Debian's Chromium: sign-up, login, spawn page, JupyterLab.

Runs against the real platform of the session ``platform`` fixture (``nbplatform up``
on loopback ports) and drives the hub's own pages and the real JupyterLab with its
Platform sidebar.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from browser_support import ARTIFACTS, login, requires_chromium
from platform_harness import authorize, signup

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.timeout(150),
    requires_chromium,
]


def _spawn_profiles(page: Any, url: str) -> list[str]:
    page.goto(f"{url}/hub/spawn")
    page.wait_for_selector("label.nbp-profile")
    return [el.get_attribute("data-profile") for el in page.query_selector_all("label.nbp-profile")]


def test_data_scientist_spawns_cpu_large_and_sees_the_sidebar(platform, page):
    name, password = "brenda", "brenda-Long-passw0rd!"

    # Sign-up in the browser; the admin then authorizes the new account.
    page.goto(f"{platform.url}/hub/signup")
    page.fill("input[name=username]", name)
    page.fill("input[name=signup_password]", password)
    page.fill("input[name=signup_password_confirmation]", password)
    page.click("form [type=submit]")
    page.wait_for_load_state()
    assert "admin" in page.locator(".alert").inner_text()  # waits for the admin
    authorize(platform, name)

    login(page, platform.url, name, password)

    # The spawn page offers the data-scientist profiles; pick cpu-large.
    assert _spawn_profiles(page, platform.url) == ["cpu-small", "cpu-large", "gpu"]
    page.check("label.nbp-profile[data-profile=cpu-large] input[name=profile]")
    try:
        page.click("#spawn_form [type=submit]")
        page.wait_for_url(re.compile(rf"/user/{name}/lab"), timeout=60_000)
        page.wait_for_selector("#jp-main-dock-panel", timeout=60_000)
        page.wait_for_selector(".jp-Launcher", timeout=60_000)

        # Open the Platform panel from its tab in the left side bar.
        sidebar = page.get_by_test_id("nbp-sidebar")
        if not sidebar.is_visible():
            page.click("li[data-id=nbplatform-sidebar]")
        sidebar.wait_for(state="visible")

        user = page.get_by_test_id("nbp-user")
        user.wait_for(state="visible", timeout=30_000)
        assert user.inner_text().strip() == name
        roles = [r.strip() for r in page.get_by_test_id("nbp-role").all_inner_texts()]
        assert roles == ["data-scientist"]
        server_line = page.get_by_test_id("nbp-server").inner_text()
        assert "cpu-large" in server_line, server_line
        for section in ("models", "features", "drift", "jobs"):
            assert page.get_by_test_id(f"nbp-section-{section}").is_visible(), section

        ARTIFACTS.mkdir(exist_ok=True)
        shot: Path = ARTIFACTS / "platform-sidebar.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 0
    finally:
        page.goto("about:blank")
        model = platform.hub_api("GET", f"users/{name}").json()
        if "" in model.get("servers", {}):
            platform.stop_server(name)


def test_viewer_sees_only_cpu_small_on_the_spawn_page(platform, page):
    name, password = "viktor", "viktor-Long-passw0rd!"
    signup(platform, name, password)
    authorize(platform, name)
    platform.create_user(name, group="viewer")

    login(page, platform.url, name, password)
    assert _spawn_profiles(page, platform.url) == ["cpu-small"]
    assert page.is_checked("label.nbp-profile[data-profile=cpu-small] input[name=profile]")
