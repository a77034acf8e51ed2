"""The platform service reads its environment once, into ServiceSettings."""

from __future__ import annotations

from pathlib import Path

import pytest

from nbplatform_hub.service.settings import ServiceSettings

HUB = {"JUPYTERHUB_API_URL": "http://127.0.0.1:8081/hub/api", "JUPYTERHUB_API_TOKEN": "t" * 32}


def test_defaults_follow_nbp_home(tmp_path: Path):
    settings = ServiceSettings.from_env({**HUB, "NBP_HOME": str(tmp_path)})
    assert settings.home == tmp_path
    assert settings.database_url == f"sqlite:///{tmp_path / 'platform' / 'platform.sqlite'}"
    assert (settings.host, settings.port, settings.prefix) == (
        "127.0.0.1",
        8090,
        "/services/platform/",
    )
    assert settings.protected_aliases == ("champion",)
    assert settings.mlflow_socket is None and settings.mlflow_url is None


def test_every_variable_is_read(tmp_path: Path):
    settings = ServiceSettings.from_env(
        {
            **HUB,
            "NBP_HOME": str(tmp_path),
            "NBP_PLATFORM_DB_URL": "postgresql://db/platform",
            "JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:9123",
            "JUPYTERHUB_SERVICE_PREFIX": "/services/p/",
            "NBP_MLFLOW_SOCKET": "/run/mlflow.sock",
            "NBP_PROTECTED_ALIASES": "champion, prod ,",
        }
    )
    assert settings.database_url == "postgresql://db/platform"
    assert (settings.port, settings.prefix) == (9123, "/services/p/")
    assert settings.url == "http://127.0.0.1:9123/services/p/"
    assert settings.mlflow_socket == "/run/mlflow.sock"
    assert settings.protected_aliases == ("champion", "prod")


def test_without_the_hub_variables_it_does_not_start(tmp_path: Path):
    with pytest.raises(KeyError, match="JUPYTERHUB_API_URL"):
        ServiceSettings.from_env({"NBP_HOME": str(tmp_path)})
