"""The IPython extension every platform kernel loads (``--IPKernelApp.extensions``).

It points MLflow at the platform's authenticated gateway with this server's hub
token, pins the GPUs of the server's profile, and puts ``nbp`` in the user
namespace. It imports nothing heavy: the first use of MLflow, torch and friends
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
    ``MLFLOW_TRACKING_TOKEN`` (the hub token), ``NBP_TOKEN`` and
    ``CUDA_VISIBLE_DEVICES`` (the profile's GPUs, empty for CPU profiles).

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
    if cfg.profile is not None:
        env["CUDA_VISIBLE_DEVICES"] = ",".join(cfg.gpu_devices)
    env.setdefault("NBP_KERNEL_PRELOADED", "1")
    return cfg


def load_ipython_extension(ipython: Any) -> None:
    """Configure the kernel and make ``nbp`` available (``%load_ext nbplatform.kernel``)."""
    import nbplatform

    configure_environment()
    ipython.push({"nbp": nbplatform}, interactive=False)


def unload_ipython_extension(ipython: Any) -> None:
    """Nothing to undo: the environment stays as configured."""
