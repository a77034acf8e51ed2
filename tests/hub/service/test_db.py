from __future__ import annotations

from sqlalchemy import text

from nbplatform_hub.service.db import connect, current_revision, database_url, upgrade


def test_migrations_create_and_are_idempotent(tmp_path):
    url = database_url(tmp_path, env={})
    assert url == f"sqlite:///{tmp_path / 'platform' / 'platform.sqlite'}"
    engine = connect(url)
    assert current_revision(engine) is None
    upgrade(engine)
    upgrade(engine)
    assert current_revision(engine) == "0005"
    with engine.connect() as conn:
        rows = dict(conn.execute(text("select key, value from platform_info")).all())
    assert rows["installed_version"] == "0.1.0"


def test_database_url_from_environment(tmp_path):
    assert database_url(tmp_path, env={"NBP_PLATFORM_DB_URL": "postgresql://h/db"}) == (
        "postgresql://h/db"
    )
