"""Platform info: when this installation was created and by which version.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "platform_info",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(256), nullable=False),
    )
    op.bulk_insert(
        table,
        [
            {"key": "installed_at", "value": datetime.now(UTC).isoformat(timespec="seconds")},
            {"key": "installed_version", "value": "0.1.0"},
        ],
    )


def downgrade() -> None:
    op.drop_table("platform_info")
