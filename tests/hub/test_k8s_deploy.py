"""Chart values that wire the hub and user pods to the platform, checked with real KubeSpawner."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from kubespawner import KubeSpawner
from traitlets.config import Config

from k8s_schemas import use_unreachable_kubeconfig
from nbplatform.config import mlflow_environment
from nbplatform_hub.cli import main
from nbplatform_hub.config import update_roles
from nbplatform_hub.k8s import dump_values, render_values
from nbplatform_hub.k8s_deploy import DeploySettings, platform_values
from nbplatform_hub.k8s_manifests import platform_manifests
from nbplatform_hub.profiles import load_profiles
from nbplatform_hub.roles import CUSTOM_SCOPES
from nbplatform_hub.settings import Settings

REPO_PROFILES = Path(__file__).resolve().parents[2] / "hub" / "profiles.yaml"


@pytest.fixture
def settings() -> DeploySettings:
    return DeploySettings(namespace="team-a", admin_users=("ada",))


@pytest.fixture
def values(settings: DeploySettings) -> dict[str, Any]:
    rendered = render_values(load_profiles(REPO_PROFILES), extra=platform_values(settings))
    return yaml.safe_load(dump_values(rendered))


def test_the_hub_loads_the_same_roles_groups_and_scopes_as_on_one_machine(values) -> None:
    c = Config()
    update_roles(c, Settings(home=Path("/srv/nbplatform"), authenticator="native"))
    local = {role["name"]: role for role in c.JupyterHub.load_roles}
    chart = values["hub"]["loadRoles"]
    assert set(chart) == set(local) - {"idle-culler"}  # z2jh's culler has its own role
    for name, role in chart.items():
        assert role == local[name]
    config = values["hub"]["config"]["JupyterHub"]
    assert config["custom_scopes"] == CUSTOM_SCOPES
    assert config["load_groups"]["platform-admin"] == {"users": ["ada"]}
    assert values["hub"]["config"]["Authenticator"]["admin_users"] == ["ada"]


def test_every_service_a_role_names_is_a_hub_service(values) -> None:
    services = values["hub"]["services"]
    assert set(services) == {"platform", "scheduler"}
    assert services["platform"]["url"] == "http://nbplatform:8090"
    assert "url" not in services["scheduler"]  # no route: it only calls the hub's API
    for role in values["hub"]["loadRoles"].values():
        assert set(role.get("services", [])) <= set(services), role["name"]
    assert values["cull"]["enabled"] is True


def test_the_service_route_reaches_the_service_object(settings, values) -> None:
    objects = platform_manifests(settings, REPO_PROFILES.read_text())
    (service,) = [o for o in objects if o["kind"] == "Service"]
    (port,) = service["spec"]["ports"]
    assert values["hub"]["services"]["platform"]["url"] == (
        f"http://{service['metadata']['name']}:{port['port']}"
    )


def test_the_hub_database_comes_from_the_secret(values, monkeypatch) -> None:
    hub = values["hub"]
    assert hub["db"] == {"type": "other"}  # no SQLite volume for the hub
    ref = hub["extraEnv"]["NBP_HUB_DB_URL"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": "nbplatform", "key": "hub-db-url"}
    snippet = hub["extraConfig"]["20-nbplatform-hub-db"]
    c = Config()
    monkeypatch.setenv("NBP_HUB_DB_URL", "postgresql+psycopg://hub:pw@db/hub")
    monkeypatch.setenv("NBP_ADMIN_PASSWORD", "s3cret-pass")
    exec(snippet, {"c": c})  # noqa: S102 - the chart runs hub.extraConfig the same way
    assert c.JupyterHub.db_url == "postgresql+psycopg://hub:pw@db/hub"
    assert c.PlatformAuthenticator.admin_password == "s3cret-pass"
    assert "pw@" not in dump_values(values)  # no password in the values


def test_oauth_reads_its_client_from_the_secret() -> None:
    values = platform_values(DeploySettings(authenticator="generic-oauth"))
    hub = values["hub"]
    assert hub["config"]["JupyterHub"]["authenticator_class"] == "generic-oauth"
    assert hub["config"]["GenericOAuthenticator"]["admin_groups"] == ["platform-admin"]
    assert (
        "platform-admin" not in hub["config"]["JupyterHub"]["load_groups"]
        or not (hub["config"]["JupyterHub"]["load_groups"]["platform-admin"]["users"])
    )
    secret_keys = {v["valueFrom"]["secretKeyRef"]["key"] for v in hub["extraEnv"].values()}
    assert {"oauth-client-id", "oauth-client-secret"} <= secret_keys


# -- a user pod as KubeSpawner builds it from these values ------------------------


@pytest.fixture
def hub_config(values, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    use_unreachable_kubeconfig(tmp_path, monkeypatch)
    # What z2jh's jupyterhub_config.py does with singleuser.* (storage type static).
    single = values["singleuser"]
    storage = single["storage"]
    c = Config()
    c.KubeSpawner.cmd = ["jupyterhub-singleuser"]
    c.KubeSpawner.profile_list = single["profileList"]
    c.KubeSpawner.environment = single["extraEnv"]
    c.KubeSpawner.service_account = single["serviceAccountName"]
    c.KubeSpawner.volumes = [
        {"name": "home", "persistentVolumeClaim": {"claimName": storage["static"]["pvcName"]}}
    ]
    c.KubeSpawner.volume_mounts = [
        {
            "name": "home",
            "mountPath": storage["homeMountPath"],
            "subPath": storage["static"]["subPath"],
        }
    ]
    for code in values["hub"]["extraConfig"].values():
        if "profile_list" in code:
            exec(code, {"c": c})  # noqa: S102
    return c


async def test_a_user_pod_reaches_the_platform_and_sees_only_its_workspace(
    hub_config: Config, settings: DeploySettings
) -> None:
    user = SimpleNamespace(
        name="alice", id=1, url="/user/alice/", groups=[SimpleNamespace(name="data-scientist")]
    )
    spawner = KubeSpawner(_mock=True, config=hub_config, user=user)
    spawner.user_options = {"profile": "cpu-small"}
    await spawner.load_user_options()
    pod = await spawner.get_pod_manifest()
    (container,) = pod.spec.containers
    env = {e.name: e.value for e in container.env}
    assert env["NBP_PLATFORM_URL"] == "http://nbplatform:8090/services/platform/"
    assert env["NBP_PROFILE"] == "cpu-small"
    # What the kernel preload derives from it: MLflow through the in-cluster gateway.
    kernel = mlflow_environment(env["NBP_PLATFORM_URL"], "tok")
    assert kernel["MLFLOW_TRACKING_URI"] == "http://nbplatform:8090/services/platform/mlflow/"
    (mount,) = [m for m in container.volume_mounts if m.name == "home"]
    assert (mount.mount_path, mount.sub_path) == ("/home/jovyan", "users/alice")
    (volume,) = [v for v in pod.spec.volumes if v.name == "home"]
    objects = platform_manifests(settings, REPO_PROFILES.read_text())
    (claim,) = [o for o in objects if o["kind"] == "PersistentVolumeClaim"]
    assert volume.persistent_volume_claim["claimName"] == claim["metadata"]["name"]
    assert pod.spec.service_account_name == "nbplatform-user"
    accounts = {o["metadata"]["name"] for o in objects if o["kind"] == "ServiceAccount"}
    assert "nbplatform-user" in accounts


def test_user_pods_and_the_proxy_may_reach_the_service(values) -> None:
    (to_platform, to_dask) = values["singleuser"]["networkPolicy"]["egress"]
    assert to_platform["ports"] == [{"port": 8090, "protocol": "TCP"}]
    assert to_platform["to"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == (
        "service"
    )
    assert {p["port"] for p in to_dask["ports"]} == {8786, 8787}
    assert values["proxy"]["chp"]["networkPolicy"]["egress"] == [to_platform]


# -- the command -------------------------------------------------------------------


def test_render_k8s_writes_values_and_manifests(tmp_path) -> None:
    values_file, manifests_file = tmp_path / "values.yaml", tmp_path / "platform.yaml"
    result = CliRunner().invoke(
        main,
        [
            "render-k8s",
            "-o",
            str(values_file),
            "--manifests",
            str(manifests_file),
            "--namespace",
            "team-b",
            "--hub-image",
            "reg.example/nbp/hub:2",
            "--artifacts",
            "s3://bucket/mlflow",
        ],
    )
    assert result.exit_code == 0, result.output
    values = yaml.safe_load(values_file.read_text())
    assert values["hub"]["image"] == {"name": "reg.example/nbp/hub", "tag": "2"}
    objects = list(yaml.safe_load_all(manifests_file.read_text()))
    assert {o["metadata"]["namespace"] for o in objects} == {"team-b"}
    deployments = [o for o in objects if o["kind"] == "Deployment"]
    for deployment in deployments:
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            assert container["image"] == "reg.example/nbp/hub:2"


def test_render_k8s_refuses_an_artifact_store_it_cannot_use(tmp_path) -> None:
    result = CliRunner().invoke(main, ["render-k8s", "--artifacts", "/tmp/artifacts"])
    assert result.exit_code == 2
    assert "--artifacts must be an s3:// URL" in result.output
