"""Drift: monitors, checks, watchers and notices.

Revision ID: d0001
Revises:
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "d0001"
down_revision = None
branch_labels = ("drift",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drift_monitors",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("model", sa.String(512), nullable=True),
        sa.Column("feature_view", sa.String(128), nullable=True),
        sa.Column("reference", sa.JSON, nullable=True),
        sa.Column("current", sa.JSON, nullable=False),
        sa.Column("columns", sa.JSON, nullable=True),
        sa.Column("tests", sa.JSON, nullable=False),
        sa.Column("drift_share", sa.Float, nullable=False),
        sa.Column("schedule_job_id", sa.String(32), nullable=True),
        sa.Column("retrain_job_id", sa.String(32), nullable=True),
        sa.Column("webhooks", sa.JSON, nullable=False),
        sa.Column("emails", sa.JSON, nullable=False),
        sa.Column("webhook_secret", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_since", sa.DateTime, nullable=True),
        sa.Column("acknowledged_by", sa.String(255), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime, nullable=True),
        sa.Column("acknowledge_comment", sa.Text, nullable=True),
        sa.Column("muted_until", sa.DateTime, nullable=True),
        sa.Column("latest_check_id", sa.Integer, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("name", name="uq_drift_monitors_name"),
    )
    op.create_table(
        "drift_checks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("monitor_id", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("dataset_drift", sa.Boolean, nullable=False),
        sa.Column("drift_share", sa.Float, nullable=False),
        sa.Column("threshold_share", sa.Float, nullable=False),
        sa.Column("n_columns", sa.Integer, nullable=False),
        sa.Column("n_drifted", sa.Integer, nullable=False),
        sa.Column("reference_rows", sa.Integer, nullable=False),
        sa.Column("current_rows", sa.Integer, nullable=False),
        sa.Column("sampled_rows", sa.Integer, nullable=True),
        sa.Column("window_start", sa.DateTime, nullable=True),
        sa.Column("window_end", sa.DateTime, nullable=True),
        sa.Column("columns", sa.JSON, nullable=False),
        sa.Column("importance", sa.JSON, nullable=True),
        sa.Column("model_version", sa.String(255), nullable=True),
        sa.Column("has_report", sa.Boolean, nullable=False),
        sa.Column("job_id", sa.String(32), nullable=True),
        sa.Column("job_run_id", sa.String(32), nullable=True),
    )
    op.create_index("ix_drift_checks_monitor_id", "drift_checks", ["monitor_id"])
    op.create_table(
        "drift_watchers",
        sa.Column("monitor_id", sa.Integer, primary_key=True),
        sa.Column("user", sa.String(255), primary_key=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "drift_notices",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("monitor_id", sa.Integer, nullable=False),
        sa.Column("check_id", sa.Integer, nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.String(2048), nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("sent_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_drift_notices_monitor_id", "drift_notices", ["monitor_id"])


def downgrade() -> None:
    op.drop_table("drift_notices")
    op.drop_table("drift_watchers")
    op.drop_table("drift_checks")
    op.drop_table("drift_monitors")
