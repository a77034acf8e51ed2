"""Migrations of the jobs tables: their own Alembic environment and version table.

The jobs tables live in the platform database (``database_url(home)``) but are
migrated from ``nbplatform_jobs/migrations`` with the version table
``alembic_version_jobs``, so that the platform's own revision chain and this one
never meet. The platform service migrates them once at start (the jobs
capability names this folder, :mod:`.capability`), and so does the scheduler; the
host's lock under ``NBP_HOME`` keeps two processes on one machine from migrating
at once.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from nbplatform_hub import host

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version_jobs"


def upgrade(engine: Engine, home: Path, revision: str = "head") -> None:
    """Migrate the jobs tables to ``revision``, one process at a time.

    Args:
        engine: The platform database.
        home: ``NBP_HOME`` (holds the host's migration lock).
        revision: Target revision.
    """
    host.upgrade(engine, MIGRATIONS, home, revision)


def current_revision(engine: Engine) -> str | None:
    """Return the jobs tables' revision, or ``None`` before the first migration."""
    return host.current_revision(engine, VERSION_TABLE)
