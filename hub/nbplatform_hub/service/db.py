"""The platform database: SQLAlchemy engine and Alembic migrations.

SQLite under ``NBP_HOME/platform/platform.sqlite`` by default;
``NBP_PLATFORM_DB_URL`` selects another database (PostgreSQL at scale).
Migrations run at service start, so an upgrade of the platform upgrades its
database.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, event

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def database_url(home: Path, env: Mapping[str, str] | None = None) -> str:
    """Return the database URL: ``NBP_PLATFORM_DB_URL`` or SQLite under ``home``.

    Args:
        home: ``NBP_HOME``.
        env: Environment (``os.environ`` when omitted).

    Returns:
        A SQLAlchemy URL.
    """
    env = os.environ if env is None else env
    return env.get("NBP_PLATFORM_DB_URL") or f"sqlite:///{home / 'platform' / 'platform.sqlite'}"


def connect(url: str) -> Engine:
    """Create an engine; SQLite gets WAL and foreign keys.

    Args:
        url: A SQLAlchemy URL.

    Returns:
        The engine.
    """
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    return engine


def alembic_config(engine: Engine, scripts: Path = MIGRATIONS) -> Config:
    """Return an Alembic config for a chain (the host's by default) bound to ``engine``."""
    config = Config()
    config.set_main_option("script_location", str(scripts))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    config.attributes["engine"] = engine
    return config


def run_migrations(version_table: str = "alembic_version") -> None:
    """The body of every Alembic ``env.py`` of the platform database (the host's and capabilities').

    Migrates on the engine the caller handed Alembic (``config.attributes["engine"]``),
    else on ``sqlalchemy.url``, in batch mode (SQLite), recording the chain's
    revision in ``version_table``.

    Args:
        version_table: The chain's own version table (``alembic_version_jobs``...).
    """
    from alembic import context
    from sqlalchemy import create_engine

    config = context.config
    engine = config.attributes.get("engine") or create_engine(
        config.get_main_option("sqlalchemy.url")
    )
    with engine.connect() as connection:
        context.configure(connection=connection, render_as_batch=True, version_table=version_table)
        with context.begin_transaction():
            context.run_migrations()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (``head`` by default)."""
    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine, version_table: str = "alembic_version") -> str | None:
    """Return a chain's revision (the host's by default), or ``None`` before its first migration."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": version_table})
        return context.get_current_revision()
