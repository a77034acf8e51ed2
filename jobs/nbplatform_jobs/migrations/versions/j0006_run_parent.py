"""Jobs: the run whose token started a run (chains of runs may not loop).

Revision ID: j0006
Revises: j0005
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "j0006"
down_revision = "j0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("job_runs") as batch:
        batch.add_column(sa.Column("parent_run_id", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job_runs") as batch:
        batch.drop_column("parent_run_id")
