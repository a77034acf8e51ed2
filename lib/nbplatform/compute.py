"""Dask clusters from notebooks, sized by the server's profile.

``nbp.compute.cluster()`` gives one Dask cluster per kernel:

- On one machine, a ``distributed.LocalCluster`` within the profile's limits:
  workers × threads never exceed ``CPU_LIMIT``, and the workers' memory limits
  add up to at most :data:`MEMORY_SHARE` of ``MEM_LIMIT`` (the rest is the
  kernel's own). Asking for more raises :class:`~nbplatform.errors.InvalidParameterError`
  naming the limit. Its dashboard listens on loopback only and is linked
  through the hub (``/user/<name>/proxy/<port>/status``, jupyter-server-proxy in
  the user's own server, so only its owner gets in).
- On Kubernetes (``KUBERNETES_SERVICE_HOST`` set, or ``NBP_COMPUTE_BACKEND=kubernetes``),
  a ``dask_kubernetes.operator.KubeCluster`` whose workers are pods of the
  single-user image (``NBP_DASK_IMAGE``, else ``JUPYTER_IMAGE``), each with the
  profile's CPU and memory limits and GPUs; at most ``NBP_COMPUTE_MAX_WORKERS`` (8).
  Its dashboard is the scheduler's Service, linked as
  ``/user/<name>/proxy/<cluster>-scheduler.<namespace>:8787/status``; the
  server's jupyter-server-proxy admits those hosts only through
  :func:`dashboard_host_allowlist` (``render-k8s`` installs it in user pods).

The cluster is closed when the kernel stops (``atexit``) or by :func:`close`.
``distributed`` and ``dask_kubernetes`` are imported on first use only.
"""

from __future__ import annotations

import atexit
import math
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigurationError, ConflictError, InvalidParameterError

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client
    from distributed.deploy import Cluster

__all__ = [
    "MEMORY_SHARE",
    "cgroup_cpus",
    "close",
    "client",
    "cluster",
    "kube_cluster_spec",
    "local_sizing",
    "on_kubernetes",
    "profile_gpus",
]

#: Share of ``MEM_LIMIT`` the workers of a local cluster may use together.
MEMORY_SHARE = 0.75
DEFAULT_KUBE_WORKERS = 2
NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
#: Where the kernel's CPU quota is read when ``CPU_LIMIT`` is unset (cgroup v2, then v1).
CGROUP_CPU_FILES = (
    Path("/sys/fs/cgroup/cpu.max"),
    Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"),
)
GPU_RESOURCE = "nvidia.com/gpu"
#: How the Dask operator names a cluster's scheduler Service
#: (``dask_kubernetes.constants.SCHEDULER_NAME_TEMPLATE``).
SCHEDULER_SERVICE = "{cluster_name}-scheduler"
#: The hosts jupyter-server-proxy admits by default (this pod's own loopback).
LOOPBACK_HOSTS = ("localhost", "127.0.0.1")
# A Service name: an RFC 1035 label (lowercase, starts with a letter, at most 63).
_SERVICE_NAME = re.compile(r"[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?")

_cluster: Any = None
_options: dict[str, Any] | None = None


def cgroup_cpus(files: tuple[Path, ...] = CGROUP_CPU_FILES) -> float | None:
    """The CPU quota of this process's cgroup, or None when unlimited or unknown.

    Args:
        files: cgroup v2 ``cpu.max``, then v1 ``cpu.cfs_quota_us`` (its period is
            read next to it, ``cpu.cfs_period_us``).

    Returns:
        Quota / period, in CPUs.
    """
    for path in files:
        try:
            fields = path.read_text().split()
            if path.name == "cpu.max":
                quota, period = fields[0], fields[1]
            else:
                quota = fields[0]
                period = (path.parent / "cpu.cfs_period_us").read_text().strip()
            if quota in ("max", "-1"):
                return None
            return int(quota) / int(period)
        except (OSError, IndexError, ValueError):
            continue
    return None


