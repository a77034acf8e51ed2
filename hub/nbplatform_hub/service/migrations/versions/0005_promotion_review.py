"""Promotion requests name the review job run the platform started for them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("promotions") as batch:
        batch.add_column(sa.Column("review_job_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("review_run_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("review_error", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("promotions") as batch:
        batch.drop_column("review_error")
        batch.drop_column("review_run_id")
        batch.drop_column("review_job_id")
