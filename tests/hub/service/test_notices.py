"""Webhook destinations: internal addresses refused, bodies signed, redirects not followed."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from nbplatform.errors import InvalidParameterError
from nbplatform_hub.service.notices import Allow, check_destination, deliver, sign
from nbplatform_jobs.notify import post_webhook
from nbplatform_jobs.settings import JobsSettings


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8081/hub/api/users",
        "http://localhost:5000/api/2.0/mlflow/registered-models/delete",
        "http://[::1]:8090/",
        "http://[::ffff:127.0.0.1]/",
        "http://2130706433/",  # 127.0.0.1 as one number
        "http://0.0.0.0:8000/",
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://172.16.0.1/",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://100.64.0.1/",  # shared address space
        "http://224.0.0.1/",
    ],
)
def test_internal_destinations_are_refused(url):
    with pytest.raises(InvalidParameterError, match="webhook_url: .*NBP_WEBHOOK_ALLOW"):
        check_destination(url, Allow())


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/",
        "http:///nohost",
        "https://user:secret@example.org/hook",
        "http://example.org:99999/",
        "http://exa mple.org/",
        "http://example.org/\r\nX-Injected: 1",
    ],
)
def test_malformed_destinations_are_refused(url):
    with pytest.raises(InvalidParameterError, match="webhook_url"):
        check_destination(url, Allow(), resolve_required=False)


def test_public_addresses_pass_and_admins_can_allow_internal_ones():
    assert [str(a) for a in check_destination("https://93.184.215.14/x", Allow())] == [
        "93.184.215.14"
    ]
    allow = Allow.parse(" 127.0.0.1, 10.0.0.0/8 ,hooks.internal. ")
    assert check_destination("http://127.0.0.1:9/", allow)
    assert check_destination("http://10.9.8.7/", allow)
    with pytest.raises(InvalidParameterError):
        check_destination("http://127.0.0.2/", allow)
    assert allow.hosts == frozenset({"hooks.internal"})


def test_a_name_that_does_not_resolve_waits_for_delivery():
    url = "https://hooks.nbplatform.invalid/x"
    assert check_destination(url, Allow(), resolve_required=False) == []
    with pytest.raises(InvalidParameterError, match="does not resolve"):
        check_destination(url, Allow())


class _Receiver(BaseHTTPRequestHandler):
    seen: list[dict[str, Any]] = []
    redirect_to: str | None = None

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).seen.append({"path": self.path, "headers": dict(self.headers), "body": body})
        if self.redirect_to:
            self.send_response(307)
            self.send_header("Location", self.redirect_to)
        else:
            self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receivers() -> Iterator[tuple[str, str, type[_Receiver], type[_Receiver]]]:
    first = type("First", (_Receiver,), {"seen": []})
    second = type("Second", (_Receiver,), {"seen": []})
    servers = [HTTPServer(("127.0.0.1", 0), kind) for kind in (first, second)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    urls = [f"http://127.0.0.1:{s.server_port}" for s in servers]
    yield urls[0], urls[1], first, second
    for server in servers:
        server.shutdown()
        server.server_close()


def test_deliveries_are_signed_pinned_and_never_redirected(receivers):
    url, other, first, second = receivers
    body = json.dumps({"event": "run.failed"}).encode()
    allow = Allow.parse("127.0.0.1")
    assert deliver(f"{url}/hook?x=1", body, "s3cret", "run.failed", allow) == 204
    (got,) = first.seen
    assert got["path"] == "/hook?x=1" and got["body"] == body
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert got["headers"]["X-Nbp-Signature-256"] == expected == sign("s3cret", body)
    assert got["headers"]["X-Nbp-Event"] == "run.failed"
    first.redirect_to = f"{other}/internal"
    assert deliver(url, body, "s3cret", "run.failed", allow) == 307
    assert second.seen == []  # the redirect was not followed
    with pytest.raises(InvalidParameterError):
        deliver(url, body, "s3cret", "run.failed", Allow())  # checked again on delivery
    assert len(first.seen) == 2


def test_a_refused_delivery_is_logged_not_raised(tmp_path, receivers, caplog):
    url, _, first, _ = receivers
    settings = JobsSettings.from_env({"NBP_HOME": str(tmp_path)})  # no NBP_WEBHOOK_ALLOW
    job = {"webhook_url": url, "webhook_secret": "k"}
    post_webhook(settings, job, {"event": "run.failed"})
    assert first.seen == [] and "loopback" in caplog.text
