"""Owners of MLflow experiments, runs, logged models and registered models, and grants.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mlflow_owners",
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("key", sa.String(512), primary_key=True),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("experiment_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_mlflow_owners_owner", "mlflow_owners", ["owner"])
    op.create_table(
        "mlflow_grants",
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("key", sa.String(512), primary_key=True),
        sa.Column("principal_type", sa.String(8), primary_key=True),
        sa.Column("principal", sa.String(255), primary_key=True),
        sa.Column("permission", sa.String(8), nullable=False),
        sa.Column("granted_by", sa.String(255), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("mlflow_grants")
    op.drop_index("ix_mlflow_owners_owner", "mlflow_owners")
    op.drop_table("mlflow_owners")
