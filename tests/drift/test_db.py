"""Drift's tables: their own Alembic chain, and the schema the code uses matches it."""

from __future__ import annotations

import sqlalchemy as sa

from nbplatform_drift.db import MIGRATIONS, VERSION_TABLE
from nbplatform_drift.schema import metadata
from nbplatform_hub import host


def test_the_chain_makes_the_tables_the_code_uses(tmp_path):
    engine = host.connect(f"sqlite:///{tmp_path / 'platform.sqlite'}")
    host.upgrade(engine, MIGRATIONS, tmp_path)
    assert host.current_revision(engine, VERSION_TABLE) == "d0001"
    inspector = sa.inspect(engine)
    assert {"drift_monitors", "drift_checks", "drift_watchers", "drift_notices"} <= set(
        inspector.get_table_names()
    )
    for table in metadata.sorted_tables:
        columns = {c["name"]: c for c in inspector.get_columns(table.name)}
        assert set(columns) == {c.name for c in table.columns}, table.name
        for column in table.columns:
            nullable = columns[column.name]["nullable"]
            assert nullable == column.nullable or column.primary_key, (table.name, column.name)
    unique = inspector.get_unique_constraints("drift_monitors")
    assert [u["column_names"] for u in unique] == [["name"]]
    host.upgrade(engine, MIGRATIONS, tmp_path)  # a second start changes nothing
    assert host.current_revision(engine, VERSION_TABLE) == "d0001"
    # the chain is the drift capability's own: the host's version table is untouched
    assert host.current_revision(engine) is None
