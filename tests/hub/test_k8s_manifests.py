"""The platform's own Kubernetes objects: valid by Kubernetes' strict schemas, wired together."""

from __future__ import annotations

import copy
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from k8s_schemas import dask_errors, kubernetes_errors
from nbplatform_hub.k8s import dump_manifests
from nbplatform_hub.k8s_deploy import DeploySettings
from nbplatform_hub.k8s_manifests import platform_manifests
from nbplatform_hub.service.settings import ServiceSettings
from nbplatform_jobs import dask_cluster
from nbplatform_jobs.settings import JobsSettings

REPO_PROFILES = Path(__file__).resolve().parents[2] / "hub" / "profiles.yaml"

SCHEMA_FILES = {
    "PersistentVolumeClaim": "persistentvolumeclaim-v1",
    "ConfigMap": "configmap-v1",
    "ServiceAccount": "serviceaccount-v1",
    "Role": "role-rbac-v1",
    "RoleBinding": "rolebinding-rbac-v1",
    "Deployment": "deployment-apps-v1",
    "Service": "service-v1",
    "NetworkPolicy": "networkpolicy-networking-v1",
}

SECRET = {
    "platform-db-url": "postgresql+psycopg://nbp:pw@db:5432/platform",
    "mlflow-backend-uri": "postgresql+psycopg://nbp:pw@db:5432/mlflow",
    "hub-db-url": "postgresql+psycopg://nbp:pw@db:5432/hub",
}


@pytest.fixture
def settings() -> DeploySettings:
    return DeploySettings(
        namespace="team-a",
        image="registry.example:5000/nbp/singleuser-cpu:0.1",
        platform_image="registry.example:5000/nbp/hub:0.1",
        artifacts="s3://models/nbp",
        s3_endpoint="http://minio:9000",
        storage_class="nfs",
    )


@pytest.fixture
def objects(settings: DeploySettings) -> list[dict[str, Any]]:
    return platform_manifests(settings, REPO_PROFILES.read_text())


