"""Runs: what they executed (notebook, git commit and dirty state of its repository).

The platform service writes these on every MLflow run a job's run starts, from
the run's token, so a job's lineage cannot be set by the notebook it runs.

Revision ID: j0004
Revises: j0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "j0004"
down_revision = "j0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("job_runs") as batch:
        batch.add_column(sa.Column("notebook", sa.String(1024), nullable=True))
        batch.add_column(sa.Column("git_commit", sa.String(64), nullable=True))
        batch.add_column(sa.Column("git_dirty", sa.Boolean, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job_runs") as batch:
        batch.drop_column("git_dirty")
        batch.drop_column("git_commit")
        batch.drop_column("notebook")
