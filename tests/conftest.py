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

from backends_support import Servers  # noqa: E402
from platform_harness import Platform, platform_env  # noqa: E402


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run the tests of a module that names ``BACKENDS`` once on each of those backends.

    Such a module's ``platform`` is parametrized with the backends
    (:data:`backends_support.BACKENDS`); every other test gets the embedded one.
    """
    backends = getattr(metafunc.module, "BACKENDS", None)
    if backends and "platform" in metafunc.fixturenames:
        metafunc.parametrize("platform", backends, indirect=True, scope="module")


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
def servers(homes: Callable[[str], Path]) -> Iterator[Servers]:
    """PostgreSQL and moto's S3 on loopback, started the first time a platform needs them."""
    started = Servers(homes)
    yield started
    started.stop()


@pytest.fixture(scope="session")
def platforms(
    homes: Callable[[str], Path], servers: Servers
) -> Iterator[Callable[[str], Platform]]:
    """Platforms by backend (:data:`backends_support.BACKENDS`), started when first asked for.

    Each has the shipped profiles and two pretend GPUs (NBP_GPUS=0,1). Webhooks
    may go to 127.0.0.1 (the tests' receivers), as an admin allows with
    ``NBP_WEBHOOK_ALLOW``; every other internal address is refused. Promotion
    requests start no review notebook (``NBP_PROMOTION_REVIEW=0``): the suite
    makes many, and the review has its own platform (:func:`review_platform`).
    All are stopped at the end of the session.
    """
    started: dict[str, Platform] = {}

    def get(backend: str) -> Platform:
        if backend not in started:
            home = homes("nbp-home" if backend == "embedded" else f"nbp-{backend}")
            env = platform_env(
                home,
                NBP_GPUS="0,1",
                NBP_WEBHOOK_ALLOW="127.0.0.1",
                NBP_PROMOTION_REVIEW="0",
                **servers.platform_env(backend),
            )
            started[backend] = Platform(env).start()
        return started[backend]

    try:
        yield get
    finally:
        for running in started.values():
            running.stop()


@pytest.fixture(scope="session")
def platform(request: pytest.FixtureRequest, platforms: Callable[[str], Platform]) -> Platform:
    """The session's platform on the embedded backend (SQLite, files in ``NBP_HOME``).

    In a module that names ``BACKENDS``, the platform on each of them in turn
    (see :func:`pytest_generate_tests`).
    """
    return platforms(getattr(request, "param", "embedded"))


@pytest.fixture(scope="session")
def review_platform(homes: Callable[[str], Path]) -> Iterator[Platform]:
    """A platform as shipped: it seeds the demo, and promotion requests run their review.

    Embedded backend, the shipped profiles; started when first asked for and
    stopped at the end of the session. Its demo seeding (the whole story as jobs,
    :mod:`nbplatform_hub.demo`) runs in the background from the start; see
    ``tests/integration/test_story_notebooks.py``.
    """
    env = platform_env(homes("nbp-review"), NBP_WEBHOOK_ALLOW="127.0.0.1", NBP_DEMO="1")
    running = Platform(env).start()
    try:
        yield running
    finally:
        running.stop()


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
