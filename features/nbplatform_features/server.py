"""Feast's own feature server for the platform's repository, on a Unix socket.

``python -m nbplatform_features.server`` is a hub-managed service (see
:mod:`.capability`). It serves Feast's feature-server API (FastAPI, uvicorn) on
``NBP_HOME/run/feast.sock`` in a folder only the hub's user may enter, so no
local process reaches it; the platform service's authenticated gateway
(``/services/platform/features/server/``) is the only way in, the way the MLflow
server is reached. It reads the registry every two seconds, so a definition
applied through the platform is served within that.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from .repo import write_config
from .settings import FeaturesSettings

log = logging.getLogger("nbplatform.features.server")


def serve(settings: FeaturesSettings) -> None:
    """Run the feature server until the process is stopped."""
    import uvicorn
    from feast import FeatureStore
    from feast.feature_server import get_app
    from feast.permissions.server.utils import (
        AuthManagerType,
        ServerType,
        init_auth_manager,
        init_security_manager,
    )

    write_config(settings)
    store = FeatureStore(repo_path=str(settings.repo))
    # The socket is the boundary (the gateway checked the caller): Feast's own auth is off.
    init_security_manager(auth_type=AuthManagerType.NONE, fs=store)
    init_auth_manager(
        auth_type=AuthManagerType.NONE,
        server_type=ServerType.REST,
        auth_config=store.config.auth_config,
    )
    app = get_app(store, registry_ttl_sec=settings.registry_ttl_seconds)
    socket = settings.socket
    socket.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if socket.exists():
        socket.unlink()
    log.info("Feast feature server on %s", socket)
    uvicorn.run(app, uds=str(socket), access_log=False, log_level="warning")


def main() -> None:
    """Entry point: read ``NBP_HOME`` and the features settings, then serve."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("feast").setLevel(logging.WARNING)  # a line per registry refresh
    serve(FeaturesSettings.from_env(Path(os.environ.get("NBP_HOME", "var")).resolve()))


if __name__ == "__main__":
    main()
