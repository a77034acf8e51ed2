"""``api/jobs/<id>/runs`` and ``api/runs/<id>/rerun`` from a run's own token: chains may not loop.

The shipped service with the jobs capability (a stand-in hub: see
tests/drift/drift_support.py). A run's token is a token whose id is the run's
``token_id``, as the scheduler records it when it mints one.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
from jobs_helpers import add_job, add_run, openapi_schema, write_notebook

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "drift"))

from drift_support import DATA_SCIENTIST, Service, start_service  # noqa: E402

from nbplatform_jobs.api.common import MAX_RUN_CHAIN  # noqa: E402


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The platform service with the jobs capability only."""
    for running in start_service(tmp_path_factory, ("jobs",)):
        write_notebook(running.home / "users" / "alice" / "t.ipynb")
        yield running


def running_run(service: Service, job: dict, parent: str | None = None) -> tuple[dict, str]:
    """A running run of ``job`` (started by ``parent``) and its token."""
    token_id = f"run-token-{uuid.uuid4().hex}"
    run = add_run(service.engine, job, status="running", parent_run_id=parent, token_id=token_id)
    return run, service.token("alice", DATA_SCIENTIST, token_id=token_id)


def start(service: Service, job: dict, token: str):
    return service.call("POST", f"api/jobs/{job['id']}/runs", token, json={})


def test_a_run_starting_another_job_is_its_parent(service):
    drift, train = (add_job(service.engine, name=n) for n in ("drift-check", "train"))
    run, token = running_run(service, drift)
    r = start(service, train, token)
    assert r.status_code == 201, r.text
    jsonschema.validate(r.json(), openapi_schema("Run"))
    assert r.json()["parent_run_id"] == run["id"]
    # From a kernel (a token of no run), the same request has no parent.
    r = start(service, train, service.token("alice", DATA_SCIENTIST))
    assert r.status_code == 201, r.text
    assert r.json()["parent_run_id"] is None


def test_a_run_may_not_start_its_own_job(service):
    job = add_job(service.engine, name="self-starter")
    run, token = running_run(service, job)
    r = start(service, job, token)
    assert r.status_code == 409, r.text
    assert f"run {run['id']} of job {job['id']}" in r.json()["message"]
    rerun = service.call("POST", f"api/runs/{run['id']}/rerun", token)
    assert rerun.status_code == 409, rerun.text


def test_two_jobs_may_not_start_each_other_in_a_loop(service):
    a, b = (add_job(service.engine, name=n) for n in ("ping", "pong"))
    first, _ = running_run(service, a)
    second, token = running_run(service, b, parent=first["id"])
    r = start(service, a, token)
    assert r.status_code == 409, r.text
    message = r.json()["message"]
    assert f"run {second['id']} of job {b['id']} <- run {first['id']} of job {a['id']}" in message


def test_a_chain_stops_at_its_longest(service):
    jobs = [add_job(service.engine, name=f"step-{i}") for i in range(MAX_RUN_CHAIN + 1)]
    parent = None
    for job in jobs[: MAX_RUN_CHAIN - 1]:
        run, token = running_run(service, job, parent)
        parent = run["id"]
    r = start(service, jobs[MAX_RUN_CHAIN - 1], token)
    assert r.status_code == 201, r.text  # the chain's last allowed run
    run, token = running_run(service, jobs[MAX_RUN_CHAIN - 1], parent)
    r = start(service, jobs[MAX_RUN_CHAIN], token)
    assert r.status_code == 409, r.text
    assert f"at most {MAX_RUN_CHAIN}" in r.json()["message"]
