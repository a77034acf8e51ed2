"""A thin HTTP client of the platform service's REST API.

The same code works in a platform kernel (URL and token set by the kernel
preload) and on a laptop (``NBP_PLATFORM_URL`` plus a personal token from
``/hub/token`` in ``NBP_TOKEN``).
"""

from __future__ import annotations

import json
from typing import Any

from . import config as _config
from .errors import (
    ConflictError,
    InvalidParameterError,
    NbplatformError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
    UnavailableError,
)

_BY_STATUS: dict[int, type[NbplatformError]] = {
    400: InvalidParameterError,
    401: UnauthenticatedError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    503: UnavailableError,
}


def error_of(response: Any) -> NbplatformError:
    """The nbplatform error for an error answer of the platform (its JSON ``message``)."""
    try:
        body = response.json()
        message = body.get("message") or body.get("detail") or response.reason
        code = body.get("error_code")
    except (ValueError, AttributeError):
        message, code = f"{response.status_code} {response.reason}", None
    if not isinstance(message, str):
        message = json.dumps(message)
    return _BY_STATUS.get(response.status_code, NbplatformError)(message, code)


def send(session: Any, method: str, url: str, **kwargs: Any) -> Any:
    """Send a request with a ``requests`` session; return the response or raise.

    Raises:
        UnavailableError: The platform is not reachable.
        NbplatformError: The matching subclass for an error status (:func:`error_of`).
    """
    import requests

    try:
        response = session.request(method, url, **kwargs)
    except requests.ConnectionError as e:
        raise UnavailableError(f"The platform service at {url} is not reachable: {e}") from e
    if response.status_code >= 400:
        raise error_of(response)
    return response


class PlatformClient:
    """Call the platform service as the token's owner.

    Args:
        platform_url: Base URL of the platform service (else ``NBP_PLATFORM_URL``).
        token: Hub API token (else ``NBP_TOKEN`` or ``JUPYTERHUB_API_TOKEN``).
        timeout: Seconds to wait for an answer.
    """

    def __init__(
        self, platform_url: str | None = None, token: str | None = None, timeout: float = 30
    ) -> None:
        self.config = _config.load(platform_url=platform_url, token=token).require()
        self.timeout = timeout
        self._session: Any = None

    @property
    def session(self) -> Any:
        """A ``requests.Session`` carrying the token (created on first use)."""
        if self._session is None:
            import requests

            self._session = requests.Session()
            self._session.headers["Authorization"] = f"token {self.config.token}"
        return self._session

    def send(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request to ``<platform_url><path>``; return the ``requests.Response``.

        For answers that are not JSON (Arrow streams, protobufs). A ``timeout``
        keyword overrides the client's (``None``: wait as long as it takes).

        Raises:
            NbplatformError: The matching subclass for the service's error status,
                with the service's message.
        """
        kwargs.setdefault("timeout", self.timeout)
        url = f"{self.config.platform_url}{path.lstrip('/')}"
        return send(self.session, method, url, **kwargs)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request to ``<platform_url><path>`` and return the decoded JSON.

        Raises:
            NbplatformError: The matching subclass for the service's error status,
                with the service's message.
        """
        response = self.send(method, path, **kwargs)
        return response.json() if response.content else None

    def health(self) -> dict[str, Any]:
        """Return the service's health (version, database revision)."""
        return self.request("GET", "api/health")

    def me(self) -> dict[str, Any]:
        """Return the caller's name, groups, platform roles and scopes."""
        return self.request("GET", "api/me")
