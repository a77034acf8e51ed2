"""Migrations of the feature store's table: its own Alembic chain and version table.

The table lives in the platform database but is migrated from
``nbplatform_features/migrations`` with the version table
``alembic_version_features``; the platform service migrates it once at start.
"""

from __future__ import annotations

from pathlib import Path

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version_features"
