from __future__ import annotations

import dataclasses

import pytest
from traitlets.config import Config

from nbplatform.errors import ConfigurationError
from nbplatform_hub.config import configure
from nbplatform_hub.settings import Settings


@pytest.fixture
def settings(tmp_path):
    return Settings.from_env(
        {"NBP_HOME": str(tmp_path), "NBP_ADMIN_PASSWORD": "pw-123456", "NBP_PORT": "9000"}
    )


def test_configure_sets_every_piece(settings):
    c = Config()
    configure(c, settings)
    assert c.JupyterHub.bind_url == "http://127.0.0.1:9000/"
    assert c.JupyterHub.db_url.endswith(str(settings.hub_dir / "jupyterhub.sqlite"))
    assert c.JupyterHub.spawner_class == "nbplatform"
    assert c.JupyterHub.authenticator_class == "nbplatform"
    assert c.PlatformAuthenticator.admin_password == "pw-123456"
    services = {s["name"]: s for s in c.JupyterHub.services}
    assert {"platform", "idle-culler", "mlflow"} <= set(services)
    # MLflow: on a Unix socket only, never routed by the proxy, reached through the gateway.
    assert "url" not in services["mlflow"]
    command = services["mlflow"]["command"]
    assert f"--uvicorn-opts=--uds {settings.mlflow_socket}" in command
    assert not any(arg.startswith(("--port", "--host")) for arg in command)
    assert services["platform"]["environment"]["NBP_MLFLOW_SOCKET"] == str(settings.mlflow_socket)
    assert settings.mlflow_socket.parent == settings.home / "run"
    # Four eyes unless the operator says one person runs the platform.
    assert services["platform"]["environment"]["NBP_PROMOTION_SELF_APPROVAL"] == "0"
    alone = Config()
    configure(alone, dataclasses.replace(settings, promotion_self_approval=True))
    env = {s["name"]: s for s in alone.JupyterHub.services}["platform"]["environment"]
    assert env["NBP_PROMOTION_SELF_APPROVAL"] == "1"
    from nbplatform_hub.service.settings import ServiceSettings

    service = ServiceSettings.from_env(
        {**env, "JUPYTERHUB_API_URL": "x", "JUPYTERHUB_API_TOKEN": "t"}
    )
    assert service.promotion_self_approval is True

    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert {"viewer", "data-scientist", "platform-admin", "server"} <= set(roles)
    assert c.JupyterHub.load_groups["platform-admin"]["users"] == ["admin"]
    assert c.ProfileSpawner.platform_url == settings.platform_url


def test_mlflow_socket_folder_is_private_and_short(settings, tmp_path):
    settings.make_dirs()
    assert (settings.mlflow_socket.parent.stat().st_mode & 0o777) == 0o700
    deep = Settings(home=tmp_path / ("x" * 120))
    assert len(str(deep.mlflow_socket)) < 108
    deep.make_dirs()
    assert (deep.mlflow_socket.parent.stat().st_mode & 0o777) == 0o700


def test_configure_is_idempotent(settings):
    once, twice = Config(), Config()
    configure(once, settings)
    configure(twice, settings)
    configure(twice, settings)
    assert once == twice


def test_idle_culler_timeout_is_configurable(tmp_path):
    s = Settings.from_env(
        {"NBP_HOME": str(tmp_path), "NBP_IDLE_TIMEOUT": "120", "NBP_ADMIN_PASSWORD": "x" * 9}
    )
    c = Config()
    configure(c, s)
    culler = next(s for s in c.JupyterHub.services if s["name"] == "idle-culler")
    assert "--timeout=120" in culler["command"]


def test_spawn_timeout_is_configurable(tmp_path):
    env = {"NBP_HOME": str(tmp_path), "NBP_ADMIN_PASSWORD": "x" * 9}
    c = Config()
    configure(c, Settings.from_env(env))
    assert (c.Spawner.start_timeout, c.Spawner.http_timeout) == (120, 120)
    c = Config()
    configure(c, Settings.from_env({**env, "NBP_SPAWN_TIMEOUT": "300"}))
    assert (c.Spawner.start_timeout, c.Spawner.http_timeout) == (300, 300)


