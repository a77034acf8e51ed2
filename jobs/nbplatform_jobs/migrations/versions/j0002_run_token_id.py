"""Runs: the id of the hub token minted for each run.

The platform service's audit log looks a token up here, so an entry's job and
run come from the token that made the request, not from headers a client sets.

Revision ID: j0002
Revises: j0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "j0002"
down_revision = "j0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("job_runs") as batch:
        batch.add_column(sa.Column("token_id", sa.String(64), nullable=True))
        batch.create_index("ix_job_runs_token_id", ["token_id"])


def downgrade() -> None:
    with op.batch_alter_table("job_runs") as batch:
        batch.drop_index("ix_job_runs_token_id")
        batch.drop_column("token_id")
