"""The platform service's tornado application and entry point."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from jupyterhub.services.auth import HubOAuthCallbackHandler
from jupyterhub.utils import url_path_join
from sqlalchemy import Engine
from tornado.web import Application, authenticated

from nbplatform.errors import UnavailableError

from .base import NotFoundHandler, PlatformHandler
from .db import connect, database_url, upgrade
from .handlers import resource_modules
from .hubclient import HubClient
from .mlflow_rest import MlflowRest

log = logging.getLogger("nbplatform.service")


@dataclass
class ServiceContext:
    """Objects shared by every handler."""

    home: Path
    engine: Engine
    hub: HubClient
    #: The MLflow server on loopback (``NBP_MLFLOW_URL``); never sent to clients.
    mlflow_url: str | None = None
    #: Aliases only platform-admins may move (``NBP_PROTECTED_ALIASES``).
    protected_aliases: tuple[str, ...] = ("champion",)

    @property
    def mlflow(self) -> MlflowRest:
        """The service's own client of the MLflow server.

        Raises:
            UnavailableError: The service was started without an MLflow server.
        """
        if not self.mlflow_url:
            raise UnavailableError("No MLflow server is configured (NBP_MLFLOW_URL is unset).")
        return MlflowRest(self.mlflow_url)


class IndexHandler(PlatformHandler):
    """``GET /services/platform/``: a page saying who you are (logs in through the hub)."""

    @authenticated
    async def get(self) -> None:  # noqa: D102
        user = self.current_user
        self.set_header("Content-Type", "text/plain; charset=UTF-8")
        self.finish(
            f"nbplatform platform service\nsigned in as {user['name']}\n"
            "REST API: api/health, api/me\n"
        )


def make_app(context: ServiceContext, prefix: str) -> Application:
    """Build the application with every resource's routes under ``prefix``.

    Args:
        context: Shared objects.
        prefix: The service prefix, e.g. ``/services/platform/``.

    Returns:
        The tornado application.
    """
    routes: list[Any] = [
        (prefix, IndexHandler),
        (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler),
    ]
    for module in resource_modules():
        routes += [(url_path_join(prefix, path), handler) for path, handler in module.routes]
    routes.append((url_path_join(prefix, r"(.*)"), NotFoundHandler))
    return Application(
        routes,
        nbp_context=context,
        cookie_secret=os.urandom(32),
        xsrf_cookies=False,
    )


def main() -> None:
    """Run the service as the hub starts it (``JUPYTERHUB_*`` environment)."""
    logging.basicConfig(
        level=logging.INFO, format="[%(levelname)1.1s %(asctime)s %(name)s] %(message)s"
    )
    home = Path(os.environ.get("NBP_HOME", "var")).resolve()
    engine = connect(database_url(home))
    upgrade(engine)
    context = ServiceContext(
        home=home,
        engine=engine,
        hub=HubClient(os.environ["JUPYTERHUB_API_URL"], os.environ["JUPYTERHUB_API_TOKEN"]),
        mlflow_url=os.environ.get("NBP_MLFLOW_URL") or None,
        protected_aliases=tuple(
            a.strip()
            for a in os.environ.get("NBP_PROTECTED_ALIASES", "champion").split(",")
            if a.strip()
        ),
    )
    for module in resource_modules():
        # A resource with tables of its own migrates them here (e.g. the jobs).
        if hasattr(module, "setup"):
            module.setup(context)
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/platform/")
    url = urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:8090"))
    app = make_app(context, prefix)

    async def serve() -> None:
        server = app.listen(url.port or 80, url.hostname or "127.0.0.1", xheaders=True)
        log.info("platform service listening on %s%s", url.geturl().rstrip("/"), prefix)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        server.stop()
        engine.dispose()

    asyncio.run(serve())
