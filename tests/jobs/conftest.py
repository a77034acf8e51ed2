"""Fixtures of the jobs unit tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from jobs_helpers import jobs_engine, write_notebook


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An ``NBP_HOME`` with a workspace for ``alice`` holding ``t.ipynb``."""
    write_notebook(tmp_path / "users" / "alice" / "t.ipynb")
    return tmp_path


@pytest.fixture
def engine(home: Path):
    """The platform database under ``home``, migrated: the host's tables and the jobs'."""
    engine = jobs_engine(home)
    yield engine
    engine.dispose()
