from __future__ import annotations

import pytest
from stand_in_http import JSONHandler, stand_in

from nbplatform.client import PlatformClient
from nbplatform.errors import (
    ConfigurationError,
    InvalidParameterError,
    NbplatformError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
    UnavailableError,
)
from platform_harness import free_port


def test_client_needs_url_and_token(monkeypatch):
    for name in ("NBP_PLATFORM_URL", "NBP_TOKEN", "JUPYTERHUB_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigurationError):
        PlatformClient()


def test_unreachable_platform_is_unavailable():
    client = PlatformClient(f"http://127.0.0.1:{free_port()}/services/platform/", "t", timeout=5)
    with pytest.raises(UnavailableError, match="not reachable"):
        client.me()


@pytest.mark.integration
def test_client_against_the_real_service(platform):
    url = f"{platform.url}/services/platform/"
    token = platform.create_user("client-user")
    client = PlatformClient(url, token)
    assert client.me()["name"] == "client-user"
    assert client.health()["status"] == "ok"
    with pytest.raises(NotFoundError):
        client.request("GET", "api/not-a-resource")
    with pytest.raises(UnauthenticatedError, match="token"):
        PlatformClient(url, "wrong-token").me()
    r = platform.hub_api(
        "POST", "users/client-user/tokens", json={"scopes": ["read:users:name!user"]}
    )
    with pytest.raises(PermissionDeniedError):
        PlatformClient(url, r.json()["token"]).me()


def test_a_json_post_to_an_unreachable_platform_is_unavailable():
    client = PlatformClient(f"http://127.0.0.1:{free_port()}/services/platform/", "t", timeout=5)
    with pytest.raises(UnavailableError, match="not reachable"):
        client.post_json("features/server/get-online-features", b"{}")


class _Proxy(JSONHandler):
    def do_POST(self):  # noqa: N802 - http.server's name
        self.server.seen.append((self.path, self.headers.get("Authorization")))
        self.answer(200, {"via": "proxy"})


def test_a_json_post_goes_through_the_proxy_where_one_applies(monkeypatch):
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "HTTP_PROXY"):
        monkeypatch.delenv(name, raising=False)
    with stand_in(_Proxy, seen=[]) as proxy:
        monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{proxy.server_address[1]}")
        # A name, not loopback: requests never proxies 127.0.0.1 when no_proxy is unset.
        client = PlatformClient("http://platform.invalid/services/platform/", "secret")
        assert client.post_json("features/server/get-online-features", b"{}") == {"via": "proxy"}
    url = "http://platform.invalid/services/platform/features/server/get-online-features"
    assert proxy.seen == [(url, "token secret")]


class _Redirect(JSONHandler):
    def do_POST(self):  # noqa: N802 - http.server's name
        self.answer(302, {"message": "log in first"})


def test_a_json_post_answered_with_a_redirect_is_an_error():
    with stand_in(_Redirect) as server:
        client = PlatformClient(f"http://127.0.0.1:{server.server_address[1]}/", "t")
        with pytest.raises(NbplatformError, match="log in first"):
            client.post_json("features/server/get-online-features", b"{}")


@pytest.mark.integration
def test_json_posts_against_the_real_service(platform):
    url = f"{platform.url}/services/platform/"
    token = platform.create_user("post-user", "viewer")
    client = PlatformClient(url, token)
    path = "features/server/get-online-features"
    with pytest.raises(InvalidParameterError, match="not both and not neither"):
        client.post_json(path, b'{"entities": {"driver_id": [1]}}')
    with pytest.raises(InvalidParameterError):
        client.post_json(path, b"not json")
    with pytest.raises(NotFoundError):
        client.post_json("api/not-a-resource", b"{}")
    with pytest.raises(UnauthenticatedError, match="token"):
        PlatformClient(url, "wrong-token").post_json(path, b"{}")
