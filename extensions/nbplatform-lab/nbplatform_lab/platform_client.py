"""An asynchronous client of the platform service, used by the server-extension handlers.

The single-user server calls the platform service as its owner, with its own hub
token (``JUPYTERHUB_API_TOKEN``), through tornado's ``AsyncHTTPClient`` so that no
call blocks the server's event loop. Every failure becomes an
:class:`~nbplatform.errors.NbplatformError` that tells the user what to do next.
"""

from __future__ import annotations

import json
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest, HTTPResponse

from nbplatform.errors import (
    ConflictError,
    InvalidParameterError,
    NbplatformError,
    NotFoundError,
    PermissionDeniedError,
    UnavailableError,
)

from .errors import PlatformRefusal, UpstreamError

#: How the platform's error statuses are told to the browser. 401 and 403 both
#: become "not allowed": the browser is signed in to this server; it is the
#: server's token that the platform refused.
_ERROR_BY_STATUS: dict[int, type[NbplatformError]] = {
    400: InvalidParameterError,
    401: PermissionDeniedError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
}

NOT_STARTED_BY_HUB = (
    "This Jupyter server was not started by the platform hub (NBP_PLATFORM_URL is not set), "
    "so it cannot reach the platform service. Start your server from the hub's home page "
    "to use the platform."
)


class PlatformServiceClient:
    """Call the platform service's REST API as the owner of this server.

    Args:
        platform_url: Base URL of the platform service, ending in ``/``
            (e.g. ``http://127.0.0.1:8090/services/platform/``); ``None`` when this
            server was not started by the platform hub.
        token: The hub API token sent as ``Authorization: token <token>``.
        timeout: Seconds to wait for the service to connect and answer.
    """

    def __init__(self, platform_url: str | None, token: str | None, timeout: float = 10.0) -> None:
        if platform_url and not platform_url.endswith("/"):
            platform_url += "/"
        self.platform_url = platform_url or None
        self.token = token or None
        self.timeout = timeout

    async def request(self, method: str, path: str, body: Any = None) -> Any:
        """Send a request to ``<platform_url><path>`` and return the decoded JSON answer.

        Args:
            method: The HTTP verb.
            path: The path under the service's base URL, e.g. ``api/me``.
            body: A JSON-serialisable request body, if any.

        Returns:
            The decoded JSON body, or ``None`` for an empty answer.

        Raises:
            UnavailableError: This server has no platform URL or no hub token.
            UpstreamError: The service cannot be reached or failed (5xx).
            NbplatformError: The matching subclass for the service's 4xx answer,
                with the service's message.
        """
        if not self.platform_url:
            raise UnavailableError(NOT_STARTED_BY_HUB, "PLATFORM_NOT_CONFIGURED")
        if not self.token:
            raise UnavailableError(
                "This Jupyter server has no hub token (JUPYTERHUB_API_TOKEN is not set), so it "
                "cannot call the platform service. Restart your server from the hub's home page.",
                "PLATFORM_NOT_CONFIGURED",
            )
        url = f"{self.platform_url}{path.lstrip('/')}"
        headers = {"Authorization": f"token {self.token}", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        request = HTTPRequest(
            url,
            method=method,
            headers=headers,
            body=_encode(method, body),
            connect_timeout=self.timeout,
            request_timeout=self.timeout,
            follow_redirects=False,
            # a DELETE may carry a body (tornado refuses one unless told)
            allow_nonstandard_methods=method == "DELETE" and body is not None,
        )
        try:
            response = await AsyncHTTPClient().fetch(request, raise_error=False)
        except (OSError, HTTPClientError) as e:
            raise UpstreamError(
                f"The platform service at {self.platform_url} is not reachable: {e}. "
                "Try again in a minute; if it persists, ask a platform admin to check "
                "the platform service."
            ) from e
        if response.code >= 400:
            raise _error_from(response, self.platform_url)
        return _decode(response)

    async def get(self, path: str) -> Any:
        """``GET <platform_url><path>``; see :meth:`request`."""
        return await self.request("GET", path)

    async def me(self) -> dict[str, Any]:
        """Return the owner's name, admin flag, groups, platform roles and scopes."""
        return await self.get("api/me")


def _encode(method: str, body: Any) -> str | None:
    if body is not None:
        return json.dumps(body)
    # tornado insists on a body for these verbs
    return "" if method in ("POST", "PUT", "PATCH") else None


def _decode(response: HTTPResponse) -> Any:
    if not response.body:
        return None
    try:
        return json.loads(response.body)
    except ValueError as e:
        raise UpstreamError(
            f"The platform service answered {response.effective_url} with something that is "
            "not JSON. Ask a platform admin to check the platform service."
        ) from e


def _error_from(response: HTTPResponse, platform_url: str) -> NbplatformError:
    message, code = None, None
    try:
        body = json.loads(response.body or b"")
        if isinstance(body, dict):
            message, code = body.get("message"), body.get("error_code")
    except ValueError:
        pass
    error = _ERROR_BY_STATUS.get(response.code)
    if error is not None:
        # a 401 keeps the code of "not allowed" it is mapped to
        return error(
            message or f"The platform service answered {response.code} {response.reason}.",
            code if response.code != 401 else None,
        )
    if 400 <= response.code < 500:
        return PlatformRefusal(
            message or f"The platform service answered {response.code} {response.reason}.",
            code,
            response.code,
        )
    return UpstreamError(
        f"The platform service at {platform_url} failed ({response.code} {response.reason})"
        + (f": {message}" if message else ".")
        + " Ask a platform admin to check the platform service's log.",
        code,
    )
