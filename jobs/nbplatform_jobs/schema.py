"""The jobs tables of the platform database (SQLAlchemy Core).

``jobs`` holds definitions; ``job_runs`` one row per attempt of a run. A run made
by the schedule records the time it stands for in ``scheduled_for``; the unique
constraint on ``(job_id, scheduled_for)`` is what guarantees that no scheduled
time runs twice, even when the scheduler dies between firing and recording.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

#: Statuses a run moves through; the last four are final.
RUN_STATUSES = ("queued", "running", "succeeded", "failed", "timed-out", "cancelled")
FINAL_STATUSES = frozenset({"succeeded", "failed", "timed-out", "cancelled"})

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("owner", sa.String(255), nullable=False, index=True),
    sa.Column("notebook", sa.String(1024), nullable=False),
    sa.Column("parameters", sa.JSON, nullable=False),
    sa.Column("cron", sa.String(128), nullable=True),
    sa.Column("timezone", sa.String(64), nullable=False, server_default="UTC"),
    sa.Column("interval_seconds", sa.Integer, nullable=True),
    sa.Column("profile", sa.String(64), nullable=False),
    sa.Column("timeout_seconds", sa.Integer, nullable=False),
    sa.Column("retries", sa.Integer, nullable=False, server_default="0"),
    sa.Column("retry_backoff_seconds", sa.Float, nullable=False, server_default="60"),
    sa.Column("max_concurrent_runs", sa.Integer, nullable=False, server_default="1"),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("webhook_url", sa.String(2048), nullable=True),
    sa.Column("email", sa.String(320), nullable=True),
    #: The key each webhook body is signed with (``X-Nbp-Signature-256``).
    sa.Column("webhook_secret", sa.String(64), nullable=True),
    #: Outcomes that send a notice: ``failure``, ``success`` (null: failure only).
    sa.Column("notify_on", sa.JSON, nullable=True),
    #: Whether every jobs reader may read the runs' outputs and logs.
    sa.Column("shared", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("source", sa.String(1024), nullable=False, server_default="api"),
    sa.Column("revision", sa.Integer, nullable=False, server_default="1"),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    #: A client's key for its create request: a retry gets this job back.
    sa.Column("idempotency_token", sa.String(64), nullable=True),
    #: Parameters of the test run that gates the schedule (null: the notebook's defaults).
    sa.Column("test_parameters", sa.JSON, nullable=True),
    #: The gate of the schedule (:mod:`nbplatform_jobs.gate`): ``testing``, ``failed``
    #: or ``passed`` (null: never gated), why, and the test run that decides it.
    sa.Column("activation_state", sa.String(16), nullable=True),
    sa.Column("activation_reason", sa.Text, nullable=True),
    sa.Column("activation_run_id", sa.String(32), nullable=True),
    sa.UniqueConstraint("owner", "name", name="uq_jobs_owner_name"),
    sa.UniqueConstraint("owner", "idempotency_token", name="uq_jobs_owner_idempotency"),
)

job_runs = sa.Table(
    "job_runs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column(
        "job_id", sa.String(32), sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("attempt", sa.Integer, nullable=False, server_default="1"),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("trigger", sa.String(16), nullable=False),
    sa.Column("scheduled_for", sa.DateTime, nullable=True),
    sa.Column("parameters", sa.JSON, nullable=False),
    sa.Column("source_run_id", sa.String(32), nullable=True),
    #: The run whose token asked for this one (a notebook starting a job), if any.
    sa.Column("parent_run_id", sa.String(32), nullable=True),
    sa.Column("requested_by", sa.String(255), nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("not_before", sa.DateTime, nullable=True),
    sa.Column("started_at", sa.DateTime, nullable=True),
    sa.Column("ended_at", sa.DateTime, nullable=True),
    sa.Column("heartbeat_at", sa.DateTime, nullable=True),
    sa.Column("pid", sa.Integer, nullable=True),
    sa.Column("cancel_requested", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("backend", sa.String(32), nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("failed_cell", sa.Integer, nullable=True),
    #: The id of the hub token minted for the run (the audit log looks it up).
    sa.Column("token_id", sa.String(64), nullable=True, index=True),
    #: A client's key for its "run now" request: a retry gets this run back.
    sa.Column("idempotency_token", sa.String(64), nullable=True),
    #: What the run executed (its lineage, written on every MLflow run it starts):
    #: the notebook relative to the owner's workspace, the commit of the git
    #: repository holding it and whether that repository had uncommitted changes.
    sa.Column("notebook", sa.String(1024), nullable=True),
    sa.Column("git_commit", sa.String(64), nullable=True),
    sa.Column("git_dirty", sa.Boolean, nullable=True),
    sa.UniqueConstraint("job_id", "scheduled_for", "attempt", name="uq_job_runs_scheduled"),
    sa.UniqueConstraint("job_id", "idempotency_token", name="uq_job_runs_idempotency"),
    sa.Index("ix_job_runs_job_created", "job_id", "created_at"),
)
