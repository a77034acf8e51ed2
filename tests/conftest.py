"""Shared fixtures: a real platform on loopback ports in a temporary NBP_HOME."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from platform_harness import Platform, platform_env  # noqa: E402


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """The platform with the shipped profiles and two pretend GPUs (NBP_GPUS=0,1)."""
    home = tmp_path_factory.mktemp("nbp-home")
    running = Platform(platform_env(home, NBP_GPUS="0,1")).start()
    try:
        yield running
    finally:
        running.stop()
