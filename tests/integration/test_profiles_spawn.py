"""Spawning servers on profiles: kernels offered, groups enforced, GPUs assigned."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.integration


def test_each_cpu_profile_offers_exactly_its_kernels(platform):
    token = platform.create_user("dana")
    for profile, kernels in [("cpu-small", {"nbplatform-cpu"}), ("cpu-large", {"nbplatform-cpu"})]:
        r = platform.spawn("dana", profile)
        assert r.status_code in (201, 202), r.text
        specs = platform.server("dana", "GET", "api/kernelspecs", token).json()
        assert set(specs["kernelspecs"]) == kernels
        assert specs["default"] == "nbplatform-cpu"
        platform.stop_server("dana")


def test_gpu_profile_offers_gpu_kernel(platform):
    token = platform.create_user("gina")
    with platform.spawned("gina", "gpu"):
        specs = platform.server("gina", "GET", "api/kernelspecs", token).json()
        assert set(specs["kernelspecs"]) == {"nbplatform-gpu", "nbplatform-cpu"}


def test_kernel_is_preloaded_with_the_platform(platform):
    token = platform.create_user("erin")
    with platform.spawned("erin", "cpu-small"):
        code = (
            "import json, os, sys\n"
            "keys = ['MLFLOW_TRACKING_URI', 'NBP_PLATFORM_URL', 'NBP_PROFILE', "
            "'CUDA_VISIBLE_DEVICES', 'NBP_KERNEL']\n"
            "print(json.dumps({k: os.environ.get(k) for k in keys}))\n"
            "print(json.dumps({'token': os.environ.get('MLFLOW_TRACKING_TOKEN') == "
            "os.environ.get('JUPYTERHUB_API_TOKEN'), 'nbp': nbp.__name__, "
            "'heavy': sorted(m for m in ('mlflow', 'torch', 'shap', 'feast', 'evidently') "
            "if m in sys.modules)}))\n"
            "print(json.dumps(nbp.me()))\n"
            "from IPython.display import display\n"
            "display(nbp.me())\n"
        )
        result = platform.execute("erin", code, token)
        assert result["status"] == "ok", result
        env, facts, me = (json.loads(line) for line in result["stdout"].splitlines())
        (shown,) = result["displays"]  # nbp.me() shows as a table, not a dict's repr
        assert "<table" in shown["text/html"] and "erin" in shown["text/html"]
        assert shown["text/plain"].splitlines()[0].split() == ["name", "erin"]
        assert env["MLFLOW_TRACKING_URI"].endswith("/services/platform/mlflow/")
        assert env["NBP_PROFILE"] == "cpu-small"
        assert env["CUDA_VISIBLE_DEVICES"] == ""
        assert env["NBP_KERNEL"] == "nbplatform-cpu"
        assert facts == {"token": True, "nbp": "nbplatform", "heavy": []}
        assert me["name"] == "erin" and me["roles"] == ["data-scientist"]


def test_profile_outside_groups_is_refused(platform):
    platform.create_user("vic", group="viewer")
    r = platform.spawn("vic", "cpu-large")
    assert r.status_code == 403, r.text
    assert "cpu-large" in r.json()["message"]
    r = platform.spawn("vic", "no-such-profile")
    assert r.status_code == 400
    assert "Unknown profile" in r.json()["message"]


def test_gpus_are_exclusive_and_freed_on_stop(platform):
    for name in ("g1", "g2", "g3"):
        platform.create_user(name)
    devices = {}
    for name in ("g1", "g2"):
        platform.spawn(name, "gpu")
        token = platform.tokens[name]
        result = platform.execute(
            name,
            "import os; print(os.environ['CUDA_VISIBLE_DEVICES'])",
            token,
            kernel="nbplatform-gpu",
        )
        devices[name] = result["stdout"].strip()
    assert sorted(devices.values()) == ["0", "1"]

    r = platform.spawn("g3", "gpu")
    assert r.status_code == 503, r.text
    assert "No free GPU" in r.json()["message"]

    platform.stop_server("g1")
    r = platform.spawn("g3", "gpu")
    assert r.status_code in (201, 202), r.text
    result = platform.execute(
        "g3", "import os; print(os.environ['CUDA_VISIBLE_DEVICES'])", platform.tokens["g3"]
    )
    assert result["stdout"].strip() == devices["g1"]
    for name in ("g2", "g3"):
        platform.stop_server(name)


def test_gpu_job_runs_take_devices_from_the_servers_allocator(platform):
    import time

    from jobs_helpers import write_notebook

    token = platform.create_user("g4")
    platform.create_user("g5")
    write_notebook(
        platform.home / "users" / "g4" / "gpu.ipynb",
        params="sleep = 0.0",
        body=[
            "import os, time\nprint('devices=' + os.environ['CUDA_VISIBLE_DEVICES'] + '.')",
            "time.sleep(sleep)",
        ],
    )
    platform.spawn("g4", "gpu")
    code = "import os; print(os.environ['CUDA_VISIBLE_DEVICES'])"
    server_device = platform.execute("g4", code, token, kernel="nbplatform-gpu")["stdout"].strip()
    body = {"name": "gpu-job", "notebook": "gpu.ipynb", "profile": "gpu"}
    job = platform.service("POST", "api/jobs", token, json=body).json()
    r = platform.service(
        "POST", f"api/jobs/{job['id']}/runs", token, json={"parameters": {"sleep": 30.0}}
    )
    assert r.status_code == 201, r.text
    run_id = r.json()["id"]

    def status() -> str:
        return platform.service("GET", f"api/runs/{run_id}", token).json()["status"]

    deadline = time.monotonic() + 120
    while status() != "running" and time.monotonic() < deadline:
        time.sleep(0.3)
    # The server holds one device and the run the other: nothing is left for g5.
    r = platform.spawn("g5", "gpu")
    assert r.status_code == 503, r.text
    assert "a job run" in r.json()["message"]
    deadline = time.monotonic() + 180
    while status() not in ("succeeded", "failed") and time.monotonic() < deadline:
        time.sleep(0.5)
    assert status() == "succeeded"
    log = platform.service("GET", f"api/runs/{run_id}/log", token).json()["log"]
    other = {"0", "1"} - {server_device}
    assert f"devices={other.pop()}." in log
    # Given back when the run ended: g5 gets it.
    r = platform.spawn("g5", "gpu")
    assert r.status_code in (201, 202), r.text
    for name in ("g4", "g5"):
        platform.stop_server(name)
