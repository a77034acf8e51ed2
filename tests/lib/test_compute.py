"""nbp.compute: Dask clusters sized by the profile, linked through the hub, closed with kernels."""

from __future__ import annotations

import os
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
    with pytest.raises(InvalidParameterError, match="between 1 and 8"):
        compute.kube_cluster_spec(9, env)
    with pytest.raises(ConfigurationError, match="NBP_DASK_IMAGE"):
        compute.kube_cluster_spec(1, PROFILE)


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


def test_the_cluster_stops_with_the_kernel() -> None:
    manager, kernel = start_new_kernel(kernel_name="python3", env={**os.environ, "CPU_LIMIT": "1"})
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
    finally:
        kernel.stop_channels()
        manager.shutdown_kernel(now=False)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(psutil.pid_exists(p) for p in pids):
        time.sleep(0.2)
    assert not any(psutil.pid_exists(p) for p in pids), "workers outlived the kernel"


def test_importing_nbplatform_loads_no_dask() -> None:
    import subprocess

    code = "import sys, nbplatform; print('distributed' in sys.modules, 'dask' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
