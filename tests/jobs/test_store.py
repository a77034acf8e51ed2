"""Definitions and runs in the database: migrations, paging, one run per scheduled time."""

from __future__ import annotations

from datetime import datetime

import pytest
from jobs_helpers import job_row

from nbplatform.errors import ConflictError, InvalidParameterError, NotFoundError
from nbplatform_jobs import store
from nbplatform_jobs.db import current_revision, upgrade


def job_values(name: str, owner: str = "alice") -> dict:
    return job_row(name=name, owner=owner, parameters={"x": 1})


def test_own_revision_chain_next_to_the_platforms(engine, tmp_path):
    from alembic.script import ScriptDirectory

    from nbplatform_hub.service.db import current_revision as platform_revision
    from nbplatform_jobs.db import MIGRATIONS

    assert current_revision(engine) == ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert current_revision(engine).startswith("j")
    assert platform_revision(engine) is not None
    upgrade(engine, tmp_path)  # idempotent


def test_names_are_unique_per_owner_and_pages_follow(engine):
    with engine.begin() as conn:
        for i in range(5):
            store.insert_job(conn, job_values(f"j{i}"))
        store.insert_job(conn, job_values("j0", owner="bob"))
        with pytest.raises(ConflictError, match="already has a job named 'j0'"):
            store.insert_job(conn, job_values("j0"))
        page, token = store.list_jobs(conn, "alice", max_results=2)
        names = [j["name"] for j in page]
        while token:
            page, token = store.list_jobs(conn, "alice", max_results=2, page_token=token)
            names += [j["name"] for j in page]
    assert names == [f"j{i}" for i in range(5)]
    with pytest.raises(InvalidParameterError, match="page_token"):
        store.decode_page_token("garbage")


def test_a_scheduled_time_is_queued_once(engine):
    when = datetime(2026, 1, 1, 3, 0)
    with engine.begin() as conn:
        job = store.insert_job(conn, job_values("sched"))
        first = store.insert_run(conn, job, "schedule", scheduled_for=when)
        assert first is not None
        assert store.insert_run(conn, job, "schedule", scheduled_for=when) is None
        retry = store.insert_run(conn, job, "retry", scheduled_for=when, attempt=2)
        assert retry is not None and retry["attempt"] == 2
        assert store.insert_run(conn, job, "manual") and store.insert_run(conn, job, "manual")
        runs, _ = store.list_runs(conn, job_id=job["id"])
    assert len(runs) == 4


def test_update_bumps_the_revision_and_delete_removes_runs(engine):
    with engine.begin() as conn:
        job = store.insert_job(conn, job_values("rev"))
        run = store.insert_run(conn, job, "manual")
        changed = store.update_job(conn, job["id"], {"active": False})
        assert changed["revision"] == 2 and changed["active"] is False
        model = store.job_model(changed, datetime(2026, 1, 1))
        assert model["next_run_at"] is None and model["schedule"]["kind"] == "manual"
        store.delete_job(conn, job["id"])
        with pytest.raises(NotFoundError):
            store.get_run(conn, run["id"])
