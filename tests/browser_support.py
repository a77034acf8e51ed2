"""Debian's Chromium for the browser tests (never one downloaded by ``playwright install``)."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import sync_playwright

from platform_harness import REPO, authorize, signup

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = REPO / "test-artifacts"
#: Flags for a headless Chromium on a closed network, run as root.
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
#: `make test` installs chromium; without it (a bare `pytest` run) the browser tests say why.
requires_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it)"
)


@contextmanager
def launch_chromium() -> Iterator[Any]:
    """Start Debian's Chromium with Playwright; close it afterwards."""
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def login(page: Any, url: str, name: str, password: str) -> None:
    """Log in through the hub's login form."""
    page.goto(f"{url}/hub/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("form [type=submit]")
    page.wait_for_load_state()
    assert "/hub/login" not in page.url, f"login of {name} was refused: {page.url}"


def unique(prefix: str) -> str:
    """``prefix`` and six random hex digits: a name no other test uses."""
    return f"{prefix}{uuid.uuid4().hex[:6]}"


def new_user(platform: Any, prefix: str, group: str) -> tuple[str, str, str]:
    """Sign up, authorize and put a new user in ``group``; return name, password, token."""
    name, password = unique(prefix), f"{prefix}-Long-passw0rd!"
    signup(platform, name, password)
    authorize(platform, name)
    token = platform.create_user(name, group=group)
    return name, password, token


def open_lab(page: Any, platform: Any, name: str, password: str, path: str = "") -> None:
    """Log in through the hub's form and open JupyterLab (at ``path``) with the sidebar."""
    login(page, platform.url, name, password)
    page.goto(f"{platform.url}/user/{name}/lab/{'tree/' + path if path else ''}")
    page.wait_for_selector("#jp-main-dock-panel", timeout=60_000)
    sidebar = page.get_by_test_id("nbp-sidebar")
    # JupyterLab restores the user's last layout a moment after the dock panel shows: a
    # click on the sidebar's tab before that may be undone (or undo it), so wait first,
    # and click again while it stays closed.
    for _ in range(3):
        try:
            sidebar.wait_for(state="visible", timeout=5_000)
            break
        except PlaywrightTimeoutError:
            page.click("li[data-id=nbplatform-sidebar]")
    sidebar.wait_for(state="visible")
    page.get_by_test_id("nbp-user").wait_for(state="visible")


def screenshot(page: Any, name: str) -> None:
    """A full-page screenshot of ``page`` as ``test-artifacts/<name>``."""
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / name
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0


@contextmanager
def lab_session(
    page: Any, platform: Any, *users: str, failure_shot: str | None = None
) -> Iterator[None]:
    """Around a test's steps in JupyterLab: on an error, a screenshot ``failure_shot``
    (when given); at the end, leave JupyterLab and stop the servers of ``users``."""
    try:
        yield
    except Exception:
        if failure_shot:
            screenshot(page, failure_shot)
        raise
    finally:
        page.goto("about:blank")
        for user in users:
            platform.stop_server(user)


_EFFECTIVE_COLOURS = """
el => {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 1;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  const pixel = () => Array.from(ctx.getImageData(0, 0, 1, 1).data.slice(0, 3));
  const layers = [];
  for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
    layers.push(getComputedStyle(node).backgroundColor);
  }
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, 1, 1);
  for (const colour of layers.reverse()) {
    ctx.fillStyle = colour;
    ctx.fillRect(0, 0, 1, 1);
  }
  const background = pixel();
  ctx.fillStyle = getComputedStyle(el).color;
  ctx.fillRect(0, 0, 1, 1);
  return [pixel(), background];
}
"""


def contrast_ratio(locator: Any) -> float:
    """The WCAG contrast ratio of an element's text against what shows behind it.

    The backgrounds of the element and its ancestors are painted in order onto a
    canvas (so translucent ones mix as on screen), then the text colour over them.
    """
    text, background = locator.evaluate(_EFFECTIVE_COLOURS)

    def luminance(rgb: list[int]) -> float:
        def channel(c: int) -> float:
            s = c / 255
            return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

        r, g, b = (channel(c) for c in rgb)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    light, dark = sorted((luminance(text), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def notebook(cells: list[tuple[str, list[str]]]) -> dict[str, Any]:
    """A notebook of code cells ``(source, tags)`` on the platform's CPU kernel."""
    """An nbformat 4 notebook of code cells ``(source, tags)``."""
    return {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "metadata": {"tags": tags} if tags else {},
                "outputs": [],
                "source": source,
            }
            for source, tags in cells
        ],
        "metadata": {
            "kernelspec": {
                "name": "nbplatform-cpu",
                "display_name": "Python 3 (nbplatform, CPU)",
                "language": "python",
            }
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def put_notebook(platform: Any, user: str, token: str, path: str, nb: dict[str, Any]) -> None:
    """Save ``nb`` at ``path`` in ``user``'s workspace through their server."""
    r = platform.server(
        user, "PUT", f"api/contents/{path}", token, json={"type": "notebook", "content": nb}
    )
    assert r.status_code in (200, 201), r.text
