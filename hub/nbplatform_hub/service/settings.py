"""Settings of the platform service process, read once from its environment.

The hub starts the service (``jupyterhub_config.py`` → :mod:`nbplatform_hub.config`)
with the ``JUPYTERHUB_*`` variables of a hub-managed service and the ``NBP_*``
variables computed by :class:`nbplatform_hub.settings.Settings`. Nothing else
in the service reads the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from .db import database_url


@dataclass(frozen=True)
class ServiceSettings:
    """How the platform service runs.

    Attributes:
        home: ``NBP_HOME``.
        database_url: ``NBP_PLATFORM_DB_URL``, else SQLite under ``NBP_HOME/platform``.
        hub_api_url: ``JUPYTERHUB_API_URL``.
        hub_token: ``JUPYTERHUB_API_TOKEN`` (the service's own token).
        prefix: ``JUPYTERHUB_SERVICE_PREFIX`` (``/services/platform/``).
        host: Address to listen on, from ``JUPYTERHUB_SERVICE_URL``.
        port: Port to listen on, from ``JUPYTERHUB_SERVICE_URL``.
        mlflow_socket: ``NBP_MLFLOW_SOCKET``: the MLflow server's Unix socket.
        mlflow_url: ``NBP_MLFLOW_URL``: or its address, where it runs elsewhere.
        protected_aliases: ``NBP_PROTECTED_ALIASES``: aliases only platform-admins
            may move (default ``champion``).
        promotion_self_approval: ``NBP_PROMOTION_SELF_APPROVAL=1``: a requester
            may approve their own promotion, and platform-admins may move
            protected aliases directly (one-person teams).
        promotion_review: ``NBP_PROMOTION_REVIEW`` (on unless ``0``): a promotion
            request starts the review notebook (:mod:`.promotion_review`).
    """

    home: Path
    database_url: str
    hub_api_url: str
    hub_token: str
    prefix: str = "/services/platform/"
    host: str = "127.0.0.1"
    port: int = 8090
    mlflow_socket: str | None = None
    mlflow_url: str | None = None
    protected_aliases: tuple[str, ...] = ("champion",)
    promotion_self_approval: bool = False
    promotion_review: bool = True

    @property
    def url(self) -> str:
        """Where the service listens, for its log."""
        return f"http://{self.host}:{self.port}{self.prefix}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServiceSettings:
        """Read the settings from the environment (``os.environ`` when omitted)."""
        env = os.environ if env is None else env
        home = Path(env.get("NBP_HOME", "var")).resolve()
        url = urlparse(env.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:8090"))
        aliases = env.get("NBP_PROTECTED_ALIASES", "champion")
        return cls(
            home=home,
            database_url=database_url(home, env),
            hub_api_url=env["JUPYTERHUB_API_URL"],
            hub_token=env["JUPYTERHUB_API_TOKEN"],
            prefix=env.get("JUPYTERHUB_SERVICE_PREFIX", "/services/platform/"),
            host=url.hostname or "127.0.0.1",
            port=url.port or 80,
            mlflow_socket=env.get("NBP_MLFLOW_SOCKET") or None,
            mlflow_url=env.get("NBP_MLFLOW_URL") or None,
            protected_aliases=tuple(a.strip() for a in aliases.split(",") if a.strip()),
            promotion_self_approval=env.get("NBP_PROMOTION_SELF_APPROVAL", "0").strip().lower()
            in ("1", "true", "yes", "on"),
            promotion_review=env.get("NBP_PROMOTION_REVIEW", "1").strip().lower()
            not in ("0", "false", "no", "off"),
        )
