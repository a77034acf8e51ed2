"""``features/server/get-online-features`` in the running service: lookups have own threads.

The shipped service (``make_app``, a stand-in hub, see tests/drift/drift_support.py)
with the features capability and a real Feast repository (SQLite online store).
Every thread the other features routes share (applies, materializations,
training frames) is held busy while lookups are made: each is still answered,
also when its check must re-read the registry first.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from online_support import apply_driver_stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "drift"))

from drift_support import ACCESS, Service, start_service  # noqa: E402

from nbplatform_hub.roles import FEATURES_READ  # noqa: E402

PATH = "features/server/get-online-features"
BODY = {"entities": {"driver_id": [2]}, "features": ["driver_stats:trips"]}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The platform service with the features capability and ``driver_stats`` served."""
    for running in start_service(tmp_path_factory, ("features",)):
        apply_driver_stats(running.context.state["features"].repo)
        yield running


@pytest.fixture
def shared_threads_busy(service: Service) -> Iterator[threading.Event]:
    """Every thread of the shared features executor blocked until the test ends."""
    state = service.context.state["features"]
    release, started = threading.Event(), threading.Semaphore(0)

    def hold() -> None:
        started.release()
        release.wait(120)

    futures = [state.executor.submit(hold) for _ in range(state.executor._max_workers)]
    for _ in futures:
        assert started.acquire(timeout=30)
    yield release
    release.set()
    for future in futures:
        future.result(timeout=30)


def trips(answer: dict) -> list:
    names = answer["metadata"]["feature_names"]
    return answer["results"][names.index("trips")]["values"]


def test_a_lookup_is_answered_while_every_shared_thread_is_busy(service, shared_threads_busy):
    token = service.token("vera", [ACCESS, FEATURES_READ])
    r = service.call("POST", PATH, token, json=BODY)
    assert r.status_code == 200, r.text
    assert trips(r.json()) == [4]
    assert not shared_threads_busy.is_set()


def test_a_lookup_that_must_re_read_the_registry_is_answered_too(service, shared_threads_busy):
    state = service.context.state["features"]
    state._served = None  # the registry TTL has passed: the check re-reads it
    token = service.token("vera", [ACCESS, FEATURES_READ])
    r = service.call("POST", PATH, token, json=BODY)
    assert r.status_code == 200, r.text
    assert trips(r.json()) == [4]
    assert state.fresh_served() is not None
    assert not shared_threads_busy.is_set()


def test_a_lookup_without_features_read_is_403_and_reads_nothing(service):
    state = service.context.state["features"]
    state._served = None
    r = service.call("POST", PATH, service.token("bare", [ACCESS]), json=BODY)
    assert r.status_code == 403, r.text
    assert "features" in r.json()["message"]
    assert state._served is None
