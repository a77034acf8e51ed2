"""A busy kernel keeps its server active for the hub's idle culler."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime

import pytest
from tornado.websocket import websocket_connect

SLEEP = 8  # seconds the cell runs silently


def _last_activity(server) -> datetime:
    # /api/status does not count as activity itself; it reports web_app.last_activity(),
    # which is what jupyterhub's singleuser extension sends to the hub
    status = server.request("GET", "/api/status")
    assert status.status == 200
    return datetime.fromisoformat(status.body["last_activity"])


def _execute_request(code: str, session: str) -> dict:
    return {
        "header": {
            "msg_id": uuid.uuid4().hex,
            "msg_type": "execute_request",
            "session": session,
            "username": "test",
            "version": "5.3",
            "date": datetime.now().astimezone().isoformat(),
        },
        "parent_header": {},
        "metadata": {},
        "content": {"code": code, "silent": False, "store_history": False, "allow_stdin": False},
        "channel": "shell",
        "buffers": [],
    }


async def _run_silently_busy(server):
    """Start a kernel, make it sleep silently, and sample the last activity while it does."""
    kernel = server.request("POST", "/api/kernels", {"name": "python3"})
    assert kernel.status == 201, kernel.body
    kernel_id = kernel.body["id"]
    ws_url = server.url.replace("http", "ws", 1) + f"/api/kernels/{kernel_id}/channels"
    conn = await websocket_connect(f"{ws_url}?token={server.token}")
    try:
        request = _execute_request(f"import time; time.sleep({SLEEP})", uuid.uuid4().hex)
        await conn.write_message(json.dumps(request))
        msg_id = request["header"]["msg_id"]
        # wait for the kernel to say it is busy with our request
        while True:
            message = json.loads(await asyncio.wait_for(conn.read_message(), 30))
            if (
                message["msg_type"] == "status"
                and message["parent_header"].get("msg_id") == msg_id
                and message["content"]["execution_state"] == "busy"
            ):
                break
        await asyncio.sleep(2)  # past execute_input, the last message before the silence
        first = _last_activity(server)
        await asyncio.sleep(3)
        second = _last_activity(server)
    finally:
        conn.close()
        server.request("DELETE", f"/api/kernels/{kernel_id}")
    return first, second


@pytest.mark.integration
async def test_busy_kernel_records_activity_while_silent(unconfigured_server):
    first, second = await _run_silently_busy(unconfigured_server)
    # polled every 0.5 s: the activity follows the clock while the kernel is busy
    assert (second - first).total_seconds() >= 2


@pytest.mark.integration
async def test_without_the_poll_a_silent_busy_kernel_looks_idle(unreachable_platform_server):
    # this server polls every 60 s (the default), so not during the test: the
    # silence shows as no activity at all, which is what the poll is for
    first, second = await _run_silently_busy(unreachable_platform_server)
    assert second == first
