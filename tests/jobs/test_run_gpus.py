"""Job runs' GPUs: taken from the shared leases, put back in the queue, pruned."""

from __future__ import annotations

import logging
import os

from jobs_helpers import add_job, add_run

from nbplatform_hub.gpus import GpuAllocator, lease_file
from nbplatform_jobs import store
from nbplatform_jobs.run_gpus import RunGpus


def gpus(home, engine, monkeypatch, devices="0") -> tuple[RunGpus, GpuAllocator]:
    """The scheduler's run GPUs and the hub's allocator, on pretend devices."""
    monkeypatch.setenv("NBP_GPUS", devices)
    run_gpus = RunGpus.for_backend("local", home, engine, os.getpid())
    assert run_gpus is not None
    return run_gpus, GpuAllocator(devices.split(","), leases=lease_file(home))


def test_a_cluster_backends_runs_take_no_gpus_of_this_machine(home, engine):
    assert RunGpus.for_backend("dask-kubernetes", home, engine, os.getpid()) is None


def test_a_cpu_run_takes_nothing_and_a_gpu_run_the_free_device(home, engine, monkeypatch):
    run_gpus, hub = gpus(home, engine, monkeypatch)
    cpu = add_job(engine, name="cpu", profile="cpu")
    gpu = add_job(engine, name="gpu", profile="gpu")
    cpu_run = add_run(engine, cpu, status="running", pid=os.getpid())
    gpu_run = add_run(engine, gpu, status="running", pid=os.getpid())
    assert run_gpus.take(cpu, cpu_run) == (True, [])
    assert run_gpus.take(gpu, gpu_run) == (True, ["0"])
    assert hub.holdings() == {RunGpus.owner(gpu_run["id"]): ["0"]}
    run_gpus.release(gpu_run["id"])
    assert hub.holdings() == {}


def test_a_run_finding_no_free_gpu_goes_back_to_the_queue_logged_once(
    home, engine, monkeypatch, caplog
):
    run_gpus, hub = gpus(home, engine, monkeypatch)
    hub.allocate("alice/", 1)  # a GPU server holds the only device
    job = add_job(engine, profile="gpu")
    run = add_run(engine, job, status="running", pid=os.getpid())
    caplog.set_level(logging.INFO, logger="nbplatform.jobs")
    assert not run_gpus.free_for(run["id"], "gpu")
    assert run_gpus.take(job, run) == (False, [])
    with engine.connect() as conn:
        back = store.get_run(conn, run["id"])
    assert (back["status"], back["pid"], back["started_at"]) == ("queued", None, None)
    waits = [r for r in caplog.records if "waits for a GPU" in r.getMessage()]
    assert len(waits) == 1 and "alice" in waits[0].getMessage()
    hub.release("alice/")
    assert run_gpus.free_for(run["id"], "gpu")


def test_prune_gives_back_the_gpus_of_runs_that_no_longer_run(home, engine, monkeypatch):
    run_gpus, hub = gpus(home, engine, monkeypatch, devices="0,1")
    assert hub.allocate("bob/", 1) == ["0"]  # a server's lease is never the scheduler's
    job = add_job(engine, profile="gpu")
    run = add_run(engine, job, status="running", pid=os.getpid())
    assert run_gpus.take(job, run) == (True, ["1"])
    run_gpus.prune()
    assert hub.holdings() == {"bob/": ["0"], RunGpus.owner(run["id"]): ["1"]}  # running: kept
    with engine.begin() as conn:
        store.update_run(conn, run["id"], status="failed")  # settled by another replica
    run_gpus.prune()
    assert hub.holdings() == {"bob/": ["0"]}
