"""YAML definitions are created, then updated, with the API's checks."""

from __future__ import annotations

import textwrap

from nbplatform_jobs import store
from nbplatform_jobs.settings import JobsSettings
from nbplatform_jobs.yamlsync import sync_folder


def test_sync_creates_updates_and_skips_bad_ones(home, engine, caplog):
    folder = home / "definitions"
    folder.mkdir()
    (folder / "a.yaml").write_text(
        textwrap.dedent(
            """
            owner: alice
            name: nightly
            notebook: t.ipynb
            cron: "0 3 * * *"
            parameters: {x: 2}
            """
        )
    )
    (folder / "b.yml").write_text(
        "jobs:\n  - {owner: alice, name: bad, notebook: t.ipynb, parameters: {x: 'no'}}\n"
        "  - {name: ownerless, notebook: t.ipynb}\n"
    )
    settings = JobsSettings(home=home, definitions_dir=folder)
    groups = {"alice": ["data-scientist"]}.get
    assert sync_folder(settings, engine, "", "", groups_of=groups) == 1
    assert "parameters.x: expected int" in caplog.text
    assert "needs an 'owner'" in caplog.text
    (folder / "a.yaml").write_text((folder / "a.yaml").read_text().replace("x: 2", "x: 5"))
    assert sync_folder(settings, engine, "", "", groups_of=groups) == 1
    with engine.connect() as conn:
        jobs, _ = store.list_jobs(conn, "alice")
    assert [(j["name"], j["parameters"], j["source"], j["revision"]) for j in jobs] == [
        ("nightly", {"x": 5}, "yaml:a.yaml", 2)
    ]
