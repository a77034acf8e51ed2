"""Fixtures of the browser tests: one Chromium per module, a fresh context per test.

Imported by the conftest of each folder that holds browser tests (``tests/browser``,
``tests/integration``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from browser_support import launch_chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for the module."""
    with launch_chromium() as chromium:
        yield chromium


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) per test; browser dialogs are recorded.

    ``page.dialogs`` lists every alert, confirm or prompt (none may ever fire);
    leaving JupyterLab at the end of a test (``beforeunload``) is accepted.
    """
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.dialogs = []

    def on_dialog(dialog: Any) -> None:
        if dialog.type == "beforeunload":
            dialog.accept()
            return
        page.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    try:
        yield page
    finally:
        context.close()
