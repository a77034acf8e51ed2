"""The feature store's table in the platform database (SQLAlchemy Core).

``feature_materializations`` holds one row per materialization: which views,
which interval, who asked (and, for a scheduled one, which job run), and how it
ended. Feast's registry keeps each view's materialized intervals; this table
adds who and when, for the Features panel and the audit trail.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

#: Statuses a materialization moves through.
STATUSES = ("running", "succeeded", "failed")

materializations = sa.Table(
    "feature_materializations",
    metadata,
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
    sa.Column("started_at", sa.DateTime, nullable=False, index=True),
    sa.Column("finished_at", sa.DateTime, nullable=True),
)
