"""Migrations of drift monitoring's tables: their own Alembic chain and version table.

The tables live in the platform database but are migrated from
``nbplatform_drift/migrations`` with the version table ``alembic_version_drift``;
the platform service migrates them once at start.
"""

from __future__ import annotations

from pathlib import Path

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version_drift"
