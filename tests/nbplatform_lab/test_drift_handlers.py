"""The Drift panel's handlers: the paths, verbs, queries and bodies it forwards; the report."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import tornado.web

from nbplatform.errors import InvalidParameterError, NotFoundError
from nbplatform_lab.handlers.drift import REPORT_CSP, drift_body, drift_target

DRIFT = "/nbplatform/api/drift"
REPORT = "<!doctype html><html><body><script>document.title='report'</script></body></html>"
#: What the platform sends with a report (a policy of its own, to see it is copied).
PLATFORM_CSP = REPORT_CSP + "; base-uri 'none'"


def args(**values: str | list[str]) -> dict[str, list[bytes]]:
    return {k: [x.encode() for x in (v if isinstance(v, list) else [v])] for k, v in values.items()}


@pytest.mark.parametrize(
    ("method", "rest", "arguments", "target"),
    [
        ("GET", "/monitors", {}, "api/drift/monitors"),
        ("GET", "/monitors", args(mine="1", **{"1796190960257": ""}), "api/drift/monitors?mine=1"),
        (
            "GET",
            "/monitors",
            args(max_results="025", page_token="a=="),
            "api/drift/monitors?max_results=25&page_token=a%3D%3D",
        ),
        ("GET", "/monitors/churn.v1-b_2", {}, "api/drift/monitors/churn.v1-b_2"),
        (
            "GET",
            "/monitors/churn/checks",
            args(max_results="5"),
            "api/drift/monitors/churn/checks?max_results=5",
        ),
        ("GET", "/checks/42", {}, "api/drift/checks/42"),
        ("GET", "/alerts", {}, "api/drift/alerts"),
        ("POST", "/monitors/churn/acknowledge", {}, "api/drift/monitors/churn/acknowledge"),
        ("POST", "/monitors/churn/mute", {}, "api/drift/monitors/churn/mute"),
        ("DELETE", "/monitors/churn/mute", {}, "api/drift/monitors/churn/mute"),
        ("POST", "/monitors/churn/watch", {}, "api/drift/monitors/churn/watch"),
        ("DELETE", "/monitors/churn/watch", {}, "api/drift/monitors/churn/watch"),
        ("POST", "/monitors/churn/retrain", {}, "api/drift/monitors/churn/retrain"),
    ],
)
def test_the_panels_calls_are_forwarded_checked(method, rest, arguments, target):
    assert drift_target(method, rest, arguments) == target


@pytest.mark.parametrize(
    "rest",
    [
        None,
        "/",
        "/monitors/churn/checks/1",
        "/checks",
        "/checks/1/columns",
        "/alerts/x",
        "/notices",
        "/monitors/churn/x",
    ],
)
def test_other_paths_are_not_forwarded(rest):
    with pytest.raises(NotFoundError, match="Drift panel uses"):
        drift_target("GET", rest, {})


@pytest.mark.parametrize(
    ("method", "rest"),
    [
        ("POST", "/monitors"),  # defining monitors goes from the kernel
        ("DELETE", "/monitors/churn"),
        ("POST", "/monitors/churn/checks"),  # recording checks too
        ("GET", "/monitors/churn/mute"),
        ("DELETE", "/monitors/churn/acknowledge"),
        ("DELETE", "/monitors/churn/retrain"),
        ("POST", "/alerts"),
        ("POST", "/checks/1"),
    ],
)
def test_other_verbs_are_refused(method, rest):
    with pytest.raises(tornado.web.HTTPError) as e:
        drift_target(method, rest, {})
    assert e.value.status_code == 405


@pytest.mark.parametrize(
    "rest",
    [
        "/monitors/..",
        "/monitors/%2e%2e",
        "/monitors/1churn",
        "/monitors/a b",
        "/monitors/" + "x" * 129,
        "/monitors/-x/mute",
        "/checks/x",
        "/checks/-1",
        "/checks/1" + "0" * 18,
        "/../models",
        "/monitors/a\x00",
    ],
)
def test_hostile_names_are_refused(rest):
    with pytest.raises(InvalidParameterError):
        drift_target("GET", rest, {})


@pytest.mark.parametrize(
    ("rest", "arguments", "message"),
    [
        ("/monitors", args(mine="yes"), "mine"),
        ("/monitors", args(max_results="0"), "max_results"),
        ("/monitors", args(max_results="1001"), "max_results"),
        ("/monitors", args(mine=["1", "0"]), "given 2 times"),
        ("/monitors", args(page_token="a\nb"), "page_token"),
        ("/monitors", args(owner="x"), "not a query argument"),
        ("/monitors/churn", args(mine="1"), "no query arguments"),
        ("/alerts", args(all="1"), "no query arguments"),
        ("/monitors/churn/checks", args(mine="1"), "not a query argument"),
    ],
)
def test_malformed_query_arguments_are_refused(rest, arguments, message):
    with pytest.raises(InvalidParameterError, match=message):
        drift_target("GET", rest, arguments)


@pytest.mark.parametrize(
    ("method", "rest", "body", "sent"),
    [
        ("POST", "/monitors/m/acknowledge", None, None),
        ("POST", "/monitors/m/acknowledge", {"comment": "seen"}, {"comment": "seen"}),
        ("POST", "/monitors/m/mute", {"minutes": 60}, {"minutes": 60}),
        ("POST", "/monitors/m/retrain", {"check_id": 3}, {"check_id": 3}),
        ("POST", "/monitors/m/retrain", {}, None),
        ("POST", "/monitors/m/watch", None, None),
        ("DELETE", "/monitors/m/watch", {}, None),
    ],
)
def test_bodies_are_the_keys_an_action_takes(method, rest, body, sent):
    assert drift_body(method, rest, body) == sent


@pytest.mark.parametrize(
    ("method", "rest", "body", "message"),
    [
        ("POST", "/monitors/m/acknowledge", {"comment": 3}, "text"),
        ("POST", "/monitors/m/acknowledge", {"comment": "x" * 5000}, "longer"),
        ("POST", "/monitors/m/acknowledge", {"by": "admin"}, "not a key"),
        ("POST", "/monitors/m/mute", None, "minutes"),
        ("POST", "/monitors/m/mute", {"minutes": 0}, "minutes"),
        ("POST", "/monitors/m/mute", {"minutes": 525_601}, "minutes"),
        ("POST", "/monitors/m/mute", {"minutes": "60"}, "whole number"),
        ("POST", "/monitors/m/mute", {"minutes": True}, "whole number"),
        ("POST", "/monitors/m/mute", {"minutes": 1.5}, "whole number"),
        ("POST", "/monitors/m/retrain", {"check_id": -1}, "check_id"),
        ("POST", "/monitors/m/retrain", {"job": "other"}, "not a key"),
        ("POST", "/monitors/m/watch", {"user": "bob"}, "no body"),
        ("DELETE", "/monitors/m/mute", {"minutes": 5}, "no body"),
    ],
)
def test_malformed_bodies_are_refused(method, rest, body, message):
    with pytest.raises(InvalidParameterError, match=message):
        drift_body(method, rest, body)


# The handlers in a real Jupyter server -------------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    """Stands where the platform service would, and writes down what it was sent."""

    seen: list[dict[str, Any]] = []

    def _record(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        self.seen.append(
            {
                "method": self.command,
                "path": self.path,
                "authorization": self.headers["Authorization"],
                "body": json.loads(raw) if raw.strip() else None,
            }
        )

    def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (http.server's spelling)
        self._record()
        if self.path.endswith("/checks/1/report"):
            self._answer(
                200,
                REPORT.encode(),
                {
                    "Content-Type": "text/html; charset=utf-8",
                    "Content-Security-Policy": PLATFORM_CSP,
                },
            )
        elif self.path.endswith("/checks/2/report"):  # an older service: no policy sent
            self._answer(200, REPORT.encode(), {"Content-Type": "text/html"})
        elif self.path.endswith("/report"):
            body = {"message": "Check 3 has no report.", "error_code": "RESOURCE_DOES_NOT_EXIST"}
            self._answer(404, json.dumps(body).encode(), {"Content-Type": "application/json"})
        else:
            body = json.dumps({"monitors": [], "next_page_token": None}).encode()
            self._answer(200, body, {"Content-Type": "application/json"})

    def do_POST(self) -> None:  # noqa: N802
        self._record()
        self._answer(200, b'{"name": "m"}', {"Content-Type": "application/json"})

    do_DELETE = do_POST  # noqa: N815

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def recorder() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/services/platform/", _Recorder.seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def recorded_server(jupyter_server_factory, recorder):
    url, _ = recorder
    return jupyter_server_factory(
        env={"NBP_PLATFORM_URL": url, "JUPYTERHUB_API_TOKEN": "the-owners-hub-token"}
    )


def fetch(server: Any, path: str, token: str | None = "default") -> tuple[int, Any, bytes]:
    headers = {} if token is None else {"Authorization": f"token {server.token}"}
    request = urllib.request.Request(server.url + path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


@pytest.mark.integration
def test_reads_and_actions_go_to_the_platform_with_the_owners_token(recorded_server, recorder):
    _, seen = recorder
    seen.clear()
    r = recorded_server.request("GET", f"{DRIFT}/monitors?mine=1&1796190")
    assert r.status == 200, r.body
    assert r.body == {"monitors": [], "next_page_token": None}
    r = recorded_server.request("POST", f"{DRIFT}/monitors/churn/mute", {"minutes": 60})
    assert r.status == 200, r.body
    r = recorded_server.request("DELETE", f"{DRIFT}/monitors/churn/watch")
    assert r.status == 200, r.body
    token = "token the-owners-hub-token"
    assert seen == [
        {
            "method": "GET",
            "path": "/services/platform/api/drift/monitors?mine=1",
            "authorization": token,
            "body": None,
        },
        {
            "method": "POST",
            "path": "/services/platform/api/drift/monitors/churn/mute",
            "authorization": token,
            "body": {"minutes": 60},
        },
        {
            "method": "DELETE",
            "path": "/services/platform/api/drift/monitors/churn/watch",
            "authorization": token,
            "body": None,
        },
    ]


@pytest.mark.integration
@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", f"{DRIFT}/monitors?mine=2", None, 400),
        ("GET", f"{DRIFT}/monitors/1x", None, 400),
        ("GET", f"{DRIFT}/notices", None, 404),
        ("POST", f"{DRIFT}/monitors", {"name": "x"}, 405),
        ("POST", f"{DRIFT}/monitors/m/checks", {"columns": []}, 405),
        ("PATCH", f"{DRIFT}/monitors/m", {"owner": "me"}, 405),
        ("POST", f"{DRIFT}/monitors/m/mute", {"minutes": 0}, 400),
        ("POST", f"{DRIFT}/monitors/m/acknowledge", {"comment": "x", "by": "y"}, 400),
        ("GET", f"{DRIFT}/checks/x/report", None, 400),
        ("POST", f"{DRIFT}/checks/1/report", {}, 405),
    ],
)
def test_refused_requests_never_reach_the_platform(
    recorded_server, recorder, method, path, body, status
):
    _, seen = recorder
    seen.clear()
    r = recorded_server.request(method, path, body)
    assert r.status == status, r.body
    assert set(r.body) == {"message", "error_code"}
    assert seen == []


@pytest.mark.integration
def test_a_report_is_the_platforms_html_under_the_platforms_policy(recorded_server, recorder):
    _, seen = recorder
    seen.clear()
    status, headers, body = fetch(recorded_server, f"{DRIFT}/checks/1/report")
    assert status == 200
    assert body.decode() == REPORT
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    # the platform's policy replaces the Jupyter server's own (one header, not two)
    assert headers.get_all("Content-Security-Policy") == [PLATFORM_CSP]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert seen[0]["path"] == "/services/platform/api/drift/checks/1/report"
    assert seen[0]["authorization"] == "token the-owners-hub-token"


@pytest.mark.integration
def test_a_report_sent_without_a_policy_gets_the_sandbox_policy(recorded_server):
    status, headers, body = fetch(recorded_server, f"{DRIFT}/checks/2/report")
    assert status == 200 and body.decode() == REPORT
    assert headers.get_all("Content-Security-Policy") == [REPORT_CSP]
    assert "sandbox allow-scripts" in REPORT_CSP and "allow-same-origin" not in REPORT_CSP


@pytest.mark.integration
def test_a_missing_report_is_the_platforms_404(recorded_server):
    status, headers, body = fetch(recorded_server, f"{DRIFT}/checks/3/report")
    assert status == 404
    assert json.loads(body) == {
        "message": "Check 3 has no report.",
        "error_code": "RESOURCE_DOES_NOT_EXIST",
    }
    assert headers.get_all("Content-Security-Policy") == [REPORT_CSP]


@pytest.mark.integration
def test_drift_needs_a_signed_in_user(recorded_server, recorder):
    _, seen = recorder
    seen.clear()
    assert recorded_server.request("GET", f"{DRIFT}/alerts", token=None).status == 403
    assert fetch(recorded_server, f"{DRIFT}/checks/1/report", token=None)[0] == 403
    assert seen == []