def _cpu_budget(env: Mapping[str, str]) -> float:
    value = env.get("CPU_LIMIT", "").strip()
    if value:
        try:
            return float(value)
        except ValueError:
            raise ConfigurationError(f"CPU_LIMIT={value!r} is not a number.") from None
    try:
        cpus = float(len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = float(os.cpu_count() or 1)
    quota = cgroup_cpus()
    return min(cpus, quota) if quota else cpus


def _memory_budget(env: Mapping[str, str]) -> int | None:
    value = env.get("MEM_LIMIT", "").strip()
    if not value:
        return None
    try:
        return int(float(value))
    except ValueError:
        raise ConfigurationError(f"MEM_LIMIT={value!r} is not a number of bytes.") from None


def _bytes(value: int | str) -> int:
    if isinstance(value, int):
        return value
    from dask.utils import parse_bytes

    try:
        return int(parse_bytes(value))
    except (ValueError, TypeError):
        raise InvalidParameterError(f"memory_limit={value!r} is not a size.") from None


def _size(number: int) -> str:
    from dask.utils import format_bytes

    return str(format_bytes(number))


def local_sizing(
    n_workers: int | None = None,
    threads_per_worker: int | None = None,
    memory_limit: int | str | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The ``LocalCluster`` arguments that fit the profile.

    The profile's CPUs are ``CPU_LIMIT`` (else the CPUs this process may use,
    capped by its cgroup quota), rounded down, at least one.

    Args:
        n_workers: Worker processes; by default one per CPU the profile allows (at most 4).
        threads_per_worker: Threads of each worker; by default the CPUs left per worker.
        memory_limit: Memory limit of each worker (bytes or ``"2GB"``); by default
            an equal share of :data:`MEMORY_SHARE` of ``MEM_LIMIT``.
        env: The environment (``os.environ`` when omitted).

    Returns:
        ``{"n_workers", "threads_per_worker", "memory_limit"}``.

    Raises:
        InvalidParameterError: The request exceeds the profile's ``CPU_LIMIT`` or
            ``MEM_LIMIT``, or is not a positive size.
    """
    env = os.environ if env is None else env
    cpus = max(1, math.floor(_cpu_budget(env)))
    for name, value in (("n_workers", n_workers), ("threads_per_worker", threads_per_worker)):
        if value is not None and (not isinstance(value, int) or value < 1):
            raise InvalidParameterError(f"{name} must be a positive whole number, not {value!r}.")
    workers = n_workers or min(cpus, 4)
    threads = threads_per_worker or max(1, cpus // workers)
    if workers * threads > cpus:
        raise InvalidParameterError(
            f"{workers} workers × {threads} threads is more than the {cpus} CPUs this "
            f"server's profile allows (CPU_LIMIT={env.get('CPU_LIMIT', cpus)}); ask for fewer "
            "or pick a larger profile."
        )
    budget = _memory_budget(env)
    if memory_limit is None:
        limit: int | str = int(budget * MEMORY_SHARE) // workers if budget else "auto"
    else:
        limit = _bytes(memory_limit)
        if limit <= 0:
            raise InvalidParameterError(f"memory_limit must be positive, not {memory_limit!r}.")
        if budget and limit * workers > budget * MEMORY_SHARE:
            raise InvalidParameterError(
                f"{workers} workers × {_size(limit)} is more than "
                f"{_size(int(budget * MEMORY_SHARE))}, {int(MEMORY_SHARE * 100)}% of this "
                f"server's memory (MEM_LIMIT={_size(budget)}); the rest is the kernel's own."
            )
    return {"n_workers": workers, "threads_per_worker": threads, "memory_limit": limit}


def on_kubernetes(env: Mapping[str, str] | None = None) -> bool:
    """Whether clusters are asked of the Dask operator rather than started locally."""
    env = os.environ if env is None else env
    backend = env.get("NBP_COMPUTE_BACKEND", "").strip().lower()
    if backend:
        if backend not in ("local", "kubernetes"):
            raise ConfigurationError(
                f"NBP_COMPUTE_BACKEND={backend!r} is not 'local' or 'kubernetes'."
            )
        return backend == "kubernetes"
    return bool(env.get("KUBERNETES_SERVICE_HOST"))


def profile_gpus(env: Mapping[str, str] | None = None) -> int:
    """How many GPUs the server's profile has, for worker pods to get as many.

    ``NBP_PROFILE_GPUS`` when set; otherwise the devices the NVIDIA device plugin
    gave this pod (``NVIDIA_VISIBLE_DEVICES``, ``none`` on CPU profiles).

    Args:
        env: The environment (``os.environ`` when omitted).

    Returns:
        The number of GPUs, 0 for none.
    """
    env = os.environ if env is None else env
    value = env.get("NBP_PROFILE_GPUS", "").strip()
    if value:
        try:
            return max(0, int(value))
        except ValueError:
            raise ConfigurationError(f"NBP_PROFILE_GPUS={value!r} is not a number.") from None
    devices = env.get("NVIDIA_VISIBLE_DEVICES", "").strip().lower()
    if devices in ("", "none", "void", "all"):
        return 0
    return len([d for d in devices.split(",") if d.strip()])


def _quantity_cpu(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{math.ceil(value * 1000)}m"


def _namespace(env: Mapping[str, str]) -> str:
    if env.get("NBP_DASK_NAMESPACE"):
        return env["NBP_DASK_NAMESPACE"]
    if NAMESPACE_FILE.exists():
        return NAMESPACE_FILE.read_text().strip()
    return "default"


def kube_cluster_spec(
    n_workers: int | None = None, env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The ``DaskCluster`` a notebook asks the Dask operator for.

    Every worker pod gets the profile's limits: ``CPU_LIMIT``, ``MEM_LIMIT`` and
    its GPUs (:func:`profile_gpus`, with a toleration for GPU nodes); the
    scheduler its CPU and memory but no GPU. The namespace is
    ``NBP_DASK_NAMESPACE``, else the pod's own (its service account's).

    Args:
        n_workers: Worker pods (default 2, at most ``NBP_COMPUTE_MAX_WORKERS``, 8).
        env: The environment (``os.environ`` when omitted).

    Returns:
        The custom resource, for ``KubeCluster(custom_cluster_spec=...)``.

    Raises:
        ConfigurationError: No image is known (``NBP_DASK_IMAGE`` / ``JUPYTER_IMAGE``).
        InvalidParameterError: More workers than allowed.
    """
    from dask_kubernetes.operator import make_cluster_spec

    env = os.environ if env is None else env
    image = env.get("NBP_DASK_IMAGE") or env.get("JUPYTER_IMAGE")
    if not image:
        raise ConfigurationError(
            "No image for Dask workers: set NBP_DASK_IMAGE (KubeSpawner's JUPYTER_IMAGE is "
            "used when set)."
        )
    most = int(env.get("NBP_COMPUTE_MAX_WORKERS", "8"))
    workers = DEFAULT_KUBE_WORKERS if n_workers is None else n_workers
    if not isinstance(workers, int) or not 1 <= workers <= most:
        raise InvalidParameterError(
            f"n_workers must be between 1 and {most} (NBP_COMPUTE_MAX_WORKERS), not {workers!r}."
        )
    limits: dict[str, str] = {"cpu": _quantity_cpu(_cpu_budget(env))}
    memory = _memory_budget(env)
    if memory:
        limits["memory"] = str(memory)
    gpus = profile_gpus(env)
    user = re.sub(r"[^a-z0-9-]", "-", env.get("JUPYTERHUB_USER", "user").lower())[:30]
    spec = make_cluster_spec(
        name=f"nbp-{user}".strip("-"),
        image=image,
        n_workers=workers,
        resources={"limits": limits, "requests": dict(limits)},
        env={"NBP_PLATFORM_URL": env.get("NBP_PLATFORM_URL", "")},
    )
    spec["metadata"]["namespace"] = _namespace(env)
    pod = spec["spec"]["worker"]["spec"]
    (container,) = pod["containers"]
    if gpus:
        gpu_limits = {**limits, GPU_RESOURCE: str(gpus)}
        container["resources"] = {"limits": gpu_limits, "requests": dict(gpu_limits)}
        pod["tolerations"] = [{"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}]
    else:  # an image built on CUDA sees no GPU of the node
        container["env"].append({"name": "NVIDIA_VISIBLE_DEVICES", "value": "none"})
    return spec


def dashboard_host_allowlist(env: Mapping[str, str] | None = None) -> Callable[[Any, str], bool]:
    """jupyter-server-proxy's ``ServerProxy.host_allowlist`` for Kubernetes clusters' dashboards.

    A ``KubeCluster``'s dashboard link names the scheduler's Service as
    ``KubeCluster`` reaches it inside the cluster, ``<cluster>-scheduler.<namespace>``,
    and jupyter-server-proxy refuses every host its allowlist does not admit
    (by default only ``localhost`` and ``127.0.0.1``). The returned callable
    admits those two and the scheduler Services of the namespace
    :func:`kube_cluster_spec` makes clusters in (``NBP_DASK_NAMESPACE``, else the
    pod's own), read once, now: not Services of other namespaces, not other
    names (``hub``), not addresses (the cloud metadata server's ``169.254.169.254``).

    Args:
        env: The environment (``os.environ`` when omitted).

    Returns:
        ``allowed(handler, host) -> bool``, for ``c.ServerProxy.host_allowlist``.
    """
    env = os.environ if env is None else env
    namespace = _namespace(env)
    suffix = SCHEDULER_SERVICE.format(cluster_name="") + "." + namespace

    def allowed(handler: Any, host: str) -> bool:
        if host in LOOPBACK_HOSTS:
            return True
        if not host.endswith(suffix):
            return False
        service = host[: -len(namespace) - 1]
        return _SERVICE_NAME.fullmatch(service) is not None

    return allowed


def _dashboard_link(env: Mapping[str, str], remote: bool) -> str | None:
    prefix = env.get("JUPYTERHUB_SERVICE_PREFIX")
    if not prefix:
        return None
    # Formatted by distributed with the environment, host and port.
    target = "{host}:{port}" if remote else "{port}"
    return prefix.rstrip("/") + "/proxy/" + target + "/status"


def cluster(
    n_workers: int | None = None,
    *,
    threads_per_worker: int | None = None,
    memory_limit: int | str | None = None,
    processes: bool = True,
    **kwargs: Any,
) -> Cluster:
    """The kernel's Dask cluster, started on first call within the profile's limits.

    Locally (see :func:`local_sizing`), workers × threads stay within
    ``CPU_LIMIT`` and the workers' memory within :data:`MEMORY_SHARE` (75%) of
    ``MEM_LIMIT``; on Kubernetes (see :func:`kube_cluster_spec`) each worker pod
    gets the profile's resources. The dashboard listens on 127.0.0.1 and, in a
    single-user server, ``cluster.dashboard_link`` is
    ``{JUPYTERHUB_SERVICE_PREFIX}proxy/<port>/status``, served by
    jupyter-server-proxy in the owner's own server.

    There is one cluster per kernel: calling again with no arguments, or the same
    ones, returns the running cluster. It is closed by :func:`close` or when the
    kernel exits; local workers also stop if the kernel is killed.

    Args:
        n_workers: Workers (processes locally, pods on Kubernetes).
        threads_per_worker: Threads of each local worker.
        memory_limit: Memory limit of each local worker (bytes or ``"2GB"``).
        processes: Local workers as processes (True) or threads of the kernel.
        **kwargs: Passed on to ``LocalCluster`` or ``KubeCluster``.

    Returns:
        A running ``distributed`` cluster.

    Raises:
        InvalidParameterError: The request exceeds the profile.
        ConfigurationError: A setting (``CPU_LIMIT``, ``NBP_DASK_IMAGE``...) is wrong or missing.
        ConflictError: A cluster with other options runs already (``close()`` it first).

    Example:
        >>> cluster = nbp.compute.cluster(n_workers=2)  # doctest: +SKIP
        >>> cluster.dashboard_link  # doctest: +SKIP
        '/user/alice/proxy/38021/status'
    """
    global _cluster, _options
    options = {
        "n_workers": n_workers,
        "threads_per_worker": threads_per_worker,
        "memory_limit": memory_limit,
        **({} if processes else {"processes": False}),
        **kwargs,
    }
    status = getattr(getattr(_cluster, "status", None), "name", None)
    if _cluster is not None and status == "running":
        if all(v is None for v in options.values()) or options == _options:
            return _cluster
        raise ConflictError(
            "This kernel's Dask cluster runs already with other options; call "
            "nbp.compute.close() first."
        )
    import dask
    import distributed  # noqa: F401 - loads distributed's config defaults first

    env = os.environ
    remote = on_kubernetes(env)
    link = _dashboard_link(env, remote)
    if link:
        # For this kernel (a context manager would drop the defaults loaded above).
        dask.config.set({"distributed.dashboard.link": link})
    if remote:
        from dask_kubernetes.operator import KubeCluster

        spec = kube_cluster_spec(n_workers, env)
        namespace = spec["metadata"]["namespace"]
        started = KubeCluster(custom_cluster_spec=spec, namespace=namespace, **kwargs)
    else:
        from distributed import LocalCluster

        sizing = local_sizing(n_workers, threads_per_worker, memory_limit, env)
        # Nothing listens beyond loopback: the dashboards, the scheduler, the workers.
        kwargs.setdefault("dashboard_address", "127.0.0.1:0")
        kwargs.setdefault("worker_dashboard_address", "127.0.0.1:0")
        if processes:  # threads talk in-process (inproc://), which has no host
            kwargs.setdefault("host", "127.0.0.1")
        started = LocalCluster(**sizing, processes=processes, **kwargs)
    _cluster, _options = started, options
    return started


def client(*args: Any, **kwargs: Any) -> Client:
    """A ``distributed.Client`` of the kernel's cluster.

    Args:
        *args: As for :func:`cluster`.
        **kwargs: As for :func:`cluster`.

    Returns:
        A client connected to :func:`cluster`'s cluster (closing the client
        leaves the cluster running).
    """
    from distributed import Client

    return Client(cluster(*args, **kwargs))


def close() -> None:
    """Close the kernel's cluster (its workers stop); nothing when none runs."""
    global _cluster, _options
    if _cluster is not None:
        try:
            _cluster.close()
        finally:
            _cluster, _options = None, None


atexit.register(close)
