"""The IPython extension every platform kernel loads (``--IPKernelApp.extensions``).

It points MLflow at the platform's authenticated gateway with this server's hub
token, points the stock Feast SDK at the platform's feature store
(``FEAST_FS_YAML_FILE_PATH``), pins the GPUs of the server's profile, and puts
``nbp`` in the user namespace. It imports nothing heavy: the first use of MLflow, torch and friends
pays for them, not the kernel start.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from typing import Any

from . import config as _config


def configure_environment(env: MutableMapping[str, str] | None = None) -> _config.PlatformConfig:
    """Set the variables a platform kernel needs, keeping any the user set.

    Sets ``MLFLOW_TRACKING_URI`` (the platform's MLflow gateway),
    ``MLFLOW_TRACKING_TOKEN`` (the hub token), ``NBP_TOKEN`` and, where the
    platform assigned the devices (``NBP_GPU_DEVICES`` set: the local spawner's
    allocator, a job run), ``CUDA_VISIBLE_DEVICES`` (those GPUs, empty for CPU
    profiles). A ``CUDA_VISIBLE_DEVICES`` the platform did not assign (a
    Kubernetes pod whose GPU the device plugin chose) is left as it is.

    Args:
        env: The environment to change (``os.environ`` when omitted).

    Returns:
        The platform configuration read from it.
    """
    env = os.environ if env is None else env
    cfg = _config.load(env=env)
    for name, value in _config.mlflow_environment(cfg.platform_url, cfg.token).items():
        env.setdefault(name, value)
    if cfg.token:
        env.setdefault("NBP_TOKEN", cfg.token)
    if cfg.profile is not None and cfg.gpus_assigned:
        env["CUDA_VISIBLE_DEVICES"] = ",".join(cfg.gpu_devices)
    env.setdefault("NBP_KERNEL_PRELOADED", "1")
    return cfg


def configure_feast(env: MutableMapping[str, str] | None = None) -> str | None:
    """Point the stock Feast SDK and CLI at the platform's feature store.

    Writes the client ``feature_store.yaml`` (:func:`nbplatform.feast_config.write_client_config`,
    ``~/.nbplatform/feature_store.yaml``, no secret in it) and sets
    ``FEAST_FS_YAML_FILE_PATH`` to it, unless the user set that variable.

    Args:
        env: The environment to change (``os.environ`` when omitted).

    Returns:
        The file Feast reads, or ``None`` off the platform or when it cannot be written.
    """
    env = os.environ if env is None else env
    if env.get("FEAST_FS_YAML_FILE_PATH"):
        return env["FEAST_FS_YAML_FILE_PATH"]
    cfg = _config.load(env=env)
    if not cfg.platform_url:
        return None
    from .feast_config import write_client_config

    try:
        path = write_client_config(platform_url=cfg.platform_url)
    except OSError:  # a read-only home: the SDK can still be given the file by hand
        return None
    env["FEAST_FS_YAML_FILE_PATH"] = str(path)
    return str(path)


def load_ipython_extension(ipython: Any) -> None:
    """Configure the kernel and make ``nbp`` available (``%load_ext nbplatform.kernel``)."""
    import nbplatform

    configure_environment()
    configure_feast()
    ipython.push({"nbp": nbplatform}, interactive=False)


def unload_ipython_extension(ipython: Any) -> None:
    """Nothing to undo: the environment stays as configured."""
