"""Chart values that wire the hub and user pods to the platform, checked with real KubeSpawner."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path, PurePosixPath
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from kubespawner import KubeSpawner
from traitlets.config import Config

from k8s_schemas import use_unreachable_kubeconfig
from nbplatform import compute
from nbplatform.config import mlflow_environment
from nbplatform_hub.cli import main
from nbplatform_hub.config import update_roles
from nbplatform_hub.k8s import dump_values, render_values
from nbplatform_hub.k8s_deploy import (
    SERVER_CONFIG_KEY,
    SERVER_CONFIG_PATH,
    DeploySettings,
    platform_values,
)
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
    # (the demo is seeded by `make up` on one machine only: its role is not in the chart)
    update_roles(c, Settings(home=Path("/srv/nbplatform"), authenticator="native", demo=False))
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


# -- Dask dashboards through the user's jupyter-server-proxy ---------------------


def _server_config(values: dict[str, Any], tmp_path: Path) -> Config:
    """The rendered ``jupyter_server_config.py``, loaded as Jupyter loads a config file."""
    from traitlets.config.loader import PyFileConfigLoader

    (key,) = values["singleuser"]["extraFiles"]
    entry = values["singleuser"]["extraFiles"][key]
    path = tmp_path / PurePosixPath(entry["mountPath"]).name
    path.write_text(entry["stringData"])
    return PyFileConfigLoader(path.name, str(tmp_path)).load_config()


def _dashboard_host(env: dict[str, str]) -> str:
    """The host of the dashboard link of the cluster nbp.compute asks for, end to end.

    The Dask operator's scheduler Service for ``kube_cluster_spec``, the in-cluster
    address dask-kubernetes' KubeCluster takes from it, the link it formats with
    nbp.compute's template, and the host jupyter-server-proxy's route reads from it.
    """
    import dask
    from box import Box
    from dask_kubernetes.operator import KubeCluster, networking
    from dask_kubernetes.operator.controller.controller import build_scheduler_service_spec
    from jupyter_server.utils import url_path_join

    spec = compute.kube_cluster_spec(1, env)
    name, namespace = spec["metadata"]["name"], spec["metadata"]["namespace"]
    service = build_scheduler_service_spec(name, spec["spec"]["scheduler"]["service"], {}, {})
    service["metadata"]["namespace"] = namespace

    async def resolves(host: str, port: int, retries: int = 20) -> bool:
        return True  # inside the cluster, the Service's name resolves

    original = networking._is_service_available
    networking._is_service_available = resolves
    try:
        comm, dashboard = (
            asyncio.run(
                networking.get_external_address_for_scheduler_service(Box(service), port_name=port)
            )
            for port in ("tcp-comm", "http-dashboard")
        )
    finally:
        networking._is_service_available = original
    fake = SimpleNamespace(
        scheduler_address=comm, forwarded_dashboard_port=dashboard.split(":")[-1]
    )
    with dask.config.set({"distributed.dashboard.link": compute._dashboard_link(env, True)}):
        link = KubeCluster.dashboard_link.fget(fake)
    base = env["JUPYTERHUB_SERVICE_PREFIX"]
    route = re.fullmatch(url_path_join(base, r"/proxy/([^/:@]+):(\d+)(/.*|)"), link)
    assert route, link
    assert route.group(2, 3) == ("8787", "/status")
    return route.group(1)


def test_user_servers_proxy_exactly_the_dask_dashboards_of_their_namespace(
    values, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jupyter_server_proxy.config import ServerProxy
    from jupyter_server_proxy.handlers import RemoteProxyHandler

    entry = values["singleuser"]["extraFiles"][SERVER_CONFIG_KEY]
    # One of data/stringData/binaryData, at an absolute path (z2jh's extraFiles).
    assert set(entry) == {"mountPath", "stringData"}
    assert entry["mountPath"] == SERVER_CONFIG_PATH
    assert PurePosixPath(SERVER_CONFIG_PATH).name == "jupyter_server_config.py"
    # The pod's own namespace when NBP_DASK_NAMESPACE is unset, as nbp.compute.
    namespace_file = tmp_path / "namespace"
    namespace_file.write_text("team-a\n")
    monkeypatch.setattr(compute, "NAMESPACE_FILE", namespace_file)
    monkeypatch.delenv("NBP_DASK_NAMESPACE", raising=False)
    proxy = ServerProxy(config=_server_config(values, tmp_path))
    assert callable(proxy.host_allowlist)

    def admitted(host: str) -> bool:  # the check jupyter-server-proxy's handlers make
        return RemoteProxyHandler._check_host_allowlist(
            SimpleNamespace(host_allowlist=proxy.host_allowlist), host
        )

    env = {
        "CPU_LIMIT": "1",
        "JUPYTER_IMAGE": "nbplatform/singleuser:latest",
        "JUPYTERHUB_USER": "Alice.B",
        "JUPYTERHUB_SERVICE_PREFIX": "/user/alice.b/",
    }
    host = _dashboard_host(env)
    assert host == "nbp-alice-b-scheduler.team-a"
    assert admitted(host)
    assert admitted("dask-3f2a1b-scheduler.team-a")  # a KubeCluster named otherwise
    assert admitted("localhost") and admitted("127.0.0.1")  # jupyter-server-proxy's own
    for refused in (
        "169.254.169.254",  # the cloud metadata server
        "metadata.google.internal",
        "hub",
        "nbplatform",
        "nbplatform.team-a",
        "proxy-api.team-a",
        "kubernetes.default",
        "nbp-alice-b-scheduler.team-b",  # another namespace
        "nbp-alice-b-scheduler.other-team-a",
        "nbp-alice-b-scheduler.team-a.evil.example",
        "nbp-alice-b-scheduler.team-a.svc.cluster.local",
        "evil.nbp-alice-b-scheduler.team-a",
        "NBP-ALICE-B-SCHEDULER.team-a",
        "-scheduler.team-a",
        "10.0.0.12",
    ):
        assert not admitted(refused), refused
    # NBP_DASK_NAMESPACE moves the clusters, and the allowlist with them.
    monkeypatch.setenv("NBP_DASK_NAMESPACE", "dask")
    proxy = ServerProxy(config=_server_config(values, tmp_path))
    host = _dashboard_host({**env, "NBP_DASK_NAMESPACE": "dask"})
    assert host == "nbp-alice-b-scheduler.dask"
    assert admitted(host)
    assert not admitted("nbp-alice-b-scheduler.team-a")


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
