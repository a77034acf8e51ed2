"""The scheduler service's entry point: ``python -m nbplatform_jobs`` (hub-managed)."""

from __future__ import annotations

import logging
import signal
import threading

from nbplatform.errors import ConfigurationError
from nbplatform_hub.host import connect, database_url

from .backends import make_backend
from .db import upgrade
from .scheduler import Scheduler
from .settings import JobsSettings
from .yamlsync import sync_folder

log = logging.getLogger("nbplatform.jobs")


def main() -> None:
    """Migrate, sync YAML definitions, recover, then run the scheduler loop until SIGTERM."""
    logging.basicConfig(
        level=logging.INFO, format="[%(levelname)1.1s %(asctime)s %(name)s] %(message)s"
    )
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    settings = JobsSettings.from_env()
    if not (settings.hub_api_url and settings.hub_token and settings.platform_url):
        raise ConfigurationError(
            "The scheduler runs as a hub-managed service: JUPYTERHUB_API_URL, "
            "JUPYTERHUB_API_TOKEN and NBP_PLATFORM_URL must be set (nbplatform up sets them)."
        )
    engine = connect(settings.database_url or database_url(settings.home))
    upgrade(engine, settings.home)
    api_url, token, platform_url = settings.hub_api_url, settings.hub_token, settings.platform_url
    if settings.definitions_dir is not None:
        sync_folder(settings, engine, api_url, token)
    backend = make_backend(
        settings.backend, settings.concurrency, settings.dask_address, settings=settings
    )
    scheduler = Scheduler(settings, engine, backend, api_url, token, platform_url)
    scheduler.start()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    log.info(
        "scheduler running: backend %s, %d at once, misfire grace %d s",
        backend.name,
        settings.concurrency,
        settings.misfire_grace_seconds,
    )
    while not stop.is_set():
        try:
            scheduler.tick()
        except Exception:  # noqa: BLE001 - keep scheduling; the database may be busy
            log.exception("scheduler pass failed")
        stop.wait(settings.poll_seconds)
    scheduler.stop()
    engine.dispose()
