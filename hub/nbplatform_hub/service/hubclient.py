"""The platform service's calls to the JupyterHub REST API, with its own token."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from nbplatform.errors import NotFoundError, UnavailableError


class HubClient:
    """Read users from the hub's REST API.

    Args:
        api_url: ``JUPYTERHUB_API_URL`` (ends in ``/hub/api``).
        token: The service's API token (``JUPYTERHUB_API_TOKEN``).
    """

    def __init__(self, api_url: str, token: str) -> None:
        self.api_url = api_url.rstrip("/")
        self.token = token

    async def request(self, path: str) -> Any:
        """GET ``path`` under the hub API and return the decoded JSON."""
        try:
            response = await AsyncHTTPClient().fetch(
                f"{self.api_url}/{path}",
                headers={"Authorization": f"token {self.token}"},
                request_timeout=20,
            )
        except HTTPClientError as e:
            if e.code == 404:
                raise NotFoundError(f"The hub has no {path}.") from None
            raise UnavailableError(f"The hub answered {e.code} to {path}.") from None
        except OSError as e:
            raise UnavailableError(f"The hub at {self.api_url} is not reachable: {e}") from None
        return json.loads(response.body)

    async def get_user(self, name: str) -> dict[str, Any]:
        """Return the hub's model of user ``name`` (with groups)."""
        return await self.request(f"users/{quote(name, safe='')}")
