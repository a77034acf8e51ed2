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
    # A ``requests`` answer names its status ``status_code``, a ``urllib3`` one ``status``.
    status = getattr(response, "status_code", None) or response.status
    try:
        body = response.json()
        message = body.get("message") or body.get("detail") or response.reason
        code = body.get("error_code")
    except (ValueError, AttributeError):
        message, code = f"{status} {response.reason}", None
    if not isinstance(message, str):
        message = json.dumps(message)
    return _BY_STATUS.get(status, NbplatformError)(message, code)


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
        self._pool: Any = None

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

    def post_json(self, path: str, body: bytes) -> Any:
        """POST a JSON body to ``<platform_url><path>`` and return the decoded answer.

        The serving path (online lookups): it goes out on a pooled ``urllib3``
        connection, which costs a third of what a ``requests`` session adds to
        each call (``bench/features.py`` measures both). Where a proxy applies
        to the platform URL it goes through :meth:`send` instead, as every
        other call does.

        Raises:
            UnavailableError: The platform is not reachable.
            NbplatformError: The matching subclass for the service's error status.
        """
        url = f"{self.config.platform_url}{path.lstrip('/')}"
        headers = {"Content-Type": "application/json"}
        pool = self._urllib3_pool(url)
        if pool is None:
            return self.send("POST", path, data=body, headers=headers).json()
        import urllib3

        headers["Authorization"] = f"token {self.config.token}"
        try:
            response = pool.request(
                "POST", url, body=body, headers=headers, timeout=self.timeout, redirect=False
            )
        except urllib3.exceptions.HTTPError as e:
            raise UnavailableError(f"The platform service at {url} is not reachable: {e}") from e
        if response.status >= 300:  # redirects are not followed: a lookup never is one
            raise error_of(response)
        return response.json()

    def _urllib3_pool(self, url: str) -> Any:
        """A ``urllib3.PoolManager`` for ``url``, or None where a proxy applies."""
        if self._pool is None:
            import os

            import requests
            import urllib3

            if requests.utils.get_environ_proxies(url):
                self._pool = False
            else:
                # Certificates as ``requests`` finds them (its variables, else certifi's).
                ca = (
                    os.environ.get("REQUESTS_CA_BUNDLE")
                    or os.environ.get("CURL_CA_BUNDLE")
                    or requests.certs.where()
                )
                self._pool = urllib3.PoolManager(
                    maxsize=4, retries=urllib3.Retry(0, read=False), ca_certs=ca
                )
        return self._pool or None

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
