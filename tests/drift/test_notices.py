"""Notices of a change of status: signed webhooks, e-mail, one per change, each recorded."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sqlalchemy as sa
from drift_support import DATA_SCIENTIST, check_body, column

from nbplatform_drift import notices, store
from nbplatform_drift.db import MIGRATIONS
from nbplatform_drift.models import MonitorCreate
from nbplatform_drift.schema import notices as notices_table
from nbplatform_hub import host
from platform_harness import free_port
from smtp_support import smtp_server


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((body, dict(self.headers)))  # type: ignore[attr-defined]
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Receiver)
    server.received = []  # type: ignore[attr-defined]
    server.status = 204  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def url(server: ThreadingHTTPServer, path: str = "/hook") -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


@pytest.fixture
def engine(tmp_path):
    engine = host.connect(f"sqlite:///{tmp_path / 'platform.sqlite'}")
    host.upgrade(engine, MIGRATIONS, tmp_path)
    yield engine
    engine.dispose()


def stored(engine, webhooks: list[str], emails: list[str]) -> tuple[dict, dict]:
    body = MonitorCreate(name="m", model="models:/churn@champion", webhooks=webhooks, emails=emails)
    with engine.begin() as conn:
        monitor = store.create_monitor(conn, "m", "dora", body.definition())
        check = store.insert_check(
            conn,
            monitor["id"],
            {
                "created_at": store.utcnow(),
                "created_by": "dora",
                "status": "drift",
                "dataset_drift": True,
                "drift_share": 1.0,
                "threshold_share": 0.5,
                "n_columns": 2,
                "n_drifted": 2,
                "reference_rows": 10,
                "current_rows": 10,
                "sampled_rows": None,
                "window_start": None,
                "window_end": None,
                "columns": [column("income", True, 2.0), column("zip", True, 4.0)],
                "importance": {"income": 9.0, "zip": 1.0},
                "model_version": None,
                "has_report": True,
                "job_id": None,
                "job_run_id": None,
            },
        )
    return monitor, check


def recorded(engine) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(notices_table).order_by(notices_table.c.id)).mappings()
        return [dict(r) for r in rows]


def test_a_signed_webhook_and_an_email_are_sent_and_recorded(engine, receiver):
    monitor, check = stored(engine, [url(receiver)], ["dora@example.org"])
    with smtp_server() as smtp:
        env = {
            "NBP_WEBHOOK_ALLOW": "127.0.0.1",
            "NBP_SMTP_HOST": "127.0.0.1",
            "NBP_SMTP_PORT": str(smtp.server_address[1]),
        }
        results = notices.send(engine, monitor, check, "ok", "http://hub/services/platform/", env)
        messages = list(smtp.messages)
    assert [r["ok"] for r in results] == [True, True], results
    [(body, headers)] = receiver.received
    expected = (
        "sha256=" + hmac.new(monitor["webhook_secret"].encode(), body, hashlib.sha256).hexdigest()
    )
    assert headers["X-Nbp-Signature-256"] == expected
    assert headers["X-Nbp-Event"] == "drift.status_changed"
    assert headers["User-Agent"] == "nbplatform-drift"
    notice = json.loads(body)
    assert notice["event"] == "drift.status_changed"
    assert notice["previous"] == "ok" and notice["status"] == "drift"
    assert notice["monitor"] == {
        "name": "m",
        "owner": "dora",
        "model": "models:/churn@champion",
        "feature_view": None,
    }
    assert [c["column"] for c in notice["top_columns"]] == ["income", "zip"]
    assert notice["top_columns"][0]["weighted"] == pytest.approx(1.8)
    assert notice["check"]["id"] == check["id"]
    assert notice["links"] == {
        "check": f"http://hub/services/platform/api/drift/checks/{check['id']}",
        "report": f"http://hub/services/platform/api/drift/checks/{check['id']}/report",
    }
    [message] = messages
    assert "dora@example.org" in message["rcpt"][0]
    text = message["data"].decode()
    assert "drift monitor m: ok -> drift" in text and "income" in text
    rows = recorded(engine)
    assert [(r["channel"], r["target"], r["ok"], r["check_id"]) for r in rows] == [
        ("webhook", url(receiver), True, check["id"]),
        ("email", "dora@example.org", True, check["id"]),
    ]


def test_failed_deliveries_are_recorded_with_why(engine, receiver):
    receiver.status = 500  # type: ignore[attr-defined]
    closed = f"http://127.0.0.1:{free_port()}/nobody"
    monitor, check = stored(engine, [url(receiver), closed, "http://10.0.0.1/x"], ["a@b.org"])
    results = notices.send(engine, monitor, check, "ok", "/p/", {"NBP_WEBHOOK_ALLOW": "127.0.0.1"})
    assert [r["ok"] for r in results] == [False, False, False, False]
    errors = [r["error"] for r in recorded(engine)]
    assert "HTTP 500" in errors[0]
    assert "could not connect" in errors[1]
    assert "private address" in errors[2]
    assert "NBP_SMTP_HOST" in errors[3]


def wait_for(receiver, count: int, timeout: float = 10) -> list[dict]:
    deadline = time.monotonic() + timeout
    while len(receiver.received) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return [json.loads(body) for body, _ in receiver.received]


def test_the_service_notifies_once_per_change_and_not_while_muted(service, receiver):
    dora = service.token("dora", DATA_SCIENTIST)
    body = {"name": "noisy", "feature_view": "v", "webhooks": [url(receiver)]}
    created = service.call("POST", "api/drift/monitors", dora, json=body)
    assert created.status_code == 201, created.text
    secret = created.json()["webhook_secret"]
    path = "api/drift/monitors/noisy/checks"
    ok = check_body(column("a", False, 0.1))
    drift = check_body(column("a", True, 3.0))
    warning = check_body(column("a", True, 3.0), column("b", False, 0.1), dataset_drift=False)

    def post(body: dict) -> None:
        assert service.call("POST", path, dora, json=body).status_code == 201
        service.settle()

    post(ok)  # unknown -> ok: no news
    post(drift)  # ok -> drift
    post(drift)  # no change
    assert [(n["previous"], n["status"]) for n in wait_for(receiver, 1)] == [("ok", "drift")]
    body, headers = receiver.received[0]
    assert (
        headers["X-Nbp-Signature-256"].removeprefix("sha256=")
        == hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    )
    service.call("POST", "api/drift/monitors/noisy/mute", dora, json={"minutes": 10})
    post(warning)  # a change, but muted
    service.call("DELETE", "api/drift/monitors/noisy/mute", dora)
    post(ok)  # warning -> ok
    seen = [(n["previous"], n["status"]) for n in wait_for(receiver, 2)]
    assert seen == [("ok", "drift"), ("warning", "ok")]


def test_an_internal_webhook_is_refused_when_saved(service):
    dora = service.token("dora", DATA_SCIENTIST)
    body = {"name": "internal", "feature_view": "v", "webhooks": ["http://192.168.1.1/x"]}
    r = service.call("POST", "api/drift/monitors", dora, json=body)
    assert r.status_code == 400 and r.json()["message"].startswith("webhooks.0: 192.168.1.1")
