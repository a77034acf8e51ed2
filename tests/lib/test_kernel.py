from __future__ import annotations

import json
import subprocess
import sys

from nbplatform import kernel


def test_configure_environment_points_mlflow_at_the_gateway():
    env = {
        "NBP_PLATFORM_URL": "http://127.0.0.1:8090/services/platform/",
        "JUPYTERHUB_API_TOKEN": "tok",
        "NBP_PROFILE": "gpu",
        "NBP_GPU_DEVICES": "1",
        "CUDA_VISIBLE_DEVICES": "0,1,2",
    }
    kernel.configure_environment(env)
    assert env["MLFLOW_TRACKING_URI"] == "http://127.0.0.1:8090/services/platform/mlflow/"
    assert env["MLFLOW_TRACKING_TOKEN"] == "tok"
    assert env["NBP_TOKEN"] == "tok"
    assert env["CUDA_VISIBLE_DEVICES"] == "1"


def test_values_the_user_set_are_kept():
    env = {
        "NBP_PLATFORM_URL": "http://h/services/platform/",
        "JUPYTERHUB_API_TOKEN": "tok",
        "MLFLOW_TRACKING_URI": "http://elsewhere:5000",
    }
    kernel.configure_environment(env)
    assert env["MLFLOW_TRACKING_URI"] == "http://elsewhere:5000"


def test_cpu_profile_hides_gpus():
    # the local spawner assigns no device to a CPU profile: NBP_GPU_DEVICES is empty
    env = {"NBP_PROFILE": "cpu-small", "NBP_GPU_DEVICES": "", "CUDA_VISIBLE_DEVICES": "0"}
    kernel.configure_environment(env)
    assert env["CUDA_VISIBLE_DEVICES"] == ""


def test_a_gpu_the_device_plugin_gave_a_pod_stays_visible():
    # On Kubernetes the NVIDIA device plugin chooses the GPU (NVIDIA_VISIBLE_DEVICES);
    # the platform assigned nothing, so the kernel leaves CUDA's view alone.
    pod = {
        "NBP_PROFILE": "gpu-1",
        "NVIDIA_VISIBLE_DEVICES": "GPU-7f3a",
        "CUDA_VISIBLE_DEVICES": "0",
    }
    kernel.configure_environment(pod)
    assert pod["CUDA_VISIBLE_DEVICES"] == "0"
    bare = {"NBP_PROFILE": "gpu-1", "NVIDIA_VISIBLE_DEVICES": "GPU-7f3a"}
    kernel.configure_environment(bare)
    assert "CUDA_VISIBLE_DEVICES" not in bare


def test_outside_the_platform_nothing_is_invented():
    env: dict[str, str] = {}
    kernel.configure_environment(env)
    assert "MLFLOW_TRACKING_URI" not in env and "MLFLOW_TRACKING_TOKEN" not in env


def test_import_and_preload_load_nothing_heavy():
    code = (
        "import sys, json, nbplatform, nbplatform.kernel\n"
        "nbplatform.kernel.configure_environment({})\n"
        "heavy = ['mlflow', 'torch', 'shap', 'feast', 'evidently', 'pandas', 'sklearn', "
        "'requests', 'numpy', 'ipywidgets']\n"
        "print(json.dumps([m for m in heavy if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_submodules_load_on_first_use():
    import nbplatform

    assert nbplatform.config.load(env={}).platform_url is None
    assert "kernel" in dir(nbplatform) and "widgets" in dir(nbplatform)


def test_configure_feast_writes_the_client_config_and_points_feast_at_it(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    secret = "s3cr3t-hub-token"
    env = {"NBP_PLATFORM_URL": "http://h/services/platform/", "JUPYTERHUB_API_TOKEN": secret}
    path = kernel.configure_feast(env)
    assert path == str(tmp_path / ".nbplatform" / "feature_store.yaml")
    assert env["FEAST_FS_YAML_FILE_PATH"] == path
    text = (tmp_path / ".nbplatform" / "feature_store.yaml").read_text()
    assert "http://h/services/platform/api/features/registry" in text
    assert secret not in text  # the token is read from the environment, never written
    mine = {**env, "FEAST_FS_YAML_FILE_PATH": "/my/feature_store.yaml"}
    assert kernel.configure_feast(mine) == "/my/feature_store.yaml"
    assert kernel.configure_feast({}) is None  # off the platform
