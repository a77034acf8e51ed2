"""The Jobs panel in Debian's Chromium: Mine / All, refusals with their reason, run dots,
the next run, and "Show in Jobs" / "Open output" on a failure notice.

Against the real platform of the session ``platform`` fixture. Jobs are created
through the REST API; their past runs are written straight to the platform's
database (ended runs, and a queued one held back by ``not_before``, which the
scheduler leaves alone), so no kernel runs. Screenshots in the light and the
dark theme.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from jobs_helpers import add_run, jobs_engine, write_notebook
from playwright.sync_api import expect

from browser_support import lab_session, new_user, open_lab, requires_chromium, screenshot, unique

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.timeout(420),
    requires_chromium,
]


def dark_theme(page: Any) -> None:
    """Switch JupyterLab to its dark theme from the Settings menu."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Settings$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Theme$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^JupyterLab Dark$")).click()
    page.wait_for_function("document.body.dataset.jpThemeName === 'JupyterLab Dark'")
    page.wait_for_timeout(500)  # the theme's stylesheet applies


def create_job(platform: Any, token: str, name: str, **body: Any) -> dict:
    r = platform.service("POST", "api/jobs", token, json={"name": name, **body})
    assert r.status_code == 201, r.text
    return r.json()


def passed_its_test(platform: Any, engine: Any, token: str, job: dict) -> None:
    """Wait for the test that gates ``job``'s schedule to pass, then drop its run.

    The panel is shown a made-up run history (:func:`past_runs`) without it.
    """
    from nbplatform_jobs.schema import job_runs

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        got = platform.service("GET", f"api/jobs/{job['id']}", token).json()
        if got["active"]:
            break
        time.sleep(0.5)
    assert got["active"] and got["activation"]["state"] == "passed", got["activation"]
    with engine.begin() as conn:
        conn.execute(job_runs.delete().where(job_runs.c.job_id == job["id"]))


def naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


def past_runs(engine: Any, job: dict, statuses: list[str]) -> list[dict]:
    """Ended runs of ``job``, an hour apart, the last one an hour ago (oldest first)."""
    now = datetime.now(UTC)
    runs = []
    for i, status in enumerate(statuses):
        start = naive(now - timedelta(hours=len(statuses) - i))
        runs.append(
            add_run(
                engine,
                job,
                "schedule",
                status=status,
                created_at=start,
                started_at=start,
                ended_at=start + timedelta(seconds=42),
                failed_cell=2 if status == "failed" else None,
                error="ValueError: boom (failed in cell 2 of 5)" if status == "failed" else None,
            )
        )
    return runs


def fail_now(platform: Any, engine: Any, job: dict, cell: int) -> dict:
    """A run of ``job`` that failed just now at ``cell``, with an output notebook of 6 cells."""
    now = datetime.now(UTC)
    run = add_run(
        engine,
        job,
        "schedule",
        status="failed",
        started_at=naive(now - timedelta(seconds=5)),
        ended_at=naive(now),
        failed_cell=cell,
        error=f"ValueError: boom (failed in cell {cell + 1} of 6)",  # as the executor says
    )
    output = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": i + 1,
                "id": f"c{i}",
                "metadata": {},
                "outputs": [],
                "source": f"step_{i} = {i}",
            }
            for i in range(6)
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
    run_dir = platform.home / "jobs" / job["id"] / run["id"]
    for folder in (run_dir.parent.parent, run_dir.parent, run_dir):  # as closed as the service's
        folder.mkdir(mode=0o700, exist_ok=True)
    (run_dir / "output.ipynb").write_text(json.dumps(output), encoding="utf-8")
    return run


