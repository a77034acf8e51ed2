"""The ``dask-kubernetes`` job backend's cluster: what its pods are made of, as data.

:func:`cluster_spec` renders the ``DaskCluster`` and :func:`worker_groups` one
``DaskWorkerGroup`` per profile (the Dask operator's custom resources), from
the settings the scheduler reads (``NBP_JOBS_DASK_*``) and the platform's
profiles. Pure functions: the tests check the rendered objects against the
operator's own schema without a cluster.

- **Image**: ``NBP_JOBS_DASK_IMAGE``, the user image (the platform's packages,
  its kernelspecs, papermill), for the scheduler pod and every worker.
- **Run folders**: the PersistentVolumeClaim ``NBP_JOBS_DASK_VOLUME`` holding
  ``NBP_HOME`` is mounted at the scheduler's own ``NBP_HOME`` path in every
  worker, so a run's folder has the same path everywhere: it is the only state
  a worker shares with the scheduler (the design's one channel).
- **Per profile**: a worker group per profile, each worker with the profile's
  CPU and memory limits, ``nvidia.com/gpu`` (and a toleration for GPU nodes)
  for GPU profiles, one thread, and the Dask resource ``nbp-<profile>=1``: a
  run asks for its profile's resource, so it lands on a worker of its profile,
  one run per worker at a time.
- Runs reach the platform at ``NBP_JOBS_DASK_PLATFORM_URL`` (in-cluster),
  carried in each run's environment, never the scheduler's loopback address.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from .settings import JobsSettings

CLUSTER = "nbplatform-jobs"
API_VERSION = "kubernetes.dask.org/v1"
VOLUME = "nbp-home"
GPU_RESOURCE = "nvidia.com/gpu"


def resource_name(profile: str) -> str:
    """The Dask worker resource a run of ``profile`` asks for (``nbp-<profile>``)."""
    return f"nbp-{profile}"


def _quantity_cpu(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{math.ceil(value * 1000)}m"


def worker_pod_spec(settings: JobsSettings, profile: Any) -> dict[str, Any]:
    """The pod of one worker of ``profile``.

    Args:
        settings: The scheduler's settings (image, volume, ``NBP_HOME``).
        profile: A :class:`nbplatform_hub.host.Profile`.

    Returns:
        A Kubernetes ``PodSpec``.
    """
    limits: dict[str, Any] = {
        "cpu": _quantity_cpu(profile.cpu_limit),
        "memory": str(profile.mem_limit_bytes),
    }
    if profile.gpus:
        limits[GPU_RESOURCE] = profile.gpus
    container = {
        "name": "worker",
        "image": settings.dask_image,
        "args": [
            "dask-worker",
            "--name",
            "$(DASK_WORKER_NAME)",
            "--nthreads",
            "1",
            "--resources",
            f"{resource_name(profile.slug)}=1",
            "--dashboard",
            "--dashboard-address",
            "8788",
        ],
        "env": [{"name": "NBP_HOME", "value": str(settings.home)}],
        "resources": {"limits": limits, "requests": dict(limits)},
        "ports": [{"name": "http-dashboard", "containerPort": 8788, "protocol": "TCP"}],
        "volumeMounts": [{"name": VOLUME, "mountPath": str(settings.home)}],
    }
    if not profile.gpus:  # an image built on CUDA sees no GPU of the node
        container["env"].append({"name": "NVIDIA_VISIBLE_DEVICES", "value": "none"})
    spec: dict[str, Any] = {
        "containers": [container],
        "volumes": [{"name": VOLUME, "persistentVolumeClaim": {"claimName": settings.dask_volume}}],
        "securityContext": {"runAsUser": 1000, "runAsGroup": 100, "fsGroup": 100},
    }
    if profile.gpus:
        spec["tolerations"] = [{"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}]
    return spec


def cluster_spec(settings: JobsSettings) -> dict[str, Any]:
    """The ``DaskCluster``: its scheduler pod, and a default worker group of none.

    Workers come from :func:`worker_groups`, one group per profile.
    """
    from dask_kubernetes.operator import make_cluster_spec

    spec = make_cluster_spec(CLUSTER, image=settings.dask_image, n_workers=0)
    if settings.dask_namespace:
        spec["metadata"]["namespace"] = settings.dask_namespace
    return spec


def worker_groups(
    settings: JobsSettings, profiles: Iterable[Any], replicas: int
) -> list[dict[str, Any]]:
    """One ``DaskWorkerGroup`` per profile, ``replicas`` workers each.

    Args:
        settings: The scheduler's settings.
        profiles: The platform's profiles.
        replicas: Workers per profile (``NBP_JOBS_CONCURRENCY``).

    Returns:
        The custom resources, in profile order.
    """
    groups = []
    for profile in profiles:
        metadata: dict[str, Any] = {"name": f"{CLUSTER}-{profile.slug}"}
        if settings.dask_namespace:
            metadata["namespace"] = settings.dask_namespace
        groups.append(
            {
                "apiVersion": API_VERSION,
                "kind": "DaskWorkerGroup",
                "metadata": metadata,
                "spec": {
                    "cluster": CLUSTER,
                    "worker": {
                        "replicas": replicas,
                        "spec": worker_pod_spec(settings, profile),
                    },
                },
            }
        )
    return groups


def open_kube_cluster(
    settings: JobsSettings, profiles: Iterable[Any], replicas: int
) -> Any:  # pragma: no cover - needs a Kubernetes cluster with the Dask operator
    """Create the cluster and its worker groups with ``dask_kubernetes``; return it."""
    from dask_kubernetes.operator import KubeCluster

    cluster = KubeCluster(
        custom_cluster_spec=cluster_spec(settings),
        namespace=settings.dask_namespace,
        shutdown_on_close=True,
    )
    for group in worker_groups(settings, profiles, replicas):
        # dask_kubernetes names the group <cluster>-<name> and wraps the worker part
        cluster.add_worker_group(
            name=group["metadata"]["name"].removeprefix(f"{CLUSTER}-"),
            custom_spec=group["spec"]["worker"],
        )
    return cluster
