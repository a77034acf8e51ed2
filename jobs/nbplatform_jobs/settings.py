"""Settings of the jobs scheduler, read from ``NBP_JOBS_*`` (and ``NBP_SMTP_*``) variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from nbplatform.errors import ConfigurationError
from nbplatform_hub.host import Allow, database_url

BACKENDS = ("local", "dask", "dask-kubernetes")


def _number(env: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a number.") from None
    if value < minimum:
        raise ConfigurationError(f"{name}={raw!r} must be at least {minimum:g}.")
    return value


def _switch(env: Mapping[str, str], name: str, default: bool) -> bool:
    """An ``on``/``off`` variable (also ``true``/``false``, ``1``/``0``, ``yes``/``no``)."""
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("on", "true", "1", "yes"):
        return True
    if raw in ("off", "false", "0", "no"):
        return False
    raise ConfigurationError(f"{name}={raw!r} is neither on nor off.")


def _slash(url: str | None) -> str | None:
    if not url:
        return None
    return url if url.endswith("/") else url + "/"


@dataclass(frozen=True)
class JobsSettings:
    """How the scheduler runs jobs.

    Attributes:
        home: ``NBP_HOME``; runs are kept under ``NBP_HOME/jobs/<job>/<run>/``.
        backend: ``NBP_JOBS_BACKEND``: ``local`` (process pool, default), ``dask``
            (a ``distributed.LocalCluster``, or the scheduler at
            ``NBP_JOBS_DASK_ADDRESS``) or ``dask-kubernetes`` (a ``KubeCluster``).
        concurrency: ``NBP_JOBS_CONCURRENCY``: runs executing at once (default 2).
        misfire_grace_seconds: ``NBP_JOBS_MISFIRE_GRACE``: a scheduled time missed
            while the scheduler was down still runs (once, coalesced) when the
            scheduler is back within this many seconds (default 600).
        poll_seconds: ``NBP_JOBS_POLL``: how often the scheduler looks for new
            runs and changed definitions (default 0.25).
        definitions_dir: ``NBP_JOBS_DIR``: folder of YAML definitions synced at start.
        dask_address: ``NBP_JOBS_DASK_ADDRESS``: an existing Dask scheduler.
        dask_image: ``NBP_JOBS_DASK_IMAGE``: the image of the ``dask-kubernetes``
            workers (the user image: the platform's packages and kernels inside).
        dask_volume: ``NBP_JOBS_DASK_VOLUME``: the PersistentVolumeClaim holding
            ``NBP_HOME`` (the run folders), mounted at the same path in each worker.
        dask_platform_url: ``NBP_JOBS_DASK_PLATFORM_URL``: the platform service as
            a worker pod reaches it (an in-cluster address), for the runs there.
        dask_namespace: ``NBP_JOBS_DASK_NAMESPACE``: where the ``DaskCluster`` lives.
        smtp_host: ``NBP_SMTP_HOST``: e-mail notifications when set.
        smtp_port: ``NBP_SMTP_PORT`` (default 25).
        smtp_from: ``NBP_SMTP_FROM``.
        smtp_user: ``NBP_SMTP_USER``.
        smtp_password: ``NBP_SMTP_PASSWORD``.
        isolated: ``NBP_ISOLATION=on`` (resolved by ``nbplatform up``): each run's
            kernel runs as its owner's system user, in their workspace.
        system_user_prefix: ``NBP_SYSTEM_USER_PREFIX``.
        webhook_allow: ``NBP_WEBHOOK_ALLOW``: internal webhook destinations
            (addresses, networks, host names) an admin allows.
        platform_url: ``NBP_PLATFORM_URL``: the platform service as runs reach
            it, computed by the hub's settings (``Settings.platform_url``).
        database_url: ``NBP_PLATFORM_DB_URL``, else SQLite under ``NBP_HOME``.
        hub_api_url: ``JUPYTERHUB_API_URL`` (set by the hub for its services).
        hub_token: ``JUPYTERHUB_API_TOKEN``: the scheduler service's own token.
        test_gate: ``NBP_JOBS_TEST_GATE``: ``on`` (default) or ``off``. On, activating
            a scheduled job (creating it active, resuming it, or changing the notebook
            of an active one) first runs its notebook under nbval with its test
            parameters; the schedule becomes active only when that test passes.
    """

    home: Path
    backend: str = "local"
    concurrency: int = 2
    misfire_grace_seconds: int = 600
    poll_seconds: float = 0.25
    definitions_dir: Path | None = None
    dask_address: str | None = None
    dask_image: str | None = None
    dask_volume: str | None = None
    dask_platform_url: str | None = None
    dask_namespace: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "nbplatform@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = None
    isolated: bool = False
    system_user_prefix: str = "jupyter-"
    webhook_allow: str = ""
    platform_url: str | None = None
    database_url: str | None = None
    hub_api_url: str | None = None
    hub_token: str | None = None
    test_gate: bool = True

    @property
    def kernels_dir(self) -> Path:
        """Connection files of the runs' kernels (each its owner's, mode 0600)."""
        return self.home / "kernels"

    @property
    def jobs_dir(self) -> Path:
        """Where runs keep their input, output and log."""
        return self.home / "jobs"

    def run_dir(self, job_id: str, run_id: str) -> Path:
        """The folder of one run."""
        return self.jobs_dir / job_id / run_id

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> JobsSettings:
        """Read the settings from the environment.

        Raises:
            ConfigurationError: A variable has a value that cannot be used.
        """
        env = os.environ if env is None else env
        backend = env.get("NBP_JOBS_BACKEND", "local").strip() or "local"
        if backend not in BACKENDS:
            raise ConfigurationError(
                f"NBP_JOBS_BACKEND={backend!r} is not one of {', '.join(BACKENDS)}."
            )
        if backend == "dask-kubernetes":
            missing = [
                name
                for name in (
                    "NBP_JOBS_DASK_IMAGE",
                    "NBP_JOBS_DASK_VOLUME",
                    "NBP_JOBS_DASK_PLATFORM_URL",
                )
                if not env.get(name)
            ]
            if missing:
                raise ConfigurationError(
                    f"NBP_JOBS_BACKEND=dask-kubernetes needs {', '.join(missing)}: the "
                    "workers' image, the volume holding NBP_HOME and the platform's "
                    "in-cluster URL (nbplatform render-k8s writes them)."
                )
        folder = env.get("NBP_JOBS_DIR", "").strip()
        home = Path(env.get("NBP_HOME") or "var").resolve()
        platform_url = env.get("NBP_PLATFORM_URL") or None
        if platform_url and not platform_url.endswith("/"):
            platform_url += "/"
        return cls(
            home=home,
            backend=backend,
            concurrency=int(_number(env, "NBP_JOBS_CONCURRENCY", 2, 1)),
            misfire_grace_seconds=int(_number(env, "NBP_JOBS_MISFIRE_GRACE", 600, 1)),
            poll_seconds=_number(env, "NBP_JOBS_POLL", 0.25, 0.05),
            definitions_dir=Path(folder).resolve() if folder else None,
            dask_address=env.get("NBP_JOBS_DASK_ADDRESS") or None,
            dask_image=env.get("NBP_JOBS_DASK_IMAGE") or None,
            dask_volume=env.get("NBP_JOBS_DASK_VOLUME") or None,
            dask_platform_url=_slash(env.get("NBP_JOBS_DASK_PLATFORM_URL")),
            dask_namespace=env.get("NBP_JOBS_DASK_NAMESPACE") or None,
            smtp_host=env.get("NBP_SMTP_HOST") or None,
            smtp_port=int(_number(env, "NBP_SMTP_PORT", 25, 1)),
            smtp_from=env.get("NBP_SMTP_FROM") or "nbplatform@localhost",
            smtp_user=env.get("NBP_SMTP_USER") or None,
            smtp_password=env.get("NBP_SMTP_PASSWORD") or None,
            isolated=env.get("NBP_ISOLATION", "").strip().lower() == "on",
            system_user_prefix=env.get("NBP_SYSTEM_USER_PREFIX", "").strip() or "jupyter-",
            webhook_allow=env.get("NBP_WEBHOOK_ALLOW", ""),
            platform_url=platform_url,
            database_url=database_url(home, env),
            hub_api_url=env.get("JUPYTERHUB_API_URL") or None,
            hub_token=env.get("JUPYTERHUB_API_TOKEN") or None,
            test_gate=_switch(env, "NBP_JOBS_TEST_GATE", True),
        )

    @property
    def webhook_destinations(self) -> Allow:
        """``NBP_WEBHOOK_ALLOW``, parsed."""
        return Allow.parse(self.webhook_allow)
