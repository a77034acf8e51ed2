"""The server extension: one ``ExtensionApp`` holding the options and the services."""

from __future__ import annotations

import os
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Float, Unicode, default, validate

from .activity import BusyKernelActivity
from .handlers import default_handlers
from .handlers.base import PLATFORM_CLIENT_KEY
from .platform_client import PlatformServiceClient


class NbplatformLab(ExtensionApp):
    """The nbplatform server extension of JupyterLab.

    Serves ``<base_url>/nbplatform/api/...`` for the Platform sidebar, calling the
    platform service with this server's hub token, and keeps a server whose kernel
    is busy from being culled as idle.
    """

    name = "nbplatform_lab"
    description = "The nbplatform sidebar's server side."
    load_other_extensions = True

    platform_url = Unicode(
        help="""Base URL of the platform service, ending in '/'
        (e.g. http://127.0.0.1:8090/services/platform/).

        Defaults to the NBP_PLATFORM_URL environment variable, which the platform's
        spawner sets. Empty means the server was not started by the platform hub:
        the API then answers 503.
        """,
    ).tag(config=True)

    @default("platform_url")
    def _default_platform_url(self) -> str:
        return os.environ.get("NBP_PLATFORM_URL", "")

    platform_token = Unicode(
        help="""Hub API token sent to the platform service.

        Defaults to JUPYTERHUB_API_TOKEN, this server's own token from the hub, so
        the platform sees the server's owner. Not meant to be set by hand.
        """,
    )

    @default("platform_token")
    def _default_platform_token(self) -> str:
        return os.environ.get("JUPYTERHUB_API_TOKEN", "")

    platform_timeout = Float(
        10.0,
        help="Seconds to wait for the platform service to connect and answer.",
    ).tag(config=True)

    busy_kernel_poll_interval = Float(
        60.0,
        help="""Seconds between checks for busy kernels; 0 disables the check.

        While any kernel is busy (running a cell, even a silent one), the server
        records activity at each check, so jupyterhub-idle-culler does not stop a
        server in the middle of a long computation. Keep it well below the culler's
        timeout and at most the hub activity interval (JUPYTERHUB_ACTIVITY_INTERVAL,
        300 s by default).
        """,
    ).tag(config=True)

    @validate("busy_kernel_poll_interval")
    def _validate_poll_interval(self, proposal: Any) -> float:
        value = float(proposal["value"])
        if value < 0:
            raise ValueError(f"busy_kernel_poll_interval must be >= 0 seconds, not {value}")
        return value

    _busy_kernels: BusyKernelActivity | None = None

    def initialize_settings(self) -> None:
        """Put the platform client where the handlers find it."""
        self.settings[PLATFORM_CLIENT_KEY] = PlatformServiceClient(
            self.platform_url or None, self.platform_token or None, self.platform_timeout
        )
        if not self.platform_url:
            self.log.warning(
                "nbplatform_lab: NBP_PLATFORM_URL is not set; the Platform panel will say "
                "that this server was not started by the platform hub."
            )

    def initialize_handlers(self) -> None:
        """Add the REST handlers under ``<base_url>/nbplatform/api/``."""
        self.handlers.extend(default_handlers)

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        """Start the busy-kernel poll once the server's event loop runs."""
        self._busy_kernels = BusyKernelActivity(
            serverapp.kernel_manager,
            serverapp.web_app.settings["last_activity_times"],
            self.busy_kernel_poll_interval,
            self.log,
        )
        self._busy_kernels.start()

    async def stop_extension(self) -> None:
        """Stop the busy-kernel poll."""
        if self._busy_kernels is not None:
            self._busy_kernels.stop()
