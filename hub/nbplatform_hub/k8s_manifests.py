"""The platform's own Kubernetes objects: those the Zero to JupyterHub chart does not make.

See :mod:`.k8s_deploy` for the whole picture; :func:`platform_manifests` gives,
in the order ``kubectl apply`` needs them: the shared ``ReadWriteMany`` volume
(``NBP_HOME``), the profiles ``ConfigMap``, a ``ServiceAccount`` and ``Role``
for the scheduler and for user pods (the Dask operator's resources, nothing
else), the platform service's ``Deployment`` (with MLflow and each capability's
server as containers of the same pod, on Unix sockets in a pod-local folder),
its ``Service`` and ``NetworkPolicy``, and the scheduler's ``Deployment``.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from .k8s_deploy import (
    DASK_GROUP,
    HUB_ACCESS,
    MLFLOW_SOCKET_DIR,
    SERVICE_PORT,
    DeploySettings,
    common_env,
    container_security,
    hub_token,
    labels,
    meta,
    mounts,
    pod_security,
    secret_env,
    selector,
    value_env,
    volumes,
)

__all__ = ["platform_manifests"]


def _platform_deployment(settings: DeploySettings) -> dict[str, Any]:
    from .service.capabilities import hub_services
    from .service.mlflow_transport import SOCKET_HOST

    socket = f"{MLFLOW_SOCKET_DIR}/mlflow.sock"
    env = [
        *common_env(settings),
        hub_token("platform"),
        value_env("JUPYTERHUB_SERVICE_NAME", "platform"),
        value_env("JUPYTERHUB_SERVICE_PREFIX", "/services/platform/"),
        value_env("JUPYTERHUB_SERVICE_URL", f"http://0.0.0.0:{SERVICE_PORT}"),
        value_env("NBP_MLFLOW_SOCKET", socket),
        value_env("NBP_PROTECTED_ALIASES", ",".join(settings.protected_aliases)),
        value_env("NBP_PROMOTION_SELF_APPROVAL", "0"),
        value_env("NBP_PROMOTION_REVIEW", "1"),
    ]
    pod_mounts = [*mounts(settings), {"name": "mlflow-socket", "mountPath": MLFLOW_SOCKET_DIR}]
    platform = {
        "name": "platform",
        "image": settings.platform_image,
        "command": ["python", "-m", "nbplatform_hub.service"],
        "env": env,
        "ports": [{"name": "http", "containerPort": SERVICE_PORT}],
        "readinessProbe": {
            "httpGet": {"path": "/services/platform/api/health", "port": "http"},
            "periodSeconds": 10,
        },
        "volumeMounts": pod_mounts,
        "securityContext": container_security(),
    }
    artifacts = settings.artifacts or str(PurePosixPath(settings.home) / "mlflow" / "artifacts")
    mlflow_env = [
        secret_env("MLFLOW_BACKEND_STORE_URI", settings.secret, "mlflow-backend-uri"),
        value_env("MLFLOW_ARTIFACTS_DESTINATION", artifacts),
        value_env("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false"),
    ]
    if settings.artifacts and settings.artifacts.startswith("s3://"):
        mlflow_env += [
            secret_env("AWS_ACCESS_KEY_ID", settings.secret, "aws-access-key-id", optional=True),
            secret_env(
                "AWS_SECRET_ACCESS_KEY", settings.secret, "aws-secret-access-key", optional=True
            ),
        ]
        if settings.s3_endpoint:
            mlflow_env.append(value_env("MLFLOW_S3_ENDPOINT_URL", settings.s3_endpoint))
    mlflow = {
        "name": "mlflow",
        "image": settings.platform_image,
        "command": [
            "mlflow",
            "server",
            f"--uvicorn-opts=--uds {socket}",
            "--serve-artifacts",
            "--workers=1",
            f"--allowed-hosts={SOCKET_HOST}",
        ],
        "workingDir": str(PurePosixPath(settings.home) / "mlflow"),
        "env": mlflow_env,
        "volumeMounts": pod_mounts,
        "securityContext": container_security(),
    }
    # Each capability's own processes, as the local hub starts them.
    capabilities = [
        {
            "name": service["name"].replace("_", "-")[:63],
            "image": settings.platform_image,
            "command": ["python", *service["command"][1:]],
            "env": common_env(settings),
            "volumeMounts": mounts(settings),
            "securityContext": container_security(),
        }
        for service in hub_services("python", {})
    ]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(settings, "nbplatform", "service"),
        "spec": {
            "replicas": 1,
            # MLflow keeps its socket in the pod; one pod at a time.
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": selector("service")},
            "template": {
                "metadata": {"labels": {**labels(settings, "service"), **HUB_ACCESS}},
                "spec": {
                    "securityContext": pod_security(),
                    "containers": [platform, mlflow, *capabilities],
                    "volumes": [
                        *volumes(settings),
                        {"name": "mlflow-socket", "emptyDir": {}},
                    ],
                },
            },
        },
    }


def _scheduler_deployment(settings: DeploySettings) -> dict[str, Any]:
    env = [
        *common_env(settings),
        hub_token("scheduler"),
        value_env("JUPYTERHUB_SERVICE_NAME", "scheduler"),
        value_env("NBP_JOBS_BACKEND", "dask-kubernetes"),
        value_env("NBP_JOBS_DASK_IMAGE", settings.image),
        value_env("NBP_JOBS_DASK_VOLUME", settings.volume_claim),
        value_env("NBP_JOBS_DASK_PLATFORM_URL", settings.platform_url),
        value_env("NBP_JOBS_DASK_NAMESPACE", settings.namespace),
    ]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(settings, "nbplatform-scheduler", "scheduler"),
        "spec": {
            "replicas": 1,
            # Exactly one scheduler: a rolling update would run two for a while.
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": selector("scheduler")},
            "template": {
                "metadata": {"labels": {**labels(settings, "scheduler"), **HUB_ACCESS}},
                "spec": {
                    "serviceAccountName": "nbplatform-scheduler",
                    "securityContext": pod_security(),
                    "containers": [
                        {
                            "name": "scheduler",
                            "image": settings.platform_image,
                            "command": ["python", "-m", "nbplatform_jobs"],
                            "env": env,
                            "volumeMounts": mounts(settings),
                            "securityContext": container_security(),
                        }
                    ],
                    "volumes": volumes(settings),
                },
            },
        },
    }


def _dask_role(settings: DeploySettings, name: str, component: str) -> list[dict[str, Any]]:
    """A ServiceAccount allowed to ask the Dask operator for clusters, and no more."""
    rules = [
        {
            "apiGroups": [DASK_GROUP],
            "resources": ["daskclusters", "daskworkergroups", "daskautoscalers", "daskjobs"],
            "verbs": ["get", "list", "watch", "create", "patch", "update", "delete"],
        },
        # KubeCluster waits for the scheduler's pod and Service and reads its logs.
        {"apiGroups": [""], "resources": ["pods", "services"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
    ]
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": meta(settings, name, component),
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": meta(settings, name, component),
            "rules": rules,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta(settings, name, component),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": settings.namespace}],
        },
    ]


def _network_policy(settings: DeploySettings) -> dict[str, Any]:
    def pods(match: dict[str, str]) -> dict[str, Any]:
        return {"podSelector": {"matchLabels": match}}

    sources = [
        pods({"app": "jupyterhub", "component": "proxy"}),
        pods({"app": "jupyterhub", "component": "singleuser-server"}),
        pods(selector("scheduler")),
        # Job runs on Dask workers call the platform (and MLflow through it).
        {
            "podSelector": {
                "matchExpressions": [{"key": "dask.org/cluster-name", "operator": "Exists"}]
            }
        },
    ]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta(settings, "nbplatform", "service"),
        "spec": {
            "podSelector": {"matchLabels": selector("service")},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": sources, "ports": [{"port": SERVICE_PORT, "protocol": "TCP"}]}],
        },
    }


def platform_manifests(settings: DeploySettings, profiles_yaml: str) -> list[dict[str, Any]]:
    """The Kubernetes objects of the platform that the chart does not make.

    Args:
        settings: The deployment.
        profiles_yaml: The text of ``profiles.yaml`` (the same file the chart's
            profile list was rendered from).

    Returns:
        Objects in the order ``kubectl apply`` needs them.
    """
    claim: dict[str, Any] = {
        "accessModes": ["ReadWriteMany"],
        "resources": {"requests": {"storage": settings.storage_size}},
    }
    if settings.storage_class:
        claim["storageClassName"] = settings.storage_class
    return [
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": meta(settings, settings.volume_claim, "storage"),
            "spec": claim,
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta(settings, "nbplatform-profiles", "service"),
            "data": {"profiles.yaml": profiles_yaml},
        },
        *_dask_role(settings, "nbplatform-scheduler", "scheduler"),
        *_dask_role(settings, "nbplatform-user", "user"),
        _platform_deployment(settings),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta(settings, "nbplatform", "service"),
            "spec": {
                "selector": selector("service"),
                "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": "http"}],
            },
        },
        _network_policy(settings),
        _scheduler_deployment(settings),
    ]
