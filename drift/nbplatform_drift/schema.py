"""Drift monitoring's tables in the platform database (SQLAlchemy Core).

- ``drift_monitors``: one row per monitor: what it watches, how it tests, who is
  told, and its current status (with acknowledgement and mute).
- ``drift_checks``: one row per check recorded on a monitor (its columns'
  results as JSON); the Evidently report, when there is one, is a file
  ``NBP_HOME/drift/reports/<id>.html``.
- ``drift_watchers``: who watches which monitor (alerts in JupyterLab).
- ``drift_notices``: each notice delivered (or not) on a change of status.

Times are naive UTC.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

#: What a monitor's status may be.
STATUSES = ("unknown", "ok", "warning", "drift")

monitors = sa.Table(
    "drift_monitors",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
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
)

checks = sa.Table(
    "drift_checks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("monitor_id", sa.Integer, nullable=False, index=True),
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

watchers = sa.Table(
    "drift_watchers",
    metadata,
    sa.Column("monitor_id", sa.Integer, primary_key=True),
    sa.Column("user", sa.String(255), primary_key=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

notices = sa.Table(
    "drift_notices",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("monitor_id", sa.Integer, nullable=False, index=True),
    sa.Column("check_id", sa.Integer, nullable=True),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("target", sa.String(2048), nullable=False),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("sent_at", sa.DateTime, nullable=False),
)
