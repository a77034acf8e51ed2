"""Notebooks in notebooks/ run on a real platform kernel, connected to the real platform."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

# The numbered story notebooks need each other's results: test_story_notebooks.py runs them.
NOTEBOOKS = sorted(
    path
    for path in (Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb")
    if not path.name[:2].isdigit()
)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.name for n in NOTEBOOKS])
def test_notebook_runs_with_papermill_on_the_platform(platform, tmp_path, monkeypatch, notebook):
    import papermill

    token = platform.create_user("notebook-runner")
    monkeypatch.setenv("NBP_PLATFORM_URL", f"{platform.url}/services/platform/")
    monkeypatch.setenv("NBP_TOKEN", token)
    out = tmp_path / notebook.name
    papermill.execute_notebook(
        str(notebook), str(out), parameters={"require_platform": True}, progress_bar=False
    )
    text = out.read_text()
    assert "notebook-runner: data-scientist" in text