def _by(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def _env(container: dict[str, Any], hub_token: str = "t0ken") -> dict[str, str]:
    """The variables a container sees, with the Secrets' values filled in."""
    env: dict[str, str] = {}
    for var in container["env"]:
        if "value" in var:
            env[var["name"]] = var["value"]
            continue
        ref = var["valueFrom"]["secretKeyRef"]
        if ref["name"] == "hub":
            env[var["name"]] = hub_token
        elif ref["key"] in SECRET:
            env[var["name"]] = SECRET[ref["key"]]
        else:
            assert ref.get("optional"), f"{var['name']}: {ref['key']} is not in the Secret"
    return env


def _container(deployment: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [
        c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == name
    ]
    return found


def test_every_object_is_valid_by_kubernetes_strict_schemas(objects) -> None:
    kinds = [o["kind"] for o in objects]
    assert kinds[0] == "PersistentVolumeClaim" and kinds[-1] == "Deployment"
    for obj in objects:
        assert kubernetes_errors(SCHEMA_FILES[obj["kind"]], obj) == [], obj["metadata"]["name"]
        assert obj["metadata"]["namespace"] == "team-a"
        assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == "nbplatform"


def test_the_schema_check_can_fail(objects) -> None:
    deployment = copy.deepcopy(_by(objects, "Deployment", "nbplatform"))
    deployment["spec"]["template"]["spec"]["containers"][0]["volumeMount"] = []
    deployment["spec"]["replicas"] = "one"
    errors = kubernetes_errors("deployment-apps-v1", deployment)
    assert any("volumeMount" in e for e in errors) and any("replicas" in e for e in errors)


def test_the_yaml_is_one_document_per_object_and_stable(objects) -> None:
    text = dump_manifests(objects)
    assert list(yaml.safe_load_all(text)) == objects
    assert dump_manifests(list(yaml.safe_load_all(text))) == text


def test_the_shared_volume_holds_nbp_home_of_every_platform_pod(settings, objects) -> None:
    claim = _by(objects, "PersistentVolumeClaim", "nbplatform-home")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    assert claim["spec"]["storageClassName"] == "nfs"
    for name in ("nbplatform", "nbplatform-scheduler"):
        pod = _by(objects, "Deployment", name)["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes["home"]["persistentVolumeClaim"]["claimName"] == "nbplatform-home"
        assert volumes["run"] == {"name": "run", "emptyDir": {}}  # sockets stay in the pod
        for container in pod["containers"]:
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert mounts[settings.home] == "home"
            assert _env(container).get("NBP_HOME", settings.home) == settings.home
    profiles = _by(objects, "ConfigMap", "nbplatform-profiles")["data"]["profiles.yaml"]
    assert profiles == REPO_PROFILES.read_text()


def test_the_platform_service_reads_its_settings_from_the_pod(settings, objects) -> None:
    deployment = _by(objects, "Deployment", "nbplatform")
    platform = _container(deployment, "platform")
    service = ServiceSettings.from_env(_env(platform))
    assert service.database_url == SECRET["platform-db-url"]
    assert (service.host, service.port) == ("0.0.0.0", 8090)
    assert service.prefix == "/services/platform/"
    assert service.hub_api_url == "http://hub:8081/hub/api"
    assert service.hub_token == "t0ken"
    token = next(v for v in platform["env"] if v["name"] == "JUPYTERHUB_API_TOKEN")
    assert token["valueFrom"]["secretKeyRef"] == {
        "name": "hub",
        "key": "hub.services.platform.apiToken",
    }
    # The Service sends its port to the container's, which the service listens on.
    (port,) = _by(objects, "Service", "nbplatform")["spec"]["ports"]
    assert (port["port"], port["targetPort"]) == (8090, "http")
    assert platform["ports"] == [{"name": "http", "containerPort": service.port}]
    selector = _by(objects, "Service", "nbplatform")["spec"]["selector"]
    assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True


def test_mlflow_is_reachable_only_through_the_gateway_in_the_same_pod(settings, objects) -> None:
    deployment = _by(objects, "Deployment", "nbplatform")
    platform, mlflow = _container(deployment, "platform"), _container(deployment, "mlflow")
    assert "ports" not in mlflow  # no port: a Unix socket in a folder of the pod only
    socket = ServiceSettings.from_env(_env(platform)).mlflow_socket
    uds = next(a for a in mlflow["command"] if a.startswith("--uvicorn-opts="))
    assert shlex.split(uds.partition("=")[2]) == ["--uds", socket]
    folder = str(Path(socket).parent)
    for container in (platform, mlflow):
        assert {"name": "mlflow-socket", "mountPath": folder} in container["volumeMounts"]
    env = _env(mlflow)
    assert env["MLFLOW_BACKEND_STORE_URI"] == SECRET["mlflow-backend-uri"]
    assert env["MLFLOW_ARTIFACTS_DESTINATION"] == "s3://models/nbp"
    assert env["MLFLOW_S3_ENDPOINT_URL"] == "http://minio:9000"
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= {v["name"] for v in mlflow["env"]}
    # A password never sits on a command line (every process may read /proc/*/cmdline).
    assert "pw" not in " ".join(mlflow["command"])


def test_artifacts_default_to_the_shared_volume() -> None:
    settings = DeploySettings()
    mlflow = _container(
        _by(platform_manifests(settings, "profiles: []\n"), "Deployment", "nbplatform"), "mlflow"
    )
    env = _env(mlflow)
    assert env["MLFLOW_ARTIFACTS_DESTINATION"] == "/srv/nbplatform/mlflow/artifacts"
    assert "AWS_ACCESS_KEY_ID" not in env


def test_a_capabilitys_own_process_runs_beside_the_service(settings, monkeypatch) -> None:
    from nbplatform_hub.service import capabilities

    installed = capabilities.load_capabilities()
    assert not [c.name for c in installed if c.services], "a shipped capability runs a process"
    extra = capabilities.Capability(
        name="cache",
        resources=(),
        services=lambda python, env: [
            {"name": "cache_server", "command": [python, "-m", "cache.server"], "environment": env}
        ],
    )
    monkeypatch.setattr(capabilities, "load_capabilities", lambda: [*installed, extra])
    deployment = _by(
        platform_manifests(settings, REPO_PROFILES.read_text()), "Deployment", "nbplatform"
    )
    names = [c["name"] for c in deployment["spec"]["template"]["spec"]["containers"]]
    assert names == ["platform", "mlflow", "cache-server"]
    container = _container(deployment, "cache-server")
    assert container["command"] == ["python", "-m", "cache.server"]
    assert container["image"] == settings.platform_image
    assert {"name": "run", "mountPath": "/srv/nbplatform/run"} in container["volumeMounts"]


def test_the_scheduler_runs_jobs_on_the_dask_operator(settings, objects) -> None:
    deployment = _by(objects, "Deployment", "nbplatform-scheduler")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}  # never two at once
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "nbplatform-scheduler"
    env = _env(_container(deployment, "scheduler"))
    jobs = JobsSettings.from_env(env)
    assert jobs.backend == "dask-kubernetes"
    assert jobs.dask_volume == "nbplatform-home"
    assert jobs.dask_image == settings.image
    assert jobs.dask_platform_url == "http://nbplatform:8090/services/platform/"
    assert jobs.dask_namespace == "team-a"
    cluster = dask_cluster.cluster_spec(jobs)
    assert dask_errors("DaskCluster", cluster) == []
    role = _by(objects, "Role", "nbplatform-scheduler")
    (dask_rule,) = [r for r in role["rules"] if r["apiGroups"] == ["kubernetes.dask.org"]]
    assert {"daskclusters", "daskworkergroups"} <= set(dask_rule["resources"])
    assert "create" in dask_rule["verbs"]
    # Core objects are only read: the operator, not the scheduler, makes pods.
    for rule in role["rules"]:
        if rule["apiGroups"] == [""]:
            assert set(rule["verbs"]) <= {"get", "list", "watch"}
    binding = _by(objects, "RoleBinding", "nbplatform-scheduler")
    assert binding["roleRef"]["name"] == "nbplatform-scheduler"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "nbplatform-scheduler", "namespace": "team-a"}
    ]


def test_only_the_proxy_users_scheduler_and_dask_pods_reach_the_service(objects) -> None:
    policy = _by(objects, "NetworkPolicy", "nbplatform")
    service_labels = _by(objects, "Deployment", "nbplatform")["spec"]["template"]["metadata"][
        "labels"
    ]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= service_labels.items()
    (rule,) = policy["spec"]["ingress"]
    assert rule["ports"] == [{"port": 8090, "protocol": "TCP"}]
    sources = [peer["podSelector"] for peer in rule["from"]]
    scheduler_labels = _by(objects, "Deployment", "nbplatform-scheduler")["spec"]["template"][
        "metadata"
    ]["labels"]
    assert any(
        s.get("matchLabels", {}).items() <= scheduler_labels.items() and s.get("matchLabels")
        for s in sources
    )
    assert {"app": "jupyterhub", "component": "singleuser-server"} in [
        s.get("matchLabels") for s in sources
    ]
    assert {"app": "jupyterhub", "component": "proxy"} in [s.get("matchLabels") for s in sources]
    # Both pods may call the hub's API through z2jh's hub NetworkPolicy.
    for labels in (service_labels, scheduler_labels):
        assert labels["hub.jupyter.org/network-access-hub"] == "true"
