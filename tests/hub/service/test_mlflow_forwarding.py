"""The MLflow gateway's forwarding half: what reaches MLflow and what comes back.

The shipped service (``make_app``, a stand-in hub, see tests/drift/drift_support.py)
in front of a stand-in MLflow on loopback that records each request it gets and
answers with the headers a proxy must not pass on (cookies, hop-by-hop, its own
``Location``). The real MLflow behind the gateway is in tests/integration.
"""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from stand_in_http import JSONHandler, mlflow_at, stand_in

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "drift"))

from drift_support import ACCESS, Service, start_service  # noqa: E402

from nbplatform_hub.roles import ROLE_SCOPES  # noqa: E402

#: What the stand-in streams for ``static-files/big.js``: several chunks.
CHUNKS = [b"a" * 70_000, b"b" * 70_000, b"c" * 10]


class _Mlflow(JSONHandler):
    def _record(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.calls.append(  # type: ignore[attr-defined]
            {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
        )

    def do_HEAD(self) -> None:  # noqa: N802
        self._record()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", "1234")
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802
        self._record()
        url = urlsplit(self.path)
        base = f"http://{self.headers['Host']}"
        if url.path == "/old-page":
            self.send_response(302)
            self.send_header("Location", f"{base}/static-files/new.html")
            self.send_header("Set-Cookie", "mlflow-session=secret")
            self.send_header("Server", "stand-in")
            self.send_header("X-Mlflow-Note", "kept")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif url.path == "/root-relative":
            self.send_response(302)
            self.send_header("Location", "/ajax-api/2.0/mlflow/x")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif url.path == "/static-files/big.js":
            self.send_response(200)
            self.send_header("Content-Type", "text/javascript")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in CHUNKS:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        elif url.path == "/api/2.0/mlflow/runs/get":
            run = parse_qs(url.query)["run_id"][0]
            info = {
                "run_id": run,
                "experiment_id": "1",
                "artifact_uri": f"mlflow-artifacts:/1/{run}/artifacts",
            }
            self.answer(200, {"run": {"info": info, "data": {}}})
        elif url.path.startswith("/api/2.0/mlflow-artifacts/artifacts/"):
            self.answer(200, {"served": url.path})
        else:
            self.answer(404, {"error_code": "ENDPOINT_NOT_FOUND", "message": url.path})


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The platform service, its MLflow the stand-in (``service.mlflow_calls``)."""
    with stand_in(_Mlflow, calls=[]) as mlflow:
        for running in start_service(tmp_path_factory, ("models",)):
            mlflow_at(running, mlflow)
            running.mlflow_calls = mlflow.calls  # type: ignore[attr-defined]
            yield running


@pytest.fixture
def viewer(service: Service) -> str:
    return service.token("vera", [ACCESS, *ROLE_SCOPES["viewer"]])


def last_call(service: Service) -> dict:
    return service.mlflow_calls[-1]  # type: ignore[attr-defined]


def test_only_the_headers_mlflow_needs_are_sent_and_the_caller_is_named(service, viewer):
    r = service.call(
        "GET",
        "mlflow/static-files/big.js?b=2&a=1",
        viewer,
        headers={
            "Accept": "text/javascript",
            "Range": "bytes=0-",
            "Cookie": "jupyterhub-session-id=abc",
            "Origin": "http://evil.example",
            "X-Forwarded-For": "10.0.0.1",
            "X-Nbp-User": "someone-else",
        },
    )
    assert r.status_code == 200, r.text
    sent = {k.lower(): v for k, v in last_call(service)["headers"].items()}
    assert sent["accept"] == "text/javascript" and sent["range"] == "bytes=0-"
    assert sent["x-nbp-user"] == "vera"
    for dropped in ("authorization", "cookie", "origin", "x-forwarded-for"):
        assert dropped not in sent, dropped
    assert urlsplit(last_call(service)["path"]).query == "b=2&a=1"


def test_a_streamed_answer_arrives_whole(service, viewer):
    r = service.call("GET", "mlflow/static-files/big.js", viewer)
    assert r.status_code == 200
    assert r.content == b"".join(CHUNKS)
    assert r.headers["Content-Type"] == "text/javascript"


def test_mlflow_cookies_and_server_are_dropped_and_its_location_points_at_the_gateway(
    service, viewer
):
    r = service.call("GET", "mlflow/old-page", viewer)
    assert r.status_code == 302, r.text
    assert "Set-Cookie" not in r.headers or "mlflow-session" not in r.headers["Set-Cookie"]
    assert r.headers.get("Server", "") != "stand-in"
    assert r.headers["X-Mlflow-Note"] == "kept"
    prefix = urlsplit(service.url).path
    assert r.headers["Location"] == f"{prefix}mlflow/static-files/new.html"
    r = service.call("GET", "mlflow/root-relative", viewer)
    assert r.headers["Location"] == f"{prefix}mlflow/ajax-api/2.0/mlflow/x"


def test_head_passes_no_length_of_a_body_it_does_not_send(service, viewer):
    r = service.call("HEAD", "mlflow/static-files/page.html", viewer)
    assert r.status_code == 200
    assert last_call(service)["method"] == "HEAD"
    assert r.headers.get("Content-Length") in (None, "0")


def test_a_ui_download_of_proxied_artifacts_is_served_from_the_artifact_api(service, viewer):
    r = service.call("GET", "mlflow/get-artifact?run_id=r1&path=model/MLmodel", viewer)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "served": "/api/2.0/mlflow-artifacts/artifacts/1/r1/artifacts/model/MLmodel"
    }
    assert [urlsplit(c["path"]).path for c in service.mlflow_calls[-2:]] == [  # type: ignore[attr-defined]
        "/api/2.0/mlflow/runs/get",
        "/api/2.0/mlflow-artifacts/artifacts/1/r1/artifacts/model/MLmodel",
    ]


def test_a_ui_download_leading_out_of_the_artifacts_is_400_and_asks_nothing(service, viewer):
    before = len(service.mlflow_calls)  # type: ignore[attr-defined]
    r = service.call("GET", "mlflow/get-artifact?run_id=r1&path=../../etc/passwd", viewer)
    assert r.status_code == 400, r.text
    assert json.loads(r.text)["message"]
    assert len(service.mlflow_calls) == before  # type: ignore[attr-defined]


def test_mlflow_not_answering_is_503_with_a_reason(service, viewer):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    saved = service.context.mlflow_url
    service.context.mlflow_url = f"http://127.0.0.1:{closed}"
    try:
        r = service.call("GET", "mlflow/static-files/big.js", viewer)
    finally:
        service.context.mlflow_url = saved
    assert r.status_code == 503, r.text
    assert "not answering" in r.json()["message"]
