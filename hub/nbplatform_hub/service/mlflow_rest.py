"""The platform service's own calls to the loopback MLflow server (async, JSON).

The service moves aliases and lists models itself, with tornado's
``AsyncHTTPClient`` against MLflow's REST API, so that it never blocks its
event loop. MLflow's address never leaves the service: errors name MLflow, not
its URL.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any
from urllib.parse import urlencode

from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from nbplatform.errors import (
    ConflictError,
    InvalidParameterError,
    NbplatformError,
    NotFoundError,
    PermissionDeniedError,
    UnavailableError,
)

_BY_CODE: dict[str, type[NbplatformError]] = {
    "RESOURCE_DOES_NOT_EXIST": NotFoundError,
    "RESOURCE_ALREADY_EXISTS": ConflictError,
    "INVALID_PARAMETER_VALUE": InvalidParameterError,
    "PERMISSION_DENIED": PermissionDeniedError,
}


class MlflowRest:
    """JSON calls to ``<url>/api/2.0/mlflow/<endpoint>``.

    Args:
        url: MLflow's base URL as ``client`` reaches it (``http://mlflow`` on its socket).
        timeout: Seconds per call.
        client: The HTTP client (:func:`.mlflow_transport.client`); tornado's default
            when omitted.
    """

    def __init__(
        self, url: str, timeout: float = 60, client: AsyncHTTPClient | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.client = client

    async def call(
        self, method: str, endpoint: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Call one endpoint; ``GET`` sends ``body`` as the query string.

        Args:
            method: ``GET``, ``POST``, ``PATCH`` or ``DELETE``.
            endpoint: Path below ``api/2.0/mlflow/``, e.g. ``registered-models/alias``
            (percent-encode its parameters).
            body: Parameters.

        Returns:
            MLflow's JSON answer.

        Raises:
            NbplatformError: MLflow's error, as the matching platform error.
            UnavailableError: MLflow does not answer.
        """
        url = f"{self.url}/api/2.0/mlflow/{endpoint}"
        kwargs: dict[str, Any] = {"method": method, "request_timeout": self.timeout}
        if method == "GET":
            if body:
                url += "?" + urlencode(body, doseq=True)
        else:
            kwargs["body"] = json.dumps(body or {})
            kwargs["headers"] = {"Content-Type": "application/json"}
            kwargs["allow_nonstandard_methods"] = True
        try:
            response = await (self.client or AsyncHTTPClient()).fetch(url, **kwargs)
        except HTTPClientError as e:
            raise _error(e) from None
        except OSError:
            raise UnavailableError(
                "The MLflow server is not answering yet; try again in a few seconds."
            ) from None
        return json.loads(response.body or b"{}")

    async def alias_version(self, model: str, alias: str) -> str | None:
        """Return the version an alias points to, or ``None`` when it is unset.

        Raises:
            NotFoundError: No such registered model.
        """
        answer = await self.call("GET", "registered-models/get", {"name": model})
        for item in answer["registered_model"].get("aliases", []):
            if item["alias"] == alias:
                return str(item["version"])
        return None

    async def set_alias(self, model: str, alias: str, version: str) -> None:
        """Point ``alias`` of ``model`` at ``version``."""
        await self.call(
            "POST", "registered-models/alias", {"name": model, "alias": alias, "version": version}
        )

    async def delete_alias(self, model: str, alias: str) -> None:
        """Remove ``alias`` from ``model`` (no error when it is unset)."""
        with contextlib.suppress(NotFoundError):
            await self.call("DELETE", "registered-models/alias", {"name": model, "alias": alias})

    async def get_version(self, model: str, version: str) -> dict[str, Any]:
        """Return a model version, or raise :class:`NotFoundError`."""
        answer = await self.call("GET", "model-versions/get", {"name": model, "version": version})
        return answer["model_version"]


def _error(e: HTTPClientError) -> NbplatformError:
    if e.code == 599 or e.response is None:
        return UnavailableError("The MLflow server is not answering; try again in a few seconds.")
    try:
        body = json.loads(e.response.body or b"{}")
    except ValueError:
        body = {}
    message = body.get("message") or f"MLflow answered {e.code}."
    code = body.get("error_code", "")
    cls = _BY_CODE.get(code) or {404: NotFoundError, 403: PermissionDeniedError}.get(
        e.code, NbplatformError
    )
    return cls(message)
