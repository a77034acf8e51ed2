"""The audit log: every write through the gateway and the platform API, allowed or refused.

A row says who (user name and kind, the token's id), when (UTC), what (action,
method, path, resource, the scope it needed), from where (``origin``: the
server, job and run the client says it runs in, its address and user agent),
and the result (``allowed`` or ``refused``, with the HTTP status).
"""

from __future__ import annotations

from collections.abc import Mapping
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
)

#: Request headers a platform client sends to say where it runs (informational:
#: set by the library in kernels and jobs; the identity itself comes from the token).
ORIGIN_HEADERS = {
    "X-Nbp-Server": "server",
    "X-Nbp-Job-Id": "job_id",
    "X-Nbp-Run-Id": "run_id",
    "X-Nbp-Notebook": "notebook",
}

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


def origin_from(headers: Mapping[str, str], remote_ip: str | None) -> dict[str, Any]:
    """Collect where a request comes from: the ``X-Nbp-*`` headers, address, user agent.

    Args:
        headers: The request headers.
        remote_ip: The client's address as the service sees it.

    Returns:
        A small JSON-able dictionary.
    """
    origin: dict[str, Any] = {
        key: headers[name][:512] for name, key in ORIGIN_HEADERS.items() if headers.get(name)
    }
    if remote_ip:
        origin["ip"] = remote_ip
    if headers.get("User-Agent"):
        origin["user_agent"] = headers["User-Agent"][:256]
    return origin


def record(engine: Engine, entry: AuditEntry) -> None:
    """Append one entry to the audit log.

    Args:
        engine: The platform database.
        entry: What happened.
    """
    with engine.begin() as conn:
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
                origin=dict(entry.origin or {}),
                detail=entry.detail,
            )
        )


def _as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def search(
    engine: Engine,
    *,
    user: str | None = None,
    action: str | None = None,
    result: str | None = None,
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
        result: ``allowed`` or ``refused``.
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
    if result is not None and result not in {"allowed", "refused"}:
        raise InvalidParameterError("result must be 'allowed' or 'refused'.")
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(max_results + 1)
    if page_token:
        try:
            query = query.where(audit_log.c.id < int(page_token))
        except ValueError:
            raise InvalidParameterError(
                "page_token is not one this API returned: pass next_page_token as given."
            ) from None
    if user:
        query = query.where(audit_log.c.user == user)
    if action:
        query = query.where(audit_log.c.action.startswith(action, autoescape=True))
    if result:
        query = query.where(audit_log.c.result == result)
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
