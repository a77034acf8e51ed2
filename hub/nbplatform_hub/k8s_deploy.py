"""The whole platform on Kubernetes: chart values beyond the profiles, and manifests.

:mod:`.k8s` renders the profiles as Zero to JupyterHub (z2jh) values. This
module adds what the rest of the platform needs, so that ``nbplatform
render-k8s`` gives a deployment that holds, not only a hub:

Chart values (:func:`platform_values`), merged over the profile values:

- ``hub.services``: ``platform`` (routed at ``/services/platform/`` to the
  platform service's Kubernetes Service) and ``scheduler`` (no route). The chart
  generates each service's API token and keeps it in its ``hub`` Secret under
  ``hub.services.<name>.apiToken``; the platform's pods read it from there.
- ``hub.loadRoles`` and ``hub.config``: the same roles, groups and custom scopes
  the local hub loads (:func:`nbplatform_hub.config.update_roles` itself builds
  them), the authenticator, and the hub database from the platform Secret.
- ``singleuser``: ``NBP_PLATFORM_URL`` (the in-cluster service, so ``nbp.me()``,
  MLflow and the panels work in a user pod), each user's workspace as
  ``users/<name>`` of the shared volume (the path the scheduler runs their
  notebooks from, exactly as on one machine; a pod sees only its own folder),
  network-policy egress to the platform service and to Dask schedulers, and
  (``singleuser.extraFiles``) a ``jupyter_server_config.py`` whose
  ``ServerProxy.host_allowlist`` lets jupyter-server-proxy reach exactly the
  Dask scheduler Services of the namespace ``nbp.compute`` makes clusters in,
  the hosts of their dashboard links (:func:`nbplatform.compute.dashboard_host_allowlist`).
- ``proxy.chp.networkPolicy`` egress to the platform service; ``cull`` as the
  idle culler of the local hub.

Manifests (:func:`.k8s_manifests.platform_manifests`), the objects the chart does not make:

- ``PersistentVolumeClaim`` ``nbplatform-home`` (``ReadWriteMany``): ``NBP_HOME``
  of the platform service, the scheduler and Dask job workers, with the users'
  workspaces and the job runs' folders.
- ``ConfigMap`` ``nbplatform-profiles``: ``profiles.yaml`` for the platform pods.
- ``Deployment``/``Service`` ``nbplatform``: the platform service with MLflow
  (and any process a capability asks for) as containers of the same pod, on
  Unix sockets in a pod-local folder, so the authenticated gateway stays the
  only way to them, as on one machine.
- ``Deployment`` ``nbplatform-scheduler`` (one replica, ``Recreate``): the job
  scheduler on the ``dask-kubernetes`` backend, with a ``ServiceAccount`` and a
  ``Role`` for the Dask operator's resources.
- A ``ServiceAccount`` and ``Role`` for user pods (``nbp.compute.cluster()``
  asks the Dask operator for a cluster), and a ``NetworkPolicy`` that lets only
  the proxy, user pods, the scheduler and Dask pods reach the platform service.

Secrets are referenced, never rendered: a ``Secret`` (``nbplatform`` unless
``secret`` says otherwise) holds ``hub-db-url``, ``platform-db-url``,
``mlflow-backend-uri`` (PostgreSQL URLs) and optionally ``admin-password``,
``aws-access-key-id``, ``aws-secret-access-key`` (the S3-compatible store of
MLflow's artifacts), ``oauth-client-id`` and ``oauth-client-secret``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from traitlets.config import Config

__all__ = [
    "LABELS",
    "DeploySettings",
    "hub_roles",
    "platform_values",
]

#: Labels of every object this module renders.
LABELS = {"app.kubernetes.io/name": "nbplatform", "app.kubernetes.io/part-of": "nbplatform"}

SERVICE_PORT = 8090
RUN_DIR = "run"  # NBP_HOME/run: sockets, pod-local
MLFLOW_SOCKET_DIR = "/var/run/nbplatform"
#: The label z2jh's hub NetworkPolicy admits to the hub's API.
HUB_ACCESS = {"hub.jupyter.org/network-access-hub": "true"}
DASK_GROUP, DASK_VERSION = "kubernetes.dask.org", "v1"
#: The single-user server's config file rendered into ``singleuser.extraFiles``:
#: a system-wide config directory Jupyter reads and the images leave empty.
SERVER_CONFIG_KEY = "nbplatform-server-config"
SERVER_CONFIG_PATH = "/usr/local/etc/jupyter/jupyter_server_config.py"


@dataclass(frozen=True)
class DeploySettings:
    """What a deployment on Kubernetes is made of.

    Attributes:
        namespace: Where the chart and these objects are installed.
        image: The single-user image (also the image of Dask job workers).
        platform_image: The image of the platform service, MLflow and the
            scheduler: the hub image, which has every platform package.
        home: ``NBP_HOME`` in the platform pods (the shared volume's mount path).
        storage_class: StorageClass of the shared ``ReadWriteMany`` volume
            (the cluster's default when ``None``).
        storage_size: Size requested for the shared volume.
        secret: The Secret with database URLs and other credentials.
        artifacts: MLflow's artifact store: ``s3://bucket/prefix``, or ``None``
            for ``NBP_HOME/mlflow/artifacts`` on the shared volume.
        s3_endpoint: An S3-compatible endpoint (``MLFLOW_S3_ENDPOINT_URL``).
        authenticator: ``native`` or ``generic-oauth``.
        admin_users: First admins (native authenticator).
        protected_aliases: Aliases only platform-admins move.
        idle_timeout: Seconds of inactivity before a server is culled.
        extra_labels: Labels added to every object (a team, a cost centre).
    """

    namespace: str = "nbplatform"
    image: str = "nbplatform/singleuser:latest"
    platform_image: str = "nbplatform/hub:latest"
    home: str = "/srv/nbplatform"
    storage_class: str | None = None
    storage_size: str = "100Gi"
    secret: str = "nbplatform"
    artifacts: str | None = None
    s3_endpoint: str | None = None
    authenticator: str = "native"
    admin_users: tuple[str, ...] = ("admin",)
    protected_aliases: tuple[str, ...] = ("champion",)
    idle_timeout: int = 3600
    extra_labels: dict[str, str] = field(default_factory=dict)

    @property
    def service_url(self) -> str:
        """The platform service inside the cluster (same namespace)."""
        return f"http://nbplatform:{SERVICE_PORT}"

    @property
    def platform_url(self) -> str:
        """``NBP_PLATFORM_URL`` of user pods, the scheduler and job workers."""
        return f"{self.service_url}/services/platform/"

    @property
    def hub_api_url(self) -> str:
        """The hub's REST API as z2jh's ``hub`` Service offers it."""
        return "http://hub:8081/hub/api"

    @property
    def volume_claim(self) -> str:
        """The shared volume's claim name."""
        return "nbplatform-home"


# -- helpers -------------------------------------------------------------------
def labels(settings: DeploySettings, component: str) -> dict[str, str]:
    """The labels of an object of ``component``."""
    return {**LABELS, "app.kubernetes.io/component": component, **settings.extra_labels}


def selector(component: str) -> dict[str, str]:
    """The labels that select the pods of ``component``."""
    return {"app.kubernetes.io/name": "nbplatform", "app.kubernetes.io/component": component}


def meta(settings: DeploySettings, name: str, component: str) -> dict[str, Any]:
    """An object's ``metadata``: name, namespace, labels."""
    return {"name": name, "namespace": settings.namespace, "labels": labels(settings, component)}


def value_env(name: str, value: str) -> dict[str, Any]:
    """A container variable with a literal value."""
    return {"name": name, "value": value}


def secret_env(name: str, secret: str, key: str, *, optional: bool = False) -> dict[str, Any]:
    """A container variable read from a key of a Secret."""
    ref: dict[str, Any] = {"name": secret, "key": key}
    if optional:
        ref["optional"] = True
    return {"name": name, "valueFrom": {"secretKeyRef": ref}}


def hub_token(service: str) -> dict[str, Any]:
    """``JUPYTERHUB_API_TOKEN`` of a hub service, from the chart's ``hub`` Secret."""
    # z2jh keeps each hub service's generated token in its `hub` Secret.
    return secret_env("JUPYTERHUB_API_TOKEN", "hub", f"hub.services.{service}.apiToken")


def pod_security() -> dict[str, Any]:
    """The pod security context of the platform's pods."""
    # The single-user images' user (jovyan, 1000:100): files on the shared
    # volume stay readable by users' pods, the scheduler and Dask workers.
    return {"runAsUser": 1000, "runAsGroup": 100, "fsGroup": 100, "runAsNonRoot": True}


def container_security() -> dict[str, Any]:
    """The container security context: no privilege escalation, no capabilities."""
    return {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def common_env(settings: DeploySettings) -> list[dict[str, Any]]:
    """What every platform pod is told (``NBP_HOME``, the database, the hub)."""
    return [
        value_env("NBP_HOME", settings.home),
        value_env("NBP_PROFILES", "/etc/nbplatform/profiles.yaml"),
        value_env("NBP_PLATFORM_URL", settings.platform_url),
        # Pods are the boundary between users here, not system users.
        value_env("NBP_ISOLATION", "off"),
        value_env("JUPYTERHUB_API_URL", settings.hub_api_url),
        secret_env("NBP_PLATFORM_DB_URL", settings.secret, "platform-db-url"),
    ]


def mounts(settings: DeploySettings) -> list[dict[str, Any]]:
    """The shared volume, the pod-local ``NBP_HOME/run`` and the profiles."""
    return [
        {"name": "home", "mountPath": settings.home},
        {"name": "run", "mountPath": str(PurePosixPath(settings.home) / RUN_DIR)},
        {"name": "profiles", "mountPath": "/etc/nbplatform", "readOnly": True},
    ]


def volumes(settings: DeploySettings) -> list[dict[str, Any]]:
    """The volumes :func:`mounts` mounts."""
    return [
        {"name": "home", "persistentVolumeClaim": {"claimName": settings.volume_claim}},
        {"name": "run", "emptyDir": {}},
        {"name": "profiles", "configMap": {"name": "nbplatform-profiles"}},
    ]


# -- chart values ----------------------------------------------------------------
def hub_roles() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The roles and groups the local hub loads, from the same function.

    Returns:
        ``(load_roles, load_groups)`` as :func:`nbplatform_hub.config.update_roles`
        sets them for an OAuth hub (no first admins put in groups).
    """
    from .config import update_roles
    from .settings import Settings

    c = Config()
    update_roles(c, Settings(home=Path("/srv/nbplatform"), authenticator="generic-oauth"))
    # The idle culler is z2jh's own (`cull`), with its own role.
    roles = [r for r in c.JupyterHub.load_roles if r["name"] != "idle-culler"]
    return roles, dict(c.JupyterHub.load_groups)


_HUB_DB_CONFIG = """\
# Rendered by nbplatform (nbplatform_hub.k8s_deploy); do not edit.
# The hub database URL holds a password, so it comes from the platform Secret
# (hub.extraEnv NBP_HUB_DB_URL), not from the values.
import os as _nbp_os

c.JupyterHub.db_url = _nbp_os.environ["NBP_HUB_DB_URL"]
if _nbp_os.environ.get("NBP_ADMIN_PASSWORD"):
    c.PlatformAuthenticator.admin_password = _nbp_os.environ["NBP_ADMIN_PASSWORD"]
"""


SERVER_CONFIG = """\
# Rendered by nbplatform (nbplatform_hub.k8s_deploy); do not edit.
# nbp.compute links a Kubernetes Dask cluster's dashboard through this server's
# jupyter-server-proxy as proxy/<cluster>-scheduler.<namespace>:8787/status, and
# jupyter-server-proxy proxies only the hosts ServerProxy.host_allowlist admits:
# besides localhost, exactly the scheduler Services of the namespace nbp.compute
# makes clusters in (NBP_DASK_NAMESPACE, else this pod's own).
from nbplatform.compute import dashboard_host_allowlist as _nbp_dashboard_hosts

c.ServerProxy.host_allowlist = _nbp_dashboard_hosts()
"""


def _auth_config(settings: DeploySettings) -> dict[str, Any]:
    if settings.authenticator == "generic-oauth":
        return {
            "JupyterHub": {"authenticator_class": "generic-oauth"},
            "GenericOAuthenticator": {
                "manage_groups": True,
                "auth_state_groups_key": "oauth_user.groups",
                "admin_groups": ["platform-admin"],
            },
            "Authenticator": {"allow_all": True},
        }
    return {
        "JupyterHub": {"authenticator_class": "nbplatform"},
        "Authenticator": {"admin_users": list(settings.admin_users), "allow_all": True},
        "PlatformAuthenticator": {"default_group": "data-scientist"},
        "NativeAuthenticator": {
            "open_signup": False,
            "minimum_password_length": 8,
            "check_common_password": True,
        },
    }


def platform_values(settings: DeploySettings) -> dict[str, Any]:
    """The z2jh values that wire the hub and user pods to the platform.

    Args:
        settings: The deployment.

    Returns:
        Values to merge over :func:`nbplatform_hub.k8s.render_values`' (its ``extra``).
    """
    from .roles import CUSTOM_SCOPES

    roles, groups = hub_roles()
    if settings.authenticator == "native":
        groups["platform-admin"] = {"users": list(settings.admin_users)}
    hub_env: dict[str, Any] = {
        "NBP_HUB_DB_URL": {
            "valueFrom": {"secretKeyRef": {"name": settings.secret, "key": "hub-db-url"}}
        },
        "NBP_ADMIN_PASSWORD": {
            "valueFrom": {
                "secretKeyRef": {"name": settings.secret, "key": "admin-password", "optional": True}
            }
        },
    }
    if settings.authenticator == "generic-oauth":
        for name, key in (
            ("OAUTH_CLIENT_ID", "oauth-client-id"),
            ("OAUTH_CLIENT_SECRET", "oauth-client-secret"),
        ):
            hub_env[name] = {"valueFrom": {"secretKeyRef": {"name": settings.secret, "key": key}}}
    config = _auth_config(settings)
    config["JupyterHub"].update(custom_scopes=CUSTOM_SCOPES, load_groups=groups)
    to_platform = {
        "to": [{"podSelector": {"matchLabels": selector("service")}}],
        "ports": [{"port": SERVICE_PORT, "protocol": "TCP"}],
    }
    to_dask = {
        "to": [{"podSelector": {"matchLabels": {"dask.org/component": "scheduler"}}}],
        "ports": [{"port": 8786, "protocol": "TCP"}, {"port": 8787, "protocol": "TCP"}],
    }
    return {
        "hub": {
            "db": {"type": "other"},
            "extraEnv": hub_env,
            "extraConfig": {"20-nbplatform-hub-db": _HUB_DB_CONFIG},
            "config": config,
            "loadRoles": {role["name"]: role for role in roles},
            "services": {
                "platform": {
                    "url": settings.service_url,
                    "display": True,
                    "oauth_no_confirm": True,
                    "oauth_client_allowed_scopes": list(CUSTOM_SCOPES),
                },
                "scheduler": {},
            },
        },
        "singleuser": {
            "extraEnv": {"NBP_PLATFORM_URL": settings.platform_url},
            "serviceAccountName": "nbplatform-user",
            "storage": {
                "type": "static",
                "static": {"pvcName": settings.volume_claim, "subPath": "users/{username}"},
                "homeMountPath": "/home/jovyan",
            },
            "networkPolicy": {"egress": [to_platform, to_dask]},
            "extraFiles": {
                SERVER_CONFIG_KEY: {"mountPath": SERVER_CONFIG_PATH, "stringData": SERVER_CONFIG}
            },
        },
        "proxy": {"chp": {"networkPolicy": {"egress": [to_platform]}}},
        "cull": {"enabled": True, "timeout": settings.idle_timeout, "every": 300},
    }