def test_jobs_panel_mine_all_refusals_dots_next_run_and_failure_notice(platform, page):
    me, password, token = new_user(platform, "jpa", "data-scientist")
    other, _, other_token = new_user(platform, "jpo", "data-scientist")
    for user in (me, other):
        write_notebook(platform.home / "users" / user / "t.ipynb")
    mine = create_job(platform, token, unique("nightly-"), notebook="t.ipynb", cron="0 3 * * *")
    theirs = create_job(platform, other_token, unique("theirs-"), notebook="t.ipynb")
    # A schedule whose notebook fails its test: it stays paused, saying why.
    write_notebook(platform.home / "users" / me / "broken.ipynb", body=["raise ValueError('no')"])
    gated = create_job(platform, token, unique("gated-"), notebook="broken.ipynb", cron="0 4 * * *")
    engine = jobs_engine(platform.home)
    try:
        passed_its_test(platform, engine, token, mine)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            activation = platform.service("GET", f"api/jobs/{gated['id']}", token).json()[
                "activation"
            ]
            if activation["state"] != "testing":
                break
            time.sleep(0.5)
        assert activation["state"] == "failed", activation
        assert "ValueError: no (failed in cell 2 of 2)" in activation["reason"], activation
        past_runs(engine, mine, ["succeeded", "failed", "succeeded", "timed-out"])
        later = naive(datetime.now(UTC) + timedelta(days=30))
        add_run(engine, mine, "manual", not_before=later)  # stays queued
        past_runs(engine, theirs, ["succeeded"])

        # What the panel decides from: the server's permissions of each job.
        r = platform.service("GET", "api/jobs", token, params={"max_results": 1000})
        by_id = {j["id"]: j for j in r.json()["jobs"]}
        assert by_id[mine["id"]]["permissions"]["run"] is True
        reason = f"Only {other} or a platform admin can change this job."
        assert by_id[theirs["id"]]["permissions"]["reason"] == reason

        platform.spawn(me, "cpu-small")
        with lab_session(page, platform, me, failure_shot="jobs-panel-failure.png"):
            open_lab(page, platform, me, password)
            section = page.get_by_test_id("nbp-section-jobs")
            job_item = section.locator(f"[data-testid=nbp-job][data-job-id='{mine['id']}']")
            their_item = section.locator(f"[data-testid=nbp-job][data-job-id='{theirs['id']}']")

            # Mine by default: only the user's jobs.
            expect(section.get_by_test_id("nbp-jobs-filter-mine")).to_have_attribute(
                "aria-pressed", "true"
            )
            job_item.wait_for(state="visible", timeout=30_000)
            assert their_item.count() == 0
            assert (
                section.locator("[data-testid=nbp-job]").evaluate_all(
                    "items => items.map(i => i.dataset.owner)"
                )
                == [me] * section.locator("[data-testid=nbp-job]").count()
            )

            # Dots, oldest first, each labelled; the last run's duration; the next run.
            dots = job_item.get_by_test_id("nbp-job-dot")
            expect(dots).to_have_count(5)
            kinds = dots.evaluate_all("ds => ds.map(d => d.dataset.kind)")
            assert kinds == ["success", "failed", "success", "failed", "queued"]
            labels = dots.evaluate_all("ds => ds.map(d => d.getAttribute('aria-label'))")
            assert labels[1].endswith(": failed, 42 s — ValueError: boom (failed in cell 2 of 5)")
            assert labels[4].endswith(": queued"), labels
            assert all(
                d == label
                for d, label in zip(
                    dots.evaluate_all("ds => ds.map(d => d.title)"), labels, strict=True
                )
            )
            assert job_item.get_by_test_id("nbp-job-last-duration").inner_text() == "last queued"
            next_run = job_item.get_by_test_id("nbp-job-next")
            assert re.fullmatch(r"next in (\d+ (s|min|h))", next_run.inner_text()), (
                next_run.inner_text()
            )
            assert next_run.get_attribute("title").startswith("Next run: ")
            when = next_run.get_attribute("data-next-run-at")
            fire = datetime.fromisoformat(when.replace("Z", "+00:00"))
            assert (fire.hour, fire.minute) == (3, 0)
            # Own job: its actions are offered, with no refusal.
            assert job_item.get_by_test_id("nbp-job-run").is_enabled()
            assert job_item.get_by_test_id("nbp-job-denied").count() == 0
            gated_item = section.locator(f"[data-testid=nbp-job][data-job-id='{gated['id']}']")
            note = gated_item.get_by_test_id("nbp-job-activation")
            expect(note).to_have_attribute("data-state", "failed")
            assert note.inner_text() == activation["reason"]
            expect(gated_item.get_by_test_id("nbp-job-paused")).to_be_visible()
            expect(gated_item.get_by_test_id("nbp-job-resume")).to_be_enabled()
            screenshot(page, "jobs-panel-mine-light.png")

            # All: the other user's job too, its actions disabled with the reason.
            section.get_by_test_id("nbp-jobs-filter-all").click()
            expect(section.get_by_test_id("nbp-jobs-filter-all")).to_have_attribute(
                "aria-pressed", "true"
            )
            their_item.wait_for(state="visible", timeout=30_000)
            assert job_item.is_visible()
            for action in ("nbp-job-run", "nbp-job-pause", "nbp-job-delete"):
                button = their_item.get_by_test_id(action)
                expect(button).to_be_disabled()
                assert button.get_attribute("title") == reason
            assert their_item.get_by_test_id("nbp-job-denied").inner_text() == reason
            assert other in their_item.get_by_test_id("nbp-job-owner").inner_text()
            expect(their_item.get_by_test_id("nbp-job-dot")).to_have_count(1)
            # Its outputs are private: the run's Output, HTML and Log are disabled, saying why.
            their_item.get_by_test_id("nbp-job-toggle").click()
            their_run = their_item.locator("[data-testid=nbp-run]").first
            their_run.wait_for(state="visible")
            expect(their_run.get_by_test_id("nbp-run-log")).to_be_disabled()
            assert "private to its owner" in their_run.get_by_test_id("nbp-run-log").get_attribute(
                "title"
            )
            screenshot(page, "jobs-panel-all-light.png")

            dark_theme(page)
            screenshot(page, "jobs-panel-all-dark.png")
            section.get_by_test_id("nbp-jobs-filter-mine").click()
            expect(their_item).to_have_count(0)
            screenshot(page, "jobs-panel-mine-dark.png")

            # A run fails now: its notice shows it in the panel (expanded, scrolled to,
            # highlighted); another one's notice opens its output at the failing cell.
            failed = fail_now(platform, engine, mine, cell=2)
            toast = page.locator(".Toastify__toast", has_text="(failed in cell 3 of 6)")
            toast.wait_for(state="visible", timeout=40_000)
            toast.get_by_role("button", name="Show in Jobs").click()
            shown = section.locator(f"[data-testid=nbp-run][data-run-id='{failed['id']}']")
            shown.wait_for(state="visible", timeout=30_000)
            expect(shown).to_have_attribute("data-highlighted", "true")
            expect(shown).to_be_in_viewport()
            screenshot(page, "jobs-panel-shown-run-dark.png")

            fail_now(platform, engine, mine, cell=3)
            toast = page.locator(".Toastify__toast", has_text="(failed in cell 4 of 6)")
            toast.wait_for(state="visible", timeout=40_000)
            toast.get_by_role("button", name="Open output at the failing cell").click()
            cell = page.locator(".jp-NotebookPanel:visible .jp-Cell[data-nbp-failed-cell=true]")
            cell.wait_for(state="visible", timeout=30_000)
            expect(cell).to_have_class(re.compile(r"jp-mod-active"))
            assert "step_3 = 3" in cell.inner_text()
            expect(cell).to_be_in_viewport()
            screenshot(page, "jobs-panel-output-at-failed-cell-dark.png")
            assert page.dialogs == []
    finally:
        engine.dispose()
