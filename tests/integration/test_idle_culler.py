"""The idle culler stops idle servers and leaves servers with busy kernels alone."""

from __future__ import annotations

import threading
import time

import pytest

from platform_harness import Platform, running_platform

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def culling(homes):
    yield from running_platform(
        homes("nbp-cull"), NBP_GPUS="none", NBP_IDLE_TIMEOUT="16", NBP_CULL_EVERY="4"
    )


def _running(platform: Platform, user: str) -> bool:
    return "" in platform.hub_api("GET", f"users/{user}").json().get("servers", {})


def test_idle_server_is_culled_busy_one_is_not(culling):
    busy_token = culling.create_user("busy")
    culling.create_user("idle")
    culling.spawn("busy", "cpu-small")
    culling.spawn("idle", "cpu-small")

    # A kernel on busy's server computes silently for 45 s, far past the 16 s timeout.
    worker = threading.Thread(
        target=culling.execute,
        args=("busy", "import time; time.sleep(45); print('done')", busy_token),
        kwargs={"timeout": 90},
        daemon=True,
    )
    worker.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _running(culling, "idle"):
        time.sleep(2)
    assert not _running(culling, "idle"), "the idle server was not culled"
    assert _running(culling, "busy"), "the server with a busy kernel was culled"
    worker.join(60)
    culling.stop_server("busy")
