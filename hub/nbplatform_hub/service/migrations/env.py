"""Alembic environment of the platform database."""

from nbplatform_hub.service.db import run_migrations

run_migrations()
