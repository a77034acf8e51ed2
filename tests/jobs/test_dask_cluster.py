"""The dask-kubernetes backend's cluster as rendered, and jobs on a separate-process Dask cluster.

The ``DaskCluster`` and its ``DaskWorkerGroup``\\ s are checked against the Dask
operator's CRD schema (Kubernetes types against Kubernetes' strict schemas); no
Kubernetes cluster is needed. The runs go to a real ``distributed`` cluster of
separate ``dask scheduler`` and ``dask worker`` processes started here, whose
environment holds nothing of the platform: the run folders are all they share.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jobs_helpers import add_job, write_ledger_notebook

from k8s_schemas import dask_errors, kubernetes_errors
from nbplatform.errors import ConfigurationError
from nbplatform_hub import host
from nbplatform_jobs import dask_cluster, runfiles, store
from nbplatform_jobs.backends import DaskBackend, LocalBackend
from nbplatform_jobs.scheduler import Scheduler
from nbplatform_jobs.settings import JobsSettings

K8S = {
    "NBP_JOBS_BACKEND": "dask-kubernetes",
    "NBP_JOBS_DASK_IMAGE": "registry.example/nbplatform-user-cpu:1.0",
    "NBP_JOBS_DASK_VOLUME": "nbp-home",
    "NBP_JOBS_DASK_PLATFORM_URL": "http://hub:8081/services/platform",
    "NBP_JOBS_DASK_NAMESPACE": "nbp",
    "NBP_HOME": "/srv/nbp",
}


def test_the_kubernetes_backend_needs_its_image_volume_and_in_cluster_url():
    with pytest.raises(ConfigurationError, match="NBP_JOBS_DASK_IMAGE.*NBP_JOBS_DASK_VOLUME"):
        JobsSettings.from_env({"NBP_JOBS_BACKEND": "dask-kubernetes", "NBP_HOME": "/srv/nbp"})
    settings = JobsSettings.from_env(K8S)
    assert settings.dask_platform_url == "http://hub:8081/services/platform/"


def test_the_rendered_cluster_is_valid_and_has_one_worker_group_per_profile():
    settings = JobsSettings.from_env(K8S)
    cluster = dask_cluster.cluster_spec(settings)
    assert dask_errors("DaskCluster", cluster) == []
    assert cluster["metadata"] == {"name": "nbplatform-jobs", "namespace": "nbp"}
    assert cluster["spec"]["worker"]["replicas"] == 0
    scheduler = cluster["spec"]["scheduler"]["spec"]["containers"][0]
    assert scheduler["image"] == K8S["NBP_JOBS_DASK_IMAGE"]

    profiles = host.load_platform_profiles()
    groups = dask_cluster.worker_groups(settings, profiles, replicas=2)
    assert [g["metadata"]["name"] for g in groups] == [
        f"nbplatform-jobs-{p.slug}" for p in profiles
    ]
    for group, profile in zip(groups, profiles, strict=True):
        assert dask_errors("DaskWorkerGroup", group) == []
        pod = group["spec"]["worker"]["spec"]
        assert kubernetes_errors("podspec-v1", pod) == []
        assert group["spec"]["cluster"] == "nbplatform-jobs"
        assert group["spec"]["worker"]["replicas"] == 2
        (worker,) = pod["containers"]
        assert worker["image"] == K8S["NBP_JOBS_DASK_IMAGE"]
        args = " ".join(worker["args"])
        assert f"--resources nbp-{profile.slug}=1" in args and "--nthreads 1" in args
        limits = worker["resources"]["limits"]
        assert limits["memory"] == str(profile.mem_limit_bytes)
        assert float(limits["cpu"].removesuffix("m")) > 0
        # NBP_HOME (the run folders) at the same path as the scheduler's
        assert worker["volumeMounts"] == [{"name": "nbp-home", "mountPath": "/srv/nbp"}]
        assert pod["volumes"][0]["persistentVolumeClaim"] == {"claimName": "nbp-home"}
        env = {e["name"]: e["value"] for e in worker["env"]}
        if profile.gpus:
            assert limits["nvidia.com/gpu"] == profile.gpus
            assert pod["tolerations"][0]["key"] == "nvidia.com/gpu"
            assert "NVIDIA_VISIBLE_DEVICES" not in env
        else:
            assert "nvidia.com/gpu" not in limits and env["NVIDIA_VISIBLE_DEVICES"] == "none"
    assert any(p.gpus for p in profiles)  # the shipped profiles include a GPU one


def test_runs_on_kubernetes_reach_the_platform_in_cluster(home, engine):
    settings = JobsSettings(
        home=home, backend="dask-kubernetes", dask_platform_url="http://hub:8081/x/"
    )
    backend = LocalBackend(1)
    try:
        scheduler = Scheduler(settings, engine, backend, "", "", "http://127.0.0.1:9/")
        assert scheduler.runs_url == "http://hub:8081/x/"
        assert Scheduler(
            JobsSettings(home=home), engine, backend, "", "", "http://l/"
        ).runs_url == ("http://l/")
    finally:
        backend.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def separate_cluster(tmp_path):
    """A ``dask scheduler`` and three ``dask worker`` processes, none with platform settings."""
    dask = str(Path(sys.executable).parent / "dask")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NBP_", "JUPYTERHUB_"))}
    env["DASK_DISTRIBUTED__WORKER__DAEMON"] = "False"
    address = f"tcp://127.0.0.1:{_free_port()}"
    logs = tmp_path / "dask-logs"
    logs.mkdir()
    files = contextlib.ExitStack()

    def log(name: str):
        return files.enter_context(open(logs / name, "w"))  # noqa: SIM115

    procs = [
        subprocess.Popen(
            [
                dask,
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                address.rsplit(":", 1)[1],
                "--no-dashboard",
            ],
            env=env,
            stdout=log("scheduler.log"),
            stderr=subprocess.STDOUT,
        )
    ]
    for i in range(3):
        procs.append(
            subprocess.Popen(
                [
                    dask,
                    "worker",
                    address,
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                    "--resources",
                    "nbp-cpu-small=1",
                    "--name",
                    f"w{i}",
                ],
                env=env,
                stdout=log(f"worker{i}.log"),
                stderr=subprocess.STDOUT,
            )
        )
    from distributed import Client

    client = Client(address, timeout=60)
    try:
        client.wait_for_workers(3, timeout=90)
        pids = set(client.run(os.getpid).values())
    finally:
        client.close()
    yield address, pids
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
    files.close()


@pytest.mark.timeout(300)
def test_jobs_run_on_separate_dask_worker_processes_sharing_only_run_folders(
    home, engine, separate_cluster, monkeypatch
):
    monkeypatch.setattr(runfiles, "mint_token", lambda *a, **k: "not-a-real-token")
    address, worker_pids = separate_cluster
    ledger = home / "ledger"
    ledger.mkdir()
    write_ledger_notebook(home / "users" / "alice" / "ledger.ipynb")
    backend = DaskBackend(address=address)
    scheduler = Scheduler(
        JobsSettings(home=home, backend="dask", concurrency=3),
        engine,
        backend,
        "",
        "",
        "http://127.0.0.1:9/",
    )
    job = add_job(
        engine,
        notebook="ledger.ipynb",
        parameters={"ledger": str(ledger), "sleep": 1.0},
        max_concurrent_runs=3,
    )
    with engine.begin() as conn:
        runs = [store.insert_run(conn, job, "manual")["id"] for _ in range(6)]
    scheduler.start()
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            scheduler.tick()
            with engine.connect() as conn:
                statuses = [store.get_run(conn, r)["status"] for r in runs]
            if all(s in ("succeeded", "failed") for s in statuses):
                break
            time.sleep(0.2)
    finally:
        scheduler.stop()
    assert statuses == ["succeeded"] * 6, statuses
    executors = set()
    for run_id in runs:
        start, end = (ledger / run_id).read_text().splitlines()
        assert end == "end"
        ancestors = {int(p) for p in start.split()[2:]}
        (worker,) = ancestors & worker_pids  # each run under exactly one worker process
        executors.add(worker)
        with engine.connect() as conn:
            assert store.get_run(conn, run_id)["backend"] == "dask"
    assert len(executors) >= 2  # spread over several workers
