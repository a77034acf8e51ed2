"""The audit log: every write through the gateway and the platform API, allowed or refused.

A row says who (user name and kind, the token's id), when (UTC), what (action,
method, path, resource, the scope it needed), from where (``origin``: the
client's address as the proxy saw it, its user agent, the job and run its token
was minted for, and under ``claimed`` the server and notebook the client says it
runs in), and the result with the HTTP status (:func:`result_of`: ``allowed``,
``refused``, ``conflict`` for a lost race or a stale request, ``failed`` for any
other error). Entries about a registered model also name the model, version
and alias they touched (``model``, ``version``, ``alias``), so the log of one
model is one filter.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
)
from sqlalchemy.engine import Connection
from tornado.log import app_log

from nbplatform.errors import InvalidParameterError

metadata = MetaData()

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", DateTime(timezone=True), nullable=False),
    Column("user", String(255), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("action", String(255), nullable=False),
    Column("method", String(16), nullable=False),
    Column("path", String(2048), nullable=False),
    Column("resource", String(1024)),
    Column("scope", String(128)),
    Column("result", String(16), nullable=False),
    Column("status", Integer, nullable=False),
    Column("token_id", String(64)),
    Column("origin", JSON, nullable=False),
    Column("detail", Text),
    Column("model", String(512)),
    Column("version", String(32)),
    Column("alias", String(255)),
)

#: What an entry's ``result`` may be.
RESULTS = ("allowed", "refused", "conflict", "failed")

#: Request headers a platform client sends to say where it runs. They are claims,
#: kept under ``origin["claimed"]``; the job and run of an entry come from the
#: token (:func:`register_token_origin`), never from a header.
CLAIMED_HEADERS = {
    "X-Nbp-Server": "server",
    "X-Nbp-Notebook": "notebook",
}

#: Functions ``(connection, token_id) -> dict`` that say what a token belongs to
#: (e.g. the jobs API: the job and run a run's token was minted for).
_TOKEN_ORIGINS: list[Callable[[Connection, str], Mapping[str, Any]]] = []

MAX_RESULTS = 1000


@dataclass(frozen=True)
class AuditEntry:
    """One audited action (see the module docstring for the fields)."""

    user: str
    kind: str
    action: str
    method: str
    path: str
    result: str
    status: int
    resource: str | None = None
    scope: str | None = None
    token_id: str | None = None
    origin: Mapping[str, Any] | None = None
    detail: str | None = None
    model: str | None = None
    version: str | None = None
    alias: str | None = None


def result_of(status: int, refused: bool = False) -> str:
    """The ``result`` of an entry for a response with ``status``.

    Args:
        status: The HTTP status of the answer.
        refused: The platform refused before the status said so (a body refused
            unread, a scope or permission the caller lacks).

    Returns:
        ``refused`` (401, 403, or ``refused``), ``conflict`` (409: a lost race,
        a request made against a state that has changed), ``failed`` (any other
        error) or ``allowed``.
    """
    if refused or status in (401, 403):
        return "refused"
    if status == 409:
        return "conflict"
    return "failed" if status >= 400 else "allowed"


def register_token_origin(resolve: Callable[[Connection, str], Mapping[str, Any]]) -> None:
    """Add a function that tells, from a token's id, where the token belongs.

    Args:
        resolve: ``(connection, token_id) -> {"job_id": ..., "run_id": ...}`` (or ``{}``);
            called for every entry that has a token id.
    """
    if resolve not in _TOKEN_ORIGINS:
        _TOKEN_ORIGINS.append(resolve)


def _address(value: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address((value or "").strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def client_ip(headers: Mapping[str, str], remote_ip: str | None) -> str | None:
    """The address a request came from, as far as this service can know it.

    The service sits behind configurable-http-proxy on the same machine, which
    appends the address of its own peer to ``X-Forwarded-For``. So: when the
    socket peer is a loopback address (the proxy), the *last* entry of
    ``X-Forwarded-For`` (the one the proxy added; earlier ones are whatever the
    client sent); otherwise, and when that entry is not an address, the socket
    peer. ``X-Real-Ip`` and the other entries are never used.

    Args:
        headers: The request headers.
        remote_ip: The socket peer's address (tornado without ``xheaders``).

    Returns:
        The address, or ``None`` when there is none.
    """
    peer = _address(remote_ip)
    if peer is not None and peer.is_loopback:
        forwarded = headers.get("X-Forwarded-For") or ""
        last = _address(forwarded.rsplit(",", 1)[-1]) if forwarded.strip() else None
        if last is not None:
            return str(last)
    return str(peer) if peer is not None else None


def origin_from(headers: Mapping[str, str], remote_ip: str | None) -> dict[str, Any]:
    """Collect where a request comes from: address, user agent, what the client claims.

    The address is :func:`client_ip` (never a header the client set alone); the
    ``X-Nbp-Server`` and ``X-Nbp-Notebook`` headers are kept under ``claimed``,
    as what they are. Job and run ids are not taken from the request at all:
    :func:`record` adds them from the token.

    Args:
        headers: The request headers.
        remote_ip: The socket peer's address.

    Returns:
        A small JSON-able dictionary.
    """
    origin: dict[str, Any] = {}
    ip = client_ip(headers, remote_ip)
    if ip:
        origin["ip"] = ip
    if headers.get("User-Agent"):
        origin["user_agent"] = headers["User-Agent"][:256]
    claimed = {
        key: headers[name][:512] for name, key in CLAIMED_HEADERS.items() if headers.get(name)
    }
    if claimed:
        origin["claimed"] = claimed
    return origin


def token_origin(engine: Engine, token_id: str | None) -> dict[str, Any]:
    """What the registered resolvers say ``token_id`` belongs to (``{"job_id", "run_id"}``).

    Args:
        engine: The platform database.
        token_id: The caller's token id (``user["token_id"]``), or ``None``.

    Returns:
        The merged answers, ``{}`` for a token no capability minted.
    """
    if not token_id:
        return {}
    with engine.begin() as conn:
        return _token_origin(conn, token_id)


def _token_origin(conn: Connection, token_id: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for resolve in _TOKEN_ORIGINS:
        try:
            with conn.begin_nested():
                found.update(resolve(conn, token_id))
        except Exception:
            app_log.exception("could not tell what token %s belongs to", token_id)
    return found


def request_entry(request: Any, user: Mapping[str, Any], status: int, **fields: Any) -> AuditEntry:
    """The entry of a request ``user`` made: who, method, path, status, token and origin.

    Args:
        request: The tornado request.
        user: The authenticated caller (``name``, ``kind``, ``token_id``).
        status: The response's status.
        **fields: ``action``, ``result`` and any other :class:`AuditEntry` field.
    """
    return AuditEntry(
        user=user["name"],
        kind=user.get("kind", "user"),
        method=request.method or "",
        path=request.path[:2048],
        status=status,
        token_id=user.get("token_id"),
        origin=origin_from(request.headers, request.remote_ip),
        **fields,
    )


def record(engine: Engine, entry: AuditEntry) -> None:
    """Append one entry to the audit log.

    The entry's ``origin`` is stored without any ``job_id`` or ``run_id`` it
    carries; those come from the token (see :func:`register_token_origin`).

    Args:
        engine: The platform database.
        entry: What happened.
    """
    origin = {k: v for k, v in dict(entry.origin or {}).items() if k not in ("job_id", "run_id")}
    with engine.begin() as conn:
        if entry.token_id:
            origin.update(_token_origin(conn, entry.token_id))
        conn.execute(
            insert(audit_log).values(
                ts=datetime.now(UTC),
                user=entry.user,
                kind=entry.kind,
                action=entry.action[:255],
                method=entry.method,
                path=entry.path[:2048],
                resource=entry.resource[:1024] if entry.resource else None,
                scope=entry.scope,
                result=entry.result,
                status=entry.status,
                token_id=entry.token_id,
                origin=origin,
                detail=entry.detail[:4000] if entry.detail else None,
                model=entry.model[:512] if entry.model else None,
                version=entry.version[:32] if entry.version else None,
                alias=entry.alias[:255] if entry.alias else None,
            )
        )


#: The largest row id a page token may name (SQLite's and PostgreSQL's bigint).
MAX_ID = 2**63 - 1


def page_number(token: str) -> int:
    """The row id in a page token this API gave out.

    Raises:
        InvalidParameterError: Not such a token (not a small whole number).
    """
    if not (token.isascii() and token.isdigit() and len(token) <= 19 and int(token) <= MAX_ID):
        raise InvalidParameterError(
            "page_token is not one this API returned: pass next_page_token as given."
        )
    return int(token)


def _as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def search(
    engine: Engine,
    *,
    user: str | None = None,
    action: str | None = None,
    result: str | None = None,
    model: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    max_results: int = 100,
    page_token: str | None = None,
) -> dict[str, Any]:
    """Return audit entries, newest first, filtered and paginated.

    Args:
        engine: The platform database.
        user: Only this user's entries.
        action: Only actions starting with this text (``registered-models/alias``).
        result: One of :data:`RESULTS`.
        model: Only entries about this registered model.
        since: Only entries at or after this time.
        until: Only entries before this time.
        max_results: Page size, 1 to 1000.
        page_token: ``next_page_token`` of the previous page.

    Returns:
        ``{"entries": [...], "next_page_token": str | None}``.

    Raises:
        InvalidParameterError: A bad page size, token or result.
    """
    if not 1 <= max_results <= MAX_RESULTS:
        raise InvalidParameterError(f"max_results must be between 1 and {MAX_RESULTS}.")
    if result is not None and result not in RESULTS:
        raise InvalidParameterError(f"result must be one of {', '.join(RESULTS)}.")
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(max_results + 1)
    if page_token:
        query = query.where(audit_log.c.id < page_number(page_token))
    if user:
        query = query.where(audit_log.c.user == user)
    if action:
        query = query.where(audit_log.c.action.startswith(action, autoescape=True))
    if result:
        query = query.where(audit_log.c.result == result)
    if model:
        query = query.where(audit_log.c.model == model)
    if since:
        query = query.where(audit_log.c.ts >= _as_utc(since))
    if until:
        query = query.where(audit_log.c.ts < _as_utc(until))
    with engine.connect() as conn:
        rows = [dict(row._mapping) for row in conn.execute(query)]
    next_token = str(rows[max_results - 1]["id"]) if len(rows) > max_results else None
    entries = []
    for row in rows[:max_results]:
        row["ts"] = _as_utc(row["ts"]).isoformat()
        entries.append(row)
    return {"entries": entries, "next_page_token": next_token}
