"""Audit entries name the registered model, version and alias they touched.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("model", sa.String(512), nullable=True))
        batch.add_column(sa.Column("version", sa.String(32), nullable=True))
        batch.add_column(sa.Column("alias", sa.String(255), nullable=True))
    op.create_index("ix_audit_log_model", "audit_log", ["model"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_model", "audit_log")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("alias")
        batch.drop_column("version")
        batch.drop_column("model")
