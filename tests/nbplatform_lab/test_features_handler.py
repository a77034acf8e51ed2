"""The Features panel's handler: read only, four paths, every query argument checked."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from nbplatform.errors import InvalidParameterError, NotFoundError
from nbplatform_lab.handlers.features import features_target
from nbplatform_lab.handlers.resource import MAX_PAGE_SIZE

FEATURES = "/nbplatform/api/features"


def args(**values: str | list[str]) -> dict[str, list[bytes]]:
    return {k: [x.encode() for x in (v if isinstance(v, list) else [v])] for k, v in values.items()}


@pytest.mark.parametrize(
    ("rest", "arguments", "target"),
    [
        ("/views", {}, "api/features/views"),
        ("/views/", {}, "api/features/views"),
        (
            "/views",
            args(max_results="25", page_token="abc=="),
            "api/features/views?max_results=25&page_token=abc%3D%3D",
        ),
        ("/views", args(max_results="007"), "api/features/views?max_results=7"),
        ("/views/driver_stats", {}, "api/features/views/driver_stats"),
        # JupyterLab's cache-buster on every GET is dropped
        ("/views/driver_stats", {"1796190960257": [b""]}, "api/features/views/driver_stats"),
        ("/services", args(page_token="2", **{"17": ""}), "api/features/services?page_token=2"),
        ("/views/a b?c#d", {}, "api/features/views/a%20b%3Fc%23d"),
        ("/services", {}, "api/features/services"),
        ("/materializations", {}, "api/features/materializations"),
        (
            "/materializations",
            args(view="driver stats", max_results="5"),
            "api/features/materializations?max_results=5&view=driver+stats",
        ),
    ],
)
def test_the_panels_paths_are_forwarded_with_their_checked_query(rest, arguments, target):
    assert features_target(rest, arguments) == target


@pytest.mark.parametrize(
    "rest",
    [
        None,
        "/",
        "/apply",
        "/registry",
        "/entities/x",
        "/push",
        "/training-frames",
        "/views/a/b",
        "/services/s",
        "/materializations/1",
        "/server/get-online-features",
    ],
)
def test_other_paths_are_not_forwarded(rest):
    with pytest.raises(NotFoundError, match="Features panel reads"):
        features_target(rest, {})


@pytest.mark.parametrize("rest", ["/views/..", "/views/%2e%2e", "/../models", "/views/a\x00"])
def test_hostile_segments_are_refused(rest):
    with pytest.raises(InvalidParameterError):
        features_target(rest, {})


@pytest.mark.parametrize(
    ("rest", "arguments", "message"),
    [
        ("/views", args(max_results="0"), "max_results"),
        ("/views", args(max_results=str(MAX_PAGE_SIZE + 1)), "max_results"),
        ("/views", args(max_results="-1"), "max_results"),
        ("/views", args(max_results="1e3"), "max_results"),
        ("/views", args(max_results="１２"), "max_results"),  # full-width digits
        ("/views", args(max_results=["5", "6"]), "given 2 times"),
        ("/views", args(page_token="a\nb"), "page_token"),
        ("/views", args(page_token="x" * 2000), "page_token"),
        ("/views", args(view="x"), "not a query argument"),
        ("/views", args(**{"17": "x"}), "not a query argument"),
        ("/views", args(**{"12a": ""}), "not a query argument"),
        ("/views/v", args(max_results="5"), "no query arguments"),
        ("/services", args(owner="me"), "not a query argument"),
        ("/materializations", args(view=""), "view"),
        ("/materializations", args(view=" padded"), "view"),
        ("/materializations", args(view="a\x7fb"), "view"),
        ("/materializations", args(view="v" * 600), "view"),
        ("/materializations", {"view": [b"\xc0\xae"]}, "UTF-8"),
    ],
)
def test_malformed_query_arguments_are_refused(rest, arguments, message):
    with pytest.raises(InvalidParameterError, match=message):
        features_target(rest, arguments)


# The handler in a real Jupyter server -------------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    """Stands where the platform service would, and writes down what it was sent."""

    seen: list[dict[str, Any]] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's spelling)
        self.seen.append({"path": self.path, "authorization": self.headers["Authorization"]})
        body = json.dumps({"feature_views": [], "next_page_token": None}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

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


@pytest.mark.integration
def test_a_read_goes_to_the_platform_with_the_owners_token(recorded_server, recorder):
    _, seen = recorder
    seen.clear()
    r = recorded_server.request("GET", f"{FEATURES}/views?max_results=10&page_token=p1&1796190")
    assert r.status == 200, r.body
    assert r.body == {"feature_views": [], "next_page_token": None}
    assert seen == [
        {
            "path": "/services/platform/api/features/views?max_results=10&page_token=p1",
            "authorization": "token the-owners-hub-token",
        }
    ]


@pytest.mark.integration
@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", f"{FEATURES}/views?max_results=0", 400),
        ("GET", f"{FEATURES}/views?color=red", 400),
        ("GET", f"{FEATURES}/views/a/b", 404),
        ("GET", f"{FEATURES}/registry", 404),
        ("GET", f"{FEATURES}/views/%2e%2e", 400),
        ("POST", f"{FEATURES}/apply", 405),
        ("POST", f"{FEATURES}/materializations", 405),
        ("DELETE", f"{FEATURES}/views/v", 405),
    ],
)
def test_refused_requests_never_reach_the_platform(recorded_server, recorder, method, path, status):
    _, seen = recorder
    seen.clear()
    body = {} if method == "POST" else None
    r = recorded_server.request(method, path, body)
    assert r.status == status, r.body
    assert set(r.body) == {"message", "error_code"}
    assert seen == []


@pytest.mark.integration
def test_features_need_a_signed_in_user(recorded_server, recorder):
    _, seen = recorder
    seen.clear()
    r = recorded_server.request("GET", f"{FEATURES}/views", token=None)
    assert r.status == 403
    assert seen == []
