"""Where the platform is and who we are, from explicit arguments or the environment.

Arguments win, then ``NBP_*`` variables, then the variables JupyterHub sets in
a single-user server. Nothing here is a hidden global: :func:`load` reads the
environment each time it is called.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import ConfigurationError


def _split(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def mlflow_environment(platform_url: str | None, token: str | None) -> dict[str, str]:
    """The MLflow variables of a process that talks to the platform's MLflow gateway.

    The one place that says how MLflow reaches the platform: kernels
    (:mod:`nbplatform.kernel`), the library (:mod:`nbplatform.registry`) and job
    runs (``nbplatform_jobs.runfiles``) all take their variables from here.

    Args:
        platform_url: The platform service's base URL (``NBP_PLATFORM_URL``).
        token: A hub token.

    Returns:
        ``MLFLOW_TRACKING_URI`` (``<platform>/mlflow/``) and ``MLFLOW_TRACKING_TOKEN``,
        each only when known.
    """
    env: dict[str, str] = {}
    if platform_url:
        env["MLFLOW_TRACKING_URI"] = f"{platform_url.rstrip('/')}/mlflow/"
    if token:
        env["MLFLOW_TRACKING_TOKEN"] = token
    return env


@dataclass(frozen=True)
class PlatformConfig:
    """The platform connection of this process.

    Attributes:
        platform_url: Base URL of the platform service, ending in ``/``
            (``NBP_PLATFORM_URL``).
        token: A hub API token (``NBP_TOKEN``, else ``JUPYTERHUB_API_TOKEN``).
        user: The hub user this process acts for (``JUPYTERHUB_USER``), if known.
        profile: The server's profile slug (``NBP_PROFILE``), if any.
        gpu_devices: GPU indices given to this server (``NBP_GPU_DEVICES``).
        kernels: Kernels the server's profile offers (``NBP_KERNELS``).
        gpus_assigned: Whether the platform chose the devices (``NBP_GPU_DEVICES``
            is set, empty for none): the local spawner and the scheduler do; on
            Kubernetes the device plugin does, and the variable is unset.
    """

    platform_url: str | None
    token: str | None
    user: str | None = None
    profile: str | None = None
    gpu_devices: list[str] = field(default_factory=list)
    kernels: list[str] = field(default_factory=list)
    gpus_assigned: bool = False

    @property
    def mlflow_tracking_uri(self) -> str | None:
        """The MLflow gateway of the platform service (``<platform>/mlflow/``)."""
        return mlflow_environment(self.platform_url, None).get("MLFLOW_TRACKING_URI")

    def require(self) -> PlatformConfig:
        """Return self, or raise if the platform cannot be reached with it.

        Raises:
            ConfigurationError: No platform URL or no token.
        """
        if not self.platform_url:
            raise ConfigurationError(
                "No platform URL: set NBP_PLATFORM_URL to the platform service, e.g. "
                "https://hub.example.org/services/platform/ "
                "(set for you on the platform's servers)."
            )
        if not self.token:
            raise ConfigurationError(
                "No hub token: set NBP_TOKEN to a token from /hub/token "
                "(set for you on the platform's servers)."
            )
        return self


def load(
    platform_url: str | None = None,
    token: str | None = None,
    env: Mapping[str, str] | None = None,
) -> PlatformConfig:
    """Read the platform configuration.

    Args:
        platform_url: Overrides ``NBP_PLATFORM_URL``.
        token: Overrides ``NBP_TOKEN`` / ``JUPYTERHUB_API_TOKEN``.
        env: The environment (``os.environ`` when omitted).

    Returns:
        The configuration; see :meth:`PlatformConfig.require` to insist on a connection.
    """
    env = os.environ if env is None else env
    url = platform_url or env.get("NBP_PLATFORM_URL") or None
    if url and not url.endswith("/"):
        url += "/"
    return PlatformConfig(
        platform_url=url,
        token=token or env.get("NBP_TOKEN") or env.get("JUPYTERHUB_API_TOKEN") or None,
        user=env.get("JUPYTERHUB_USER") or None,
        profile=env.get("NBP_PROFILE") or None,
        gpu_devices=_split(env.get("NBP_GPU_DEVICES")),
        kernels=_split(env.get("NBP_KERNELS")),
        gpus_assigned="NBP_GPU_DEVICES" in env,
    )
