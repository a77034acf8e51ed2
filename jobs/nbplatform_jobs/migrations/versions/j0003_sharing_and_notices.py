"""Jobs: private outputs unless shared, a webhook secret, notices on success, retries.

``shared``: whether everyone who may read jobs may read the runs' outputs and
logs (otherwise: the owner and platform admins). ``webhook_secret``: the key the
scheduler signs each webhook body with. ``notify_on``: the outcomes that send a
notice (``failure``, ``success``; null means ``["failure"]``).
``idempotency_token`` on jobs (per owner) and runs (per job): a client's retry of
a create with the same token gets the first one back instead of a duplicate.

Revision ID: j0003
Revises: j0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "j0003"
down_revision = "j0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("shared", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("webhook_secret", sa.String(64), nullable=True))
        batch.add_column(sa.Column("notify_on", sa.JSON, nullable=True))
        batch.add_column(sa.Column("idempotency_token", sa.String(64), nullable=True))
        batch.create_unique_constraint("uq_jobs_owner_idempotency", ["owner", "idempotency_token"])
    with op.batch_alter_table("job_runs") as batch:
        batch.add_column(sa.Column("idempotency_token", sa.String(64), nullable=True))
        batch.create_unique_constraint("uq_job_runs_idempotency", ["job_id", "idempotency_token"])


def downgrade() -> None:
    with op.batch_alter_table("job_runs") as batch:
        batch.drop_constraint("uq_job_runs_idempotency", type_="unique")
        batch.drop_column("idempotency_token")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_constraint("uq_jobs_owner_idempotency", type_="unique")
        batch.drop_column("idempotency_token")
        batch.drop_column("notify_on")
        batch.drop_column("webhook_secret")
        batch.drop_column("shared")
