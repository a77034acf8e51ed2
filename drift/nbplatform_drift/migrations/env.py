"""Alembic environment of drift monitoring's tables (own version table, same database)."""

from nbplatform_hub.host import run_migrations

run_migrations("alembic_version_drift")
