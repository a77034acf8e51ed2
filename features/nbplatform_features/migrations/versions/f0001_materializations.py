"""Features: the materializations table.

Revision ID: f0001
Revises:
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "f0001"
down_revision = None
branch_labels = ("features",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feature_materializations",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("views", sa.JSON, nullable=False),
        sa.Column("start", sa.DateTime, nullable=True),
        sa.Column("end", sa.DateTime, nullable=False),
        sa.Column("incremental", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("started_by", sa.String(255), nullable=False),
        sa.Column("job_id", sa.String(32), nullable=True),
        sa.Column("run_id", sa.String(32), nullable=True),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime, nullable=True),
    )
    op.create_index(
        "ix_feature_materializations_started_at", "feature_materializations", ["started_at"]
    )


def downgrade() -> None:
    op.drop_table("feature_materializations")
