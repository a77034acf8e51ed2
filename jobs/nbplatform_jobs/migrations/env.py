"""Alembic environment of the jobs tables (own version table, same database)."""

from alembic import context
from sqlalchemy import create_engine

config = context.config
engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url"))

with engine.connect() as connection:
    context.configure(
        connection=connection,
        render_as_batch=True,
        version_table="alembic_version_jobs",
    )
    with context.begin_transaction():
        context.run_migrations()
