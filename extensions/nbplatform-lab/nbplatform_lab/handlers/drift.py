"""``/nbplatform/api/drift/…``: the Drift panel's calls.

Only what the panel shows or does is forwarded: the monitors (a page of them,
one with its history, its checks), one check, the caller's alerts, and the
actions of the panel on a monitor (acknowledge, mute, watch, retrain). Defining
monitors and recording checks go from the kernel (``nbp.drift``) to the
platform, never through this server. Every path segment, query argument and
body key is checked here first, so a malformed request is a 4xx before the
platform is called.

A check's Evidently report (``drift/checks/<id>/report``) is HTML, not JSON: it
is answered as the platform sent it, with the platform's
``Content-Security-Policy`` (a sandbox: the report's scripts run in an opaque
origin that cannot reach this server) in place of the Jupyter server's own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import tornado.web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from nbplatform.errors import InvalidParameterError, NotFoundError

from ..errors import UpstreamError
from ..platform_client import _error_from
from .base import PlatformAPIHandler
from .resource import (
    PAGING,
    ResourceHandler,
    checked_paging,
    checked_query,
    forwarded_path,
)

#: A monitor's name, as the platform's drift capability defines it.
MONITOR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,127}")
#: A check's id.
CHECK_ID = re.compile(r"[0-9]{1,18}")
#: The policy a report is served under when the platform sent none (the platform's
#: ``nbplatform_drift.report.REPORT_CSP``): scripts run, sandboxed in an opaque
#: origin, with nothing to load or send anywhere.
REPORT_CSP = (
    "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'unsafe-inline'; img-src data:; font-src data:; connect-src 'none'; "
    "form-action 'none'; frame-ancestors 'self'"
)
#: The largest report relayed (the platform's default NBP_DRIFT_MAX_REPORT_BYTES).
MAX_REPORT_BYTES = 64 << 20
#: Seconds to wait for a report (a large one takes longer than a JSON answer).
REPORT_TIMEOUT = 120.0

_PAGING = PAGING

#: The actions on a monitor -> the verbs each takes.
ACTIONS: dict[str, frozenset[str]] = {
    "acknowledge": frozenset({"POST"}),
    "mute": frozenset({"POST", "DELETE"}),
    "watch": frozenset({"POST", "DELETE"}),
    "retrain": frozenset({"POST"}),
}

#: ``(verb, action)`` -> the keys its body may have and their types.
BODIES: dict[tuple[str, str], dict[str, type]] = {
    ("POST", "acknowledge"): {"comment": str},
    ("POST", "mute"): {"minutes": int},
    ("POST", "retrain"): {"check_id": int},
}
#: The longest acknowledgement comment forwarded.
MAX_COMMENT = 4000
#: The longest mute, in minutes (a year).
MAX_MUTE_MINUTES = 525_600

_READS = (
    "drift/monitors, drift/monitors/<name>, drift/monitors/<name>/checks, drift/checks/<id>, "
    "drift/checks/<id>/report and drift/alerts; it acts with POST drift/monitors/<name>/"
    "{acknowledge,mute,watch,retrain} and DELETE drift/monitors/<name>/{mute,watch}"
)


def _not_read(path: str) -> NotFoundError:
    return NotFoundError(
        f"{path.removeprefix('api/')[:120]} is not a path the Drift panel uses; it reads "
        f"{_READS}. Use nbp.drift in a notebook for the rest.",
        "RESOURCE_DOES_NOT_EXIST",
    )


def _route(method: str, segments: list[str], path: str) -> tuple[frozenset[str], str | None]:
    """The query arguments a path takes and its action (``None`` for a read).

    Raises:
        NotFoundError: A path the panel does not use.
        InvalidParameterError: A monitor name or check id that is not one.
        tornado.web.HTTPError: 405 for a verb the path does not take.
    """
    kind, below = (segments[0], segments[1:]) if segments else ("", [])
    if kind == "monitors" and below and not MONITOR_NAME.fullmatch(below[0]):
        raise InvalidParameterError(
            f"name: {below[0][:80]!r} is not a drift monitor's name (a letter or _, then "
            "up to 127 letters, digits, _, . or -)."
        )
    if kind == "checks" and below and not CHECK_ID.fullmatch(below[0]):
        raise InvalidParameterError(f"id: {below[0][:80]!r} is not the id of a drift check.")
    reads = frozenset({"GET"})
    shape = (kind, len(below))
    if shape == ("monitors", 0):
        allowed, action, verbs = _PAGING | {"mine"}, None, reads
    elif shape in {("monitors", 1), ("checks", 1), ("alerts", 0)}:
        allowed, action, verbs = frozenset(), None, reads
    elif shape == ("monitors", 2) and below[1] == "checks":
        allowed, action, verbs = _PAGING, None, reads
    elif shape == ("monitors", 2) and below[1] in ACTIONS:
        allowed, action, verbs = frozenset(), below[1], ACTIONS[below[1]]
    else:
        raise _not_read(path)
    if method not in verbs:
        raise tornado.web.HTTPError(405)
    return allowed, action


def _checked_value(key: str, value: str) -> str:
    if key == "mine":
        if value not in ("0", "1", "true", "false"):
            raise InvalidParameterError(f"mine: {value[:20]!r} is not 1 or 0.")
        return "1" if value in ("1", "true") else "0"
    paging = checked_paging(key, value)
    if paging is None:
        raise InvalidParameterError(f"{key[:80]}: not a query argument here.")
    return paging


def drift_target(method: str, rest: str | None, arguments: Mapping[str, list[bytes]]) -> str:
    """The platform path and query for a Drift panel request, checked.

    Args:
        method: The HTTP verb.
        rest: The decoded path below ``drift`` (``/monitors/churn/mute``).
        arguments: The request's query arguments (tornado's ``query_arguments``).

    Returns:
        ``api/drift/<path>`` with its segments re-encoded, and the checked query
        re-encoded after ``?`` when there is one.

    Raises:
        NotFoundError: A path the panel does not use.
        InvalidParameterError: A hostile path segment, a malformed monitor name
            or check id, an unknown, repeated or malformed query argument.
        tornado.web.HTTPError: 405 for a verb the path does not take.
    """
    path = forwarded_path("drift", rest)
    allowed, _ = _route(method, path.split("/")[2:], path)
    return checked_query(path, path.removeprefix("api/"), allowed, arguments, _checked_value)


def drift_body(method: str, rest: str | None, body: dict[str, Any] | None) -> dict[str, Any] | None:
    """The body to forward for a Drift panel request, checked.

    Args:
        method: The HTTP verb.
        rest: The decoded path below ``drift``.
        body: The parsed JSON object of the request (see ``parse_body``), or ``None``.

    Returns:
        The body (only the keys the action takes), or ``None`` when there is none.

    Raises:
        InvalidParameterError: A key the action does not take, or a value of the
            wrong type or out of bounds.
    """
    path = forwarded_path("drift", rest)
    _, action = _route(method, path.split("/")[2:], path)
    keys = BODIES.get((method, action or ""), {})
    if not body:
        if (method, action) == ("POST", "mute"):
            raise InvalidParameterError(
                f"minutes: say how long to mute, 1 to {MAX_MUTE_MINUTES} minutes (a year)."
            )
        return None
    for key, value in body.items():
        kind = keys.get(key)
        what = f"{method} drift/monitors/<name>/{action}" if action else f"{method} {path[4:]}"
        if kind is None:
            takes = ", ".join(sorted(keys)) or "no body"
            raise InvalidParameterError(f"body: {key[:80]!r} is not a key of {what} ({takes}).")
        if value is None:
            continue
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise InvalidParameterError(f"body: {key} must be a whole number.")
        if kind is str and not isinstance(value, str):
            raise InvalidParameterError(f"body: {key} must be text.")
    if isinstance(body.get("comment"), str) and len(body["comment"]) > MAX_COMMENT:
        raise InvalidParameterError(f"comment: longer than {MAX_COMMENT} characters.")
    minutes = body.get("minutes")
    if action == "mute" and (minutes is None or not 1 <= minutes <= MAX_MUTE_MINUTES):
        raise InvalidParameterError(
            f"minutes: mute for 1 to {MAX_MUTE_MINUTES} minutes (a year), not {minutes}."
        )
    check_id = body.get("check_id")
    if check_id is not None and check_id < 0:
        raise InvalidParameterError("check_id: not the id of a drift check.")
    return dict(body)


class DriftHandler(ResourceHandler):
    """Monitors, checks and alerts (read); acknowledge, mute, watch, retrain."""

    resource = "drift"
    verbs = frozenset({"GET", "POST", "DELETE"})

    def _target(self, rest: str | None) -> str:
        self._rest = rest
        return drift_target(self.request.method or "GET", rest, self.request.query_arguments)

    def _body(self) -> Any:
        body = super()._body()
        method = self.request.method or "GET"
        if method == "GET":
            return body  # the base class refuses a GET with a body
        return drift_body(method, self._rest, body)


class DriftReportHandler(PlatformAPIHandler):
    """A check's Evidently report: the platform's HTML under the platform's sandbox policy."""

    @property
    def content_security_policy(self) -> str:
        """The report's policy, in place of the Jupyter server's (also on errors)."""
        return REPORT_CSP

    @tornado.web.authenticated
    async def get(self, check_id: str) -> None:
        """Relay ``GET api/drift/checks/<id>/report`` of the platform."""
        if not CHECK_ID.fullmatch(check_id):
            raise InvalidParameterError(f"id: {check_id[:80]!r} is not the id of a drift check.")
        path = f"api/drift/checks/{int(check_id)}/report"
        checked_query(
            path,
            path.removeprefix("api/"),
            frozenset(),
            self.request.query_arguments,
            _checked_value,
        )
        client = self.platform()
        if not client.platform_url or not client.token:
            await client.request("GET", path)  # raises the error that says what is missing
            return
        request = HTTPRequest(
            f"{client.platform_url}{path}",
            method="GET",
            headers={"Authorization": f"token {client.token}", "Accept": "text/html"},
            connect_timeout=client.timeout,
            request_timeout=max(client.timeout, REPORT_TIMEOUT),
            follow_redirects=False,
        )
        try:
            response = await AsyncHTTPClient(max_body_size=MAX_REPORT_BYTES + (1 << 20)).fetch(
                request, raise_error=False
            )
        except (OSError, HTTPClientError) as e:
            raise UpstreamError(
                f"The platform service at {client.platform_url} is not reachable: {e}. "
                "Try again in a minute."
            ) from e
        if response.code >= 400 or response.code == 599:
            raise _error_from(response, client.platform_url)
        if response.code != 200:
            raise UpstreamError(
                f"The platform service answered {response.code} for the report of check "
                f"{check_id}; ask a platform admin to check the platform service."
            )
        self.set_header(
            "Content-Security-Policy", response.headers.get("Content-Security-Policy", REPORT_CSP)
        )
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Cache-Control", "private, no-cache")
        self.finish(response.body or b"", set_content_type="text/html; charset=utf-8")


handlers: list[type[ResourceHandler]] = [DriftHandler]

#: The report's route below the extension's prefix (before the resource's own route).
REPORT_ROUTE = r"/drift/checks/(?P<check_id>[0-9]{1,18})/report"
