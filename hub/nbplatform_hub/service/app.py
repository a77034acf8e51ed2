"""The platform service's tornado application and entry point."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyterhub.services.auth import HubOAuthCallbackHandler
from jupyterhub.utils import url_path_join
from sqlalchemy import Engine
from tornado.httpclient import AsyncHTTPClient
from tornado.log import access_log
from tornado.web import Application, RequestHandler, authenticated

from nbplatform.errors import UnavailableError

from . import capabilities, mlflow_transport
from .base import NotFoundHandler, PlatformHandler
from .db import connect
from .hubclient import HubClient
from .mlflow_rest import MlflowRest
from .settings import ServiceSettings

log = logging.getLogger("nbplatform.service")


@dataclass
class ServiceContext:
    """Objects shared by every handler."""

    home: Path
    engine: Engine
    hub: HubClient
    #: The MLflow server's Unix socket (``NBP_MLFLOW_SOCKET``); never sent to clients.
    mlflow_socket: str | None = None
    #: Or its address, where it runs elsewhere (``NBP_MLFLOW_URL``).
    mlflow_url: str | None = None
    #: Aliases only platform-admins may move (``NBP_PROTECTED_ALIASES``).
    protected_aliases: tuple[str, ...] = ("champion",)
    #: Whoever asked for a promotion may approve it (``NBP_PROMOTION_SELF_APPROVAL``).
    self_approval: bool = False
    #: The service's settings (``None`` in tests that build a context by hand).
    settings: ServiceSettings | None = None
    #: What each capability's ``setup`` returned, by capability name.
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def mlflow_base(self) -> str:
        """MLflow's base URL as the service's HTTP client reaches it.

        Raises:
            UnavailableError: The service was started without an MLflow server.
        """
        if not (self.mlflow_socket or self.mlflow_url):
            raise UnavailableError(
                "No MLflow server is configured (NBP_MLFLOW_SOCKET and NBP_MLFLOW_URL are unset)."
            )
        return mlflow_transport.base_url(self.mlflow_socket, self.mlflow_url)

    @property
    def mlflow_client(self) -> AsyncHTTPClient:
        """The HTTP client that reaches MLflow (over its socket, when it has one)."""
        return mlflow_transport.client(None if self.mlflow_url else self.mlflow_socket)

    @property
    def mlflow(self) -> MlflowRest:
        """The service's own client of the MLflow server's REST API."""
        return MlflowRest(self.mlflow_base, client=self.mlflow_client)


class IndexHandler(PlatformHandler):
    """``GET /services/platform/``: a page saying who you are (logs in through the hub)."""

    SUPPORTED_METHODS = ("GET", "HEAD")

    @authenticated
    async def get(self) -> None:  # noqa: D102
        user = self.current_user
        self.set_header("Content-Type", "text/plain; charset=UTF-8")
        self.finish(
            f"nbplatform platform service\nsigned in as {user['name']}\n"
            "REST API: api/health, api/me\n"
        )


def make_app(
    context: ServiceContext,
    prefix: str,
    installed: list[capabilities.Capability] | None = None,
) -> Application:
    """Build the application with every resource's routes under ``prefix``.

    Args:
        context: Shared objects.
        prefix: The service prefix, e.g. ``/services/platform/``.
        installed: The capabilities to mount (every installed one when omitted).

    Returns:
        The tornado application.
    """
    routes: list[Any] = [
        (prefix, IndexHandler),
        (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler),
    ]
    for module in capabilities.resource_modules(installed):
        routes += [(url_path_join(prefix, path), handler) for path, handler in module.routes]
    routes.append((url_path_join(prefix, r"(.*)"), NotFoundHandler))
    return Application(
        routes,
        nbp_context=context,
        cookie_secret=os.urandom(32),
        xsrf_cookies=False,
        log_function=log_request,
    )


def log_request(handler: RequestHandler) -> None:
    """Write a request to tornado's access log, as tornado does, but quieter where asked.

    An answered request (status under 400) is logged at the handler's
    ``access_log_level`` (``INFO`` unless it says otherwise): a high-rate read
    route such as online lookups logs at ``DEBUG``, as JupyterHub logs its
    health checks, so serving does not fill the log or spend a tenth of the
    event loop on it. Refusals and failures are always logged (``WARNING`` for
    4xx, ``ERROR`` for 5xx).
    """
    status = handler.get_status()
    if status < 400:
        level = getattr(handler, "access_log_level", logging.INFO)
    else:
        level = logging.WARNING if status < 500 else logging.ERROR
    if access_log.isEnabledFor(level):
        elapsed_ms = 1000.0 * handler.request.request_time()
        access_log.log(level, "%d %s %.2fms", status, handler._request_summary(), elapsed_ms)


def main() -> None:
    """Run the service as the hub starts it (``JUPYTERHUB_*`` environment)."""
    logging.basicConfig(
        level=logging.INFO, format="[%(levelname)1.1s %(asctime)s %(name)s] %(message)s"
    )
    settings = ServiceSettings.from_env()
    engine = connect(settings.database_url)
    installed = capabilities.load_capabilities()
    # Once, at start: the host's tables, then each capability's.
    capabilities.migrate(engine, settings.home, installed)
    context = ServiceContext(
        home=settings.home,
        engine=engine,
        hub=HubClient(settings.hub_api_url, settings.hub_token),
        mlflow_socket=settings.mlflow_socket,
        mlflow_url=settings.mlflow_url,
        protected_aliases=settings.protected_aliases,
        self_approval=settings.promotion_self_approval,
        settings=settings,
    )
    capabilities.start(context, installed)
    app = make_app(context, settings.prefix, installed)

    async def serve() -> None:
        # No xheaders: the client's address comes from the socket and the entry the
        # proxy appended to X-Forwarded-For (audit.client_ip), never from a header
        # the client set (X-Real-Ip).
        server = app.listen(settings.port, settings.host)
        log.info("platform service listening on %s", settings.url)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        server.stop()
        engine.dispose()

    asyncio.run(serve())
