"""Alembic environment of the feature store's table (own version table, same database)."""

from nbplatform_hub.host import run_migrations

run_migrations("alembic_version_features")
