"""``nbp.registry.replay_model_version``: what it asks the platform, and what it returns."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fake_platform import FakePlatform, running
from nbplatform import registry
from nbplatform.client import PlatformClient
from nbplatform.errors import ConflictError, InvalidParameterError

BASE = "api/models/churn%20model/versions/3"
RUN = {"id": "00aa", "status": "queued", "job_id": "j1", "source_run_id": "0001"}
COMPARISON = {"status": "succeeded", "reproduced": True, "metrics": [{"key": "auc"}]}


@pytest.fixture
def platform() -> Iterator[FakePlatform]:
    with running() as fake:
        yield fake


@pytest.fixture
def client(platform: FakePlatform) -> PlatformClient:
    return PlatformClient(platform.url, "tok")


def test_it_replays_waits_for_the_run_and_returns_the_comparison(platform, client):
    platform.json("POST", f"{BASE}/replay", {"run": RUN}, status=201)
    platform.pages(
        "GET", "api/runs/00aa", [{**RUN, "status": "running"}, {**RUN, "status": "succeeded"}]
    )
    platform.json("GET", f"{BASE}/replays/00aa", COMPARISON)
    result = registry.replay_model_version(
        "churn model", 3, rtol=1e-3, progress=False, client=client
    )
    assert result == COMPARISON
    assert platform.sent("POST", f"{BASE}/replay")[0]["json"] == {}
    assert len(platform.sent("GET", "api/runs/00aa")) == 2
    (asked,) = platform.sent("GET", f"{BASE}/replays/00aa")
    assert asked["query"] == {"rtol": ["0.001"]}
    assert asked["headers"]["Authorization"] == "token tok"


def test_without_waiting_it_returns_the_status_at_once(platform, client):
    platform.json("POST", f"{BASE}/replay", {"run": RUN}, status=201)
    platform.json("GET", f"{BASE}/replays/00aa", {"status": "queued", "reproduced": None})
    result = registry.replay_model_version(
        "churn model", "3", wait=False, allow_profile_change=True, client=client
    )
    assert result["reproduced"] is None
    assert platform.sent("POST", f"{BASE}/replay")[0]["json"] == {"allow_profile_change": True}
    assert platform.sent("GET", "api/runs/00aa") == []


def test_a_refusal_is_the_platforms_error(platform, client):
    platform.json(
        "POST",
        f"{BASE}/replay",
        {"message": "Version 3 of 'churn model' was not made by a job run"},
        status=409,
    )
    with pytest.raises(ConflictError, match="not made by a job run"):
        registry.replay_model_version("churn model", 3, client=client)


def test_a_version_is_a_number(client):
    with pytest.raises(InvalidParameterError, match="version"):
        registry.replay_model_version("churn", "champion", client=client)
