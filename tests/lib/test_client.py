from __future__ import annotations

import pytest

from nbplatform.client import PlatformClient
from nbplatform.errors import (
    ConfigurationError,
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
