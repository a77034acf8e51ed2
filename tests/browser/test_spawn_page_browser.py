"""The spawn page says why the GPU profile cannot start now, in Debian's Chromium.

The session platform pretends two GPUs (``NBP_GPUS=0,1``); two data scientists'
servers on the ``gpu`` profile hold both, so a third sees the profile disabled,
with who holds them and when to try again.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from browser_support import login, new_user, requires_chromium, screenshot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.timeout(600),
    requires_chromium,
]


def test_the_spawn_page_says_who_holds_the_gpus(platform, page):
    holders = [new_user(platform, "gph", "data-scientist")[0] for _ in range(2)]
    me, password, _ = new_user(platform, "gpw", "data-scientist")
    started = []
    try:
        for holder in holders:
            platform.spawn(holder, "gpu")
            started.append(holder)
        login(page, platform.url, me, password)
        page.goto(f"{platform.url}/hub/spawn")
        gpu = page.locator("label.nbp-profile[data-profile=gpu]")
        reason = gpu.locator(".nbp-unavailable")
        expect(reason).to_contain_text("Unavailable: No free GPU: all 2 GPUs are in use (by ")
        assert all(holder in reason.inner_text() for holder in holders), reason.inner_text()
        assert "Try again when one of their servers stops, or pick a CPU profile." in (
            reason.inner_text()
        )
        expect(gpu.locator("input[name=profile]")).to_be_disabled()
        expect(
            page.locator("label.nbp-profile[data-profile=cpu-small] input[name=profile]")
        ).to_be_enabled()
        screenshot(page, "spawn-gpu-unavailable.png")
    finally:
        for holder in started:
            platform.stop_server(holder)
