"""Jobs: the test that gates a schedule (test parameters, activation state, reason, run).

Revision ID: j0005
Revises: j0004
Create Date: 2026-12-09
"""

import sqlalchemy as sa
from alembic import op

revision = "j0005"
down_revision = "j0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("test_parameters", sa.JSON, nullable=True))
        batch.add_column(sa.Column("activation_state", sa.String(16), nullable=True))
        batch.add_column(sa.Column("activation_reason", sa.Text, nullable=True))
        batch.add_column(sa.Column("activation_run_id", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("activation_run_id")
        batch.drop_column("activation_reason")
        batch.drop_column("activation_state")
        batch.drop_column("test_parameters")
