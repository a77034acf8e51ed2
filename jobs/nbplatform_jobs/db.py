"""Migrations of the jobs tables: their own Alembic environment and version table.

The jobs tables live in the platform database (``database_url(home)``) but are
migrated from ``nbplatform_jobs/migrations`` with the version table
``alembic_version_jobs``, so that the platform's own revision chain and this one
never meet. Both the platform service (for the REST API) and the scheduler run
:func:`upgrade` at start; a file lock under ``NBP_HOME`` keeps two processes on
one machine from migrating at once.
"""

from __future__ import annotations

import fcntl
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version_jobs"


def alembic_config(engine: Engine) -> Config:
    """Return an Alembic config for the jobs migrations bound to ``engine``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, home: Path, revision: str = "head") -> None:
    """Migrate the jobs tables to ``revision``, one process at a time.

    Args:
        engine: The platform database.
        home: ``NBP_HOME`` (holds the lock file).
        revision: Target revision.
    """
    lock_path = home / "platform" / "jobs-migrate.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            command.upgrade(alembic_config(engine), revision)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def current_revision(engine: Engine) -> str | None:
    """Return the jobs tables' revision, or ``None`` before the first migration."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()
