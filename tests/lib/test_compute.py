"""nbp.compute: Dask clusters sized by the profile, linked through the hub, closed with kernels."""

from __future__ import annotations

import os
import signal
import sys
import time

import psutil
import pytest
from jupyter_client.manager import start_new_kernel

from k8s_schemas import dask_errors
from nbplatform import compute
from nbplatform.errors import ConfigurationError, ConflictError, InvalidParameterError

GIB = 2**30
PROFILE = {"CPU_LIMIT": "2", "MEM_LIMIT": str(4 * GIB)}


def test_defaults_fill_the_profile_and_leave_the_kernel_a_quarter_of_memory() -> None:
    sizing = compute.local_sizing(env=PROFILE)
    assert sizing == {"n_workers": 2, "threads_per_worker": 1, "memory_limit": 3 * GIB // 2}
    assert compute.local_sizing(1, env=PROFILE)["threads_per_worker"] == 2
    big = compute.local_sizing(env={"CPU_LIMIT": "16"})
    assert (big["n_workers"], big["threads_per_worker"], big["memory_limit"]) == (4, 4, "auto")
    assert compute.local_sizing(env={"CPU_LIMIT": "0.5"})["n_workers"] == 1  # at least one


def test_more_than_the_profile_is_refused_naming_the_limit() -> None:
    with pytest.raises(InvalidParameterError, match=r"3 workers × 1 threads.*CPU_LIMIT=2"):
        compute.local_sizing(3, env=PROFILE)
    with pytest.raises(InvalidParameterError, match=r"MEM_LIMIT=4\.00 GiB"):
        compute.local_sizing(2, memory_limit="2GiB", env=PROFILE)
    with pytest.raises(InvalidParameterError, match="positive whole number"):
        compute.local_sizing(0, env=PROFILE)
    with pytest.raises(InvalidParameterError, match="not a size"):
        compute.local_sizing(1, memory_limit="lots", env=PROFILE)
    with pytest.raises(ConfigurationError, match="CPU_LIMIT='two'"):
        compute.local_sizing(env={"CPU_LIMIT": "two"})


def test_without_cpu_limit_the_cgroup_quota_counts(tmp_path) -> None:
    v2 = tmp_path / "cpu.max"
    v2.write_text("150000 100000\n")
    assert compute.cgroup_cpus((v2,)) == 1.5
    v2.write_text("max 100000\n")
    assert compute.cgroup_cpus((v2,)) is None
    v1 = tmp_path / "cpu.cfs_quota_us"
    v1.write_text("200000\n")
    (tmp_path / "cpu.cfs_period_us").write_text("100000\n")
    assert compute.cgroup_cpus((tmp_path / "missing" / "cpu.max", v1)) == 2.0
    v1.write_text("-1\n")
    assert compute.cgroup_cpus((v1,)) is None


def test_kubernetes_is_chosen_inside_a_pod_or_by_setting() -> None:
    assert compute.on_kubernetes({"KUBERNETES_SERVICE_HOST": "10.0.0.1"})
    assert not compute.on_kubernetes({})
    assert not compute.on_kubernetes(
        {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "NBP_COMPUTE_BACKEND": "local"}
    )
    with pytest.raises(ConfigurationError, match="NBP_COMPUTE_BACKEND"):
        compute.on_kubernetes({"NBP_COMPUTE_BACKEND": "yarn"})


def test_the_kubernetes_cluster_is_valid_and_sized_by_the_profile() -> None:
    env = {
        **PROFILE,
        "JUPYTER_IMAGE": "registry.example/nbp/singleuser-cpu:0.1",
        "JUPYTERHUB_USER": "Alice.B",
        "NBP_DASK_NAMESPACE": "team-a",
        "NBP_PLATFORM_URL": "http://nbplatform:8090/services/platform/",
    }
    spec = compute.kube_cluster_spec(3, env)
    assert dask_errors("DaskCluster", spec) == []
    assert spec["metadata"] == {"name": "nbp-alice-b", "namespace": "team-a"}
    worker = spec["spec"]["worker"]
    assert worker["replicas"] == 3
    (container,) = worker["spec"]["containers"]
    assert container["image"] == env["JUPYTER_IMAGE"]
    assert container["resources"]["limits"] == {"cpu": "2", "memory": str(4 * GIB)}
    assert {"name": "NBP_PLATFORM_URL", "value": env["NBP_PLATFORM_URL"]} in container["env"]
    assert {"name": "NVIDIA_VISIBLE_DEVICES", "value": "none"} in container["env"]
    assert "tolerations" not in worker["spec"]
    with pytest.raises(InvalidParameterError, match="between 1 and 8"):
        compute.kube_cluster_spec(9, env)
    with pytest.raises(ConfigurationError, match="NBP_DASK_IMAGE"):
        compute.kube_cluster_spec(1, PROFILE)


def test_kubernetes_workers_get_the_profiles_gpus() -> None:
    env = {
        "CPU_LIMIT": "0.5",
        "MEM_LIMIT": str(GIB),
        "NBP_DASK_IMAGE": "registry.example/nbp/singleuser-gpu:0.1",
        "NBP_DASK_NAMESPACE": "jhub",
        # What the NVIDIA device plugin gives a pod of a profile with two GPUs.
        "NVIDIA_VISIBLE_DEVICES": "GPU-1a2b,GPU-3c4d",
    }
    assert compute.profile_gpus(env) == 2
    assert compute.profile_gpus({**env, "NBP_PROFILE_GPUS": "1"}) == 1
    assert compute.profile_gpus({"NVIDIA_VISIBLE_DEVICES": "none"}) == 0
    assert compute.profile_gpus({}) == 0
    spec = compute.kube_cluster_spec(1, env)
    assert dask_errors("DaskCluster", spec) == []
    worker = spec["spec"]["worker"]["spec"]
    limits = {"cpu": "500m", "memory": str(GIB), "nvidia.com/gpu": "2"}
    assert worker["containers"][0]["resources"] == {"limits": limits, "requests": limits}
    assert worker["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    ]
    (scheduler,) = spec["spec"]["scheduler"]["spec"]["containers"]
    assert "nvidia.com/gpu" not in scheduler["resources"]["limits"]


def test_the_dashboard_allowlist_admits_the_scheduler_services_of_the_dask_namespace(
    tmp_path, monkeypatch
) -> None:
    from dask_kubernetes.constants import SCHEDULER_NAME_TEMPLATE

    assert compute.SCHEDULER_SERVICE == SCHEDULER_NAME_TEMPLATE
    env = {"JUPYTER_IMAGE": "nbp/singleuser:1", "JUPYTERHUB_USER": "ada", "CPU_LIMIT": "1"}
    spec = compute.kube_cluster_spec(1, {**env, "NBP_DASK_NAMESPACE": "jhub"})
    service = SCHEDULER_NAME_TEMPLATE.format(cluster_name=spec["metadata"]["name"])
    allowed = compute.dashboard_host_allowlist({"NBP_DASK_NAMESPACE": "jhub"})
    assert allowed(None, f"{service}.jhub")
    assert allowed(None, "localhost") and allowed(None, "127.0.0.1")
    long_name = "a" * 54 + "-scheduler"  # 64 characters: no Service is named so
    for host in (
        f"{service}.other",
        f"{service}.jhub.svc",
        service,
        "hub",
        "169.254.169.254",
        "scheduler.jhub",
        f"{long_name}.jhub",
    ):
        assert not allowed(None, host), host
    assert allowed(None, f"{long_name[1:]}.jhub")
    # Without NBP_DASK_NAMESPACE, the pod's own namespace, as kube_cluster_spec.
    namespace_file = tmp_path / "namespace"
    namespace_file.write_text("team-a\n")
    monkeypatch.setattr(compute, "NAMESPACE_FILE", namespace_file)
    assert compute.kube_cluster_spec(1, env)["metadata"]["namespace"] == "team-a"
    allowed = compute.dashboard_host_allowlist({})
    assert allowed(None, f"{service}.team-a")
    assert not allowed(None, f"{service}.jhub")


def _listening(pid: int) -> set[str]:
    """The addresses ``pid`` and its children listen on."""
    parent = psutil.Process(pid)
    return {
        c.laddr.ip
        for p in [parent, *parent.children(recursive=True)]
        for c in p.net_connections("tcp")
        if c.status == psutil.CONN_LISTEN
    }


def test_a_local_cluster_computes_links_its_dashboard_through_the_hub_and_closes(
    monkeypatch,
) -> None:
    monkeypatch.setenv("CPU_LIMIT", "2")
    monkeypatch.setenv("MEM_LIMIT", str(4 * GIB))
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/alice/")
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    from distributed import Client

    cluster = compute.cluster(n_workers=2, threads_per_worker=1)
    try:
        port = cluster.scheduler_info["services"]["dashboard"]
        assert cluster.dashboard_link == f"/user/alice/proxy/{port}/status"
        assert _listening(os.getpid()) == {"127.0.0.1"}
        with Client(cluster) as client:
            assert client.submit(sum, [1, 2, 3]).result() == 6
            pids = list(client.run(os.getpid).values())
        assert len(pids) == 2
        assert compute.cluster() is cluster  # one per kernel
        with pytest.raises(ConflictError, match="close"):
            compute.cluster(n_workers=1)
    finally:
        compute.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(psutil.pid_exists(p) for p in pids):
        time.sleep(0.2)
    assert not any(psutil.pid_exists(p) for p in pids)


def test_a_cluster_of_threads_runs_in_the_kernel(monkeypatch) -> None:
    monkeypatch.setenv("CPU_LIMIT", "2")
    monkeypatch.setenv("MEM_LIMIT", str(4 * GIB))
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/bob/")
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    cluster = compute.cluster(1, threads_per_worker=2, processes=False)
    try:
        assert cluster.scheduler_address.startswith("inproc://")
        port = cluster.scheduler_info["services"]["dashboard"]
        assert cluster.dashboard_link == f"/user/bob/proxy/{port}/status"
        assert _listening(os.getpid()) == {"127.0.0.1"}
        assert compute.cluster(1, threads_per_worker=2, processes=False) is cluster
        with compute.client() as client:
            assert client.submit(pow, 2, 10).result() == 1024
            assert set(client.run(os.getpid).values()) == {os.getpid()}
    finally:
        compute.close()


@pytest.mark.parametrize("how", ["shutdown", "killed"])
def test_the_cluster_stops_with_the_kernel(how: str) -> None:
    manager, kernel = start_new_kernel(kernel_name="python3", env={**os.environ, "CPU_LIMIT": "1"})
    down = False
    try:
        code = (
            "import os, json, nbplatform as nbp\n"
            "from distributed import Client\n"
            "c = nbp.compute.cluster(n_workers=1)\n"
            "print(json.dumps(list(Client(c).run(os.getpid).values())))\n"
        )
        out: list[str] = []

        def keep(msg: dict) -> None:
            if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
                out.append(msg["content"]["text"])

        reply = kernel.execute_interactive(code, timeout=120, output_hook=keep)
        assert reply["content"]["status"] == "ok", reply["content"]
        pids = [int(p) for p in "".join(out).strip().splitlines()[-1].strip("[]").split(",")]
        assert pids and all(psutil.pid_exists(p) for p in pids)
        # The workers and their nannies: everything the kernel started.
        kernel_pid = manager.provisioner.pid
        pids += [c.pid for c in psutil.Process(kernel_pid).children(recursive=True)]
        kernel.stop_channels()
        if how == "killed":  # the kernel alone, not its process group: no atexit runs
            os.kill(kernel_pid, signal.SIGKILL)
        else:
            manager.shutdown_kernel(now=False)
            down = True
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(psutil.pid_exists(p) for p in pids):
            time.sleep(0.2)
        alive = [p for p in pids if psutil.pid_exists(p)]
        assert not alive, f"processes outlived the kernel: {alive}"
    finally:
        kernel.stop_channels()
        if not down:
            manager.shutdown_kernel(now=True)


def test_importing_nbplatform_loads_no_dask() -> None:
    import subprocess

    code = "import sys, nbplatform; print('distributed' in sys.modules, 'dask' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
