"""Shared fixtures: a real platform on loopback ports in a temporary NBP_HOME."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from platform_harness import Platform, running_platform  # noqa: E402


@pytest.fixture(scope="session")
def homes() -> Iterator[Callable[[str], Path]]:
    """Make ``NBP_HOME`` folders that users' system users can pass through.

    With isolation on, users' servers and kernels must reach their workspaces
    under ``NBP_HOME``. pytest's own temporary folders are ``0700``, and every
    pytest session run by the same user closes them again, so the homes lie in
    a folder of their own in the system's temporary directory (``0711``),
    removed at the end unless ``NBP_KEEP_TEST_HOMES=1``.
    """
    base = Path(tempfile.mkdtemp(prefix="nbp-test-homes-"))
    base.chmod(0o711)

    def make(name: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=base))

    yield make
    if os.environ.get("NBP_KEEP_TEST_HOMES") != "1":
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def platform(homes: Callable[[str], Path]) -> Iterator[Platform]:
    """The platform with the shipped profiles and two pretend GPUs (NBP_GPUS=0,1).

    Webhooks may go to 127.0.0.1 (the tests' receivers), as an admin allows with
    ``NBP_WEBHOOK_ALLOW``; every other internal address is refused.
    """
    yield from running_platform(homes("nbp-home"), NBP_GPUS="0,1", NBP_WEBHOOK_ALLOW="127.0.0.1")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Any]:
    """The platform database in ``tmp_path`` (SQLite), with the host's tables migrated.

    The jobs tests (``tests/jobs/conftest.py``) add the jobs' tables to theirs.
    """
    from nbplatform_hub.service.db import connect, database_url, upgrade

    engine = connect(database_url(tmp_path, env={}))
    upgrade(engine)
    yield engine
    engine.dispose()