def test_admin_token_is_an_api_token_of_the_first_admin(tmp_path):
    token = "t" * 32
    s = Settings.from_env(
        {"NBP_HOME": str(tmp_path), "NBP_ADMIN_TOKEN": token, "NBP_ADMIN_PASSWORD": "x" * 9}
    )
    c = Config()
    configure(c, s)
    assert c.JupyterHub.api_tokens == {token: "admin"}


def test_generic_oauth_is_chosen_by_configuration(tmp_path):
    s = Settings.from_env({"NBP_HOME": str(tmp_path), "NBP_AUTHENTICATOR": "generic-oauth"})
    c = Config()
    configure(c, s)
    assert c.JupyterHub.authenticator_class == "generic-oauth"
    assert c.GenericOAuthenticator.manage_groups is True
    assert (
        "load_groups" not in c.JupyterHub or not c.JupyterHub.load_groups["platform-admin"]["users"]
    )


def test_bad_profiles_stop_configuration(tmp_path):
    bad = tmp_path / "p.yaml"
    bad.write_text("profiles: []\n")
    s = Settings.from_env({"NBP_HOME": str(tmp_path), "NBP_PROFILES": str(bad)})
    with pytest.raises(ConfigurationError, match=str(bad)):
        configure(Config(), s)


def test_service_and_scheduler_share_one_computed_environment(tmp_path):
    settings = Settings.from_env(
        {
            "NBP_HOME": str(tmp_path),
            "NBP_ADMIN_PASSWORD": "a-long-enough-password",
            "NBP_PLATFORM_DB_URL": "postgresql://db/platform",
            "NBP_WEBHOOK_ALLOW": "10.0.0.0/8",
            "NBP_PORT": "8123",
        }
    )
    c = Config()
    configure(c, settings)
    envs = {s["name"]: s.get("environment", {}) for s in c.JupyterHub.services}
    for name in ("platform", "scheduler"):
        env = envs[name]
        # The database at scale reaches both (the hub's environment is not inherited).
        assert env["NBP_PLATFORM_DB_URL"] == "postgresql://db/platform", name
        assert env["NBP_PLATFORM_URL"] == settings.platform_url, name
        assert env["NBP_WEBHOOK_ALLOW"] == "10.0.0.0/8", name
        assert env["NBP_HOME"] == str(tmp_path), name


def test_hub_database_follows_nbp_hub_db_url(tmp_path):
    env = {"NBP_HOME": str(tmp_path), "NBP_ADMIN_PASSWORD": "a-long-enough-password"}
    url = "postgresql+psycopg://hub:secret@127.0.0.1:5432/hub"
    c = Config()
    configure(c, Settings.from_env({**env, "NBP_HUB_DB_URL": url}))
    assert c.JupyterHub.db_url == url
    # Never on a command line: every local user may read /proc/<pid>/cmdline.
    assert not any(url in " ".join(s.get("command", [])) for s in c.JupyterHub.services)
    default = Config()
    configure(default, Settings.from_env(env))
    assert default.JupyterHub.db_url == f"sqlite:///{tmp_path / 'hub' / 'jupyterhub.sqlite'}"


def test_artifact_store_credentials_reach_mlflow_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "key-id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-key")
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", "http://127.0.0.1:9000")
    settings = Settings.from_env(
        {
            "NBP_HOME": str(tmp_path),
            "NBP_ADMIN_PASSWORD": "a-long-enough-password",
            "NBP_MLFLOW_ARTIFACTS": "s3://bucket/mlflow",
        }
    )
    c = Config()
    configure(c, settings)
    services = {s["name"]: s for s in c.JupyterHub.services}
    mlflow = services["mlflow"]["environment"]
    assert mlflow["MLFLOW_ARTIFACTS_DESTINATION"] == "s3://bucket/mlflow"
    assert mlflow["AWS_SECRET_ACCESS_KEY"] == "secret-key"
    assert mlflow["MLFLOW_S3_ENDPOINT_URL"] == "http://127.0.0.1:9000"
    for name, service in services.items():
        if name != "mlflow":
            assert "AWS_SECRET_ACCESS_KEY" not in service.get("environment", {}), name
    assert "AWS_SECRET_ACCESS_KEY" not in c.Spawner.environment
