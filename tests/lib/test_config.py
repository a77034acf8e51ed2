from __future__ import annotations

import pytest

from nbplatform import config
from nbplatform.errors import ConfigurationError


def test_arguments_win_over_environment():
    env = {"NBP_PLATFORM_URL": "http://env/services/platform/", "NBP_TOKEN": "env-token"}
    cfg = config.load(platform_url="http://arg/services/platform", token="arg-token", env=env)
    assert cfg.platform_url == "http://arg/services/platform/"
    assert cfg.token == "arg-token"


def test_token_falls_back_to_the_servers_hub_token():
    cfg = config.load(env={"NBP_PLATFORM_URL": "http://x/", "JUPYTERHUB_API_TOKEN": "hub"})
    assert cfg.token == "hub"
    cfg = config.load(env={"NBP_TOKEN": "mine", "JUPYTERHUB_API_TOKEN": "hub"})
    assert cfg.token == "mine"


def test_profile_gpus_and_mlflow_uri():
    cfg = config.load(
        env={
            "NBP_PLATFORM_URL": "http://h/services/platform/",
            "NBP_PROFILE": "gpu",
            "NBP_GPU_DEVICES": "1, 3",
            "NBP_KERNELS": "nbplatform-gpu,nbplatform-cpu",
        }
    )
    assert cfg.gpu_devices == ["1", "3"]
    assert cfg.kernels == ["nbplatform-gpu", "nbplatform-cpu"]
    assert cfg.mlflow_tracking_uri == "http://h/services/platform/mlflow/"


@pytest.mark.parametrize(
    ("env", "needle"),
    [({}, "NBP_PLATFORM_URL"), ({"NBP_PLATFORM_URL": "http://x/"}, "NBP_TOKEN")],
)
def test_require_says_what_to_set(env, needle):
    with pytest.raises(ConfigurationError, match=needle):
        config.load(env=env).require()


def test_mlflow_environment_is_one_function_for_kernels_library_and_runs():
    from nbplatform import kernel
    from nbplatform.config import mlflow_environment

    assert mlflow_environment("http://h/services/platform", "tok") == {
        "MLFLOW_TRACKING_URI": "http://h/services/platform/mlflow/",
        "MLFLOW_TRACKING_TOKEN": "tok",
    }
    assert mlflow_environment(None, None) == {}
    env = {"NBP_PLATFORM_URL": "http://h/services/platform/", "NBP_TOKEN": "tok"}
    kernel.configure_environment(env)
    assert {k: env[k] for k in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_TOKEN")} == (
        mlflow_environment("http://h/services/platform/", "tok")
    )
