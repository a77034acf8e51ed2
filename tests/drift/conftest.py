"""Fixtures of the drift tests: the service with the drift capability (see drift_support)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from drift_support import Service, start_service  # noqa: E402


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The platform service (host, jobs and drift mounted and migrated) and a stand-in hub."""
    yield from start_service(tmp_path_factory)
