"""``nbp`` objects shown as tables in JupyterLab, in Debian's Chromium.

A data scientist runs ``nbp.me()`` and ``nbp.jobs.list_jobs()`` in a notebook on a
platform kernel: JupyterLab renders their HTML representations as tables (their
escaping is tested in ``tests/lib/test_display.py``).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

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

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.timeout(600),
    requires_chromium,
]


def test_me_and_jobs_render_as_tables_in_jupyterlab(platform, page):
    ds, password, token = new_user(platform, "rich", "data-scientist")
    platform.spawn(ds, "cpu-small")
    put_notebook(platform, ds, token, "t.ipynb", notebook([]))
    job = unique("rich-job-")
    r = platform.service("POST", "api/jobs", token, json={"name": job, "notebook": "t.ipynb"})
    assert r.status_code == 201, r.text
    cells = [("import nbplatform as nbp\nnbp.me()", []), ("nbp.jobs.list_jobs()", [])]
    put_notebook(platform, ds, token, "rich.ipynb", notebook(cells))

    with lab_session(page, platform, ds, failure_shot="rich-output-failure.png"):
        open_lab(page, platform, ds, password, path="rich.ipynb")
        panel = page.locator(".jp-NotebookPanel:visible")
        panel.locator(".jp-Cell").first.wait_for(state="visible", timeout=60_000)
        status = page.locator(".jp-StatusBar-Widget", has_text="Python 3 (nbplatform, CPU) | Idle")
        status.first.wait_for(state="visible", timeout=90_000)
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        select = page.locator(".jp-Dialog .jp-mod-accept", has_text="Select")
        try:  # JupyterLab may still ask which kernel, if its session came late
            select.wait_for(state="visible", timeout=3_000)
            select.click()
        except PlaywrightTimeoutError:
            pass
        tables = panel.locator(".jp-OutputArea-output table.nbp-table")
        expect(tables).to_have_count(2, timeout=90_000)
        me = tables.nth(0).inner_text()
        assert ds in me and "data-scientist" in me, me
        jobs = tables.nth(1).inner_text()
        assert job in jobs and "t.ipynb" in jobs and "manual" in jobs, jobs
        screenshot(page, "rich-output.png")
        assert page.dialogs == []
