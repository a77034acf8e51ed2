"""The feature store's table: its own Alembic chain, and the schema the code uses matches it."""

from __future__ import annotations

import sqlalchemy as sa

from nbplatform_features.db import MIGRATIONS, VERSION_TABLE
from nbplatform_features.schema import materializations
from nbplatform_hub import host


def test_the_chain_makes_the_table_the_code_uses(tmp_path):
    engine = host.connect(f"sqlite:///{tmp_path / 'platform.sqlite'}")
    host.upgrade(engine, MIGRATIONS, tmp_path)
    assert host.current_revision(engine, VERSION_TABLE) == "f0001"
    columns = {c["name"]: c for c in sa.inspect(engine).get_columns("feature_materializations")}
    assert set(columns) == {c.name for c in materializations.columns}
    for column in materializations.columns:
        assert columns[column.name]["nullable"] == column.nullable, column.name
    host.upgrade(engine, MIGRATIONS, tmp_path)  # a second start changes nothing
    assert host.current_revision(engine, VERSION_TABLE) == "f0001"
