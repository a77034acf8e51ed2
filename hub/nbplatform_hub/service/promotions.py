"""Promotion requests: a data scientist asks, a platform admin approves or rejects.

Approval moves the alias in MLflow and keeps its former holder as
``previous-<alias>``; :func:`rollback` swaps them back. Moves of one
``model@alias`` are serialised by a row in ``alias_locks`` (a primary-key insert,
so it works the same on SQLite and PostgreSQL, across processes), and each
request remembers the version the alias pointed to when it was made
(``base_version``): two requests made against the same state conflict, so of two
approvals, concurrent or not, the first wins and the second gets 409.

Four eyes: unless ``NBP_PROMOTION_SELF_APPROVAL=1``, nobody (platform-admins
included) approves a request they made; :func:`decision_rights` tells a caller
what they may do with a request and who else may.

Each request names the review the platform started for it (a notebook run as a
job of the requester's, :mod:`.promotion_review`): ``review`` is
``{"job_id", "run_id", "error"}``, or ``None`` for a request made before reviews.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from nbplatform.errors import (
    ConflictError,
    InvalidParameterError,
    NotFoundError,
    PermissionDeniedError,
)

from .audit import MAX_ID, metadata, page_number
from .mlflow_rest import MlflowRest

STATES = ("pending", "approving", "approved", "rejected")
LOCK_TTL = timedelta(minutes=5)

promotions = Table(
    "promotions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model", String(512), nullable=False),
    Column("version", String(32), nullable=False),
    Column("alias", String(255), nullable=False),
    Column("base_version", String(32)),
    Column("state", String(16), nullable=False),
    Column("note", Text),
    Column("requested_by", String(255), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("decided_by", String(255)),
    Column("decided_at", DateTime(timezone=True)),
    Column("comment", Text),
    Column("review_job_id", String(64)),
    Column("review_run_id", String(64)),
    Column("review_error", Text),
)

alias_locks = Table(
    "alias_locks",
    metadata,
    Column("model", String(512), primary_key=True),
    Column("alias", String(255), primary_key=True),
    Column("holder", String(255), nullable=False),
    Column("taken_at", DateTime(timezone=True), nullable=False),
)


def previous_alias(alias: str) -> str:
    """Return the alias that keeps the former holder of ``alias``."""
    return f"previous-{alias}"


def _as_json(row: Any) -> dict[str, Any]:
    data = dict(row._mapping)
    for key in ("requested_at", "decided_at"):
        if data[key] is not None:
            value = data[key]
            data[key] = (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    review = {key: data.pop(f"review_{key}", None) for key in ("job_id", "run_id", "error")}
    data["review"] = review if any(v is not None for v in review.values()) else None
    return data


def set_review(
    engine: Engine,
    promotion_id: int,
    *,
    job_id: str | None,
    run_id: str | None,
    error: str | None,
) -> dict[str, Any]:
    """Record the review started for a request (or why none was); return the request."""
    with engine.begin() as conn:
        conn.execute(
            update(promotions)
            .where(promotions.c.id == promotion_id)
            .values(review_job_id=job_id, review_run_id=run_id, review_error=error)
        )
    return get(engine, promotion_id)


def get(engine: Engine, promotion_id: int) -> dict[str, Any]:
    """Return one promotion request.

    Raises:
        NotFoundError: No such request.
    """
    if not 0 < promotion_id <= MAX_ID:
        raise NotFoundError(
            f"No promotion request {promotion_id}: list them with GET api/promotions."
        )
    with engine.connect() as conn:
        row = conn.execute(select(promotions).where(promotions.c.id == promotion_id)).first()
    if row is None:
        raise NotFoundError(
            f"No promotion request {promotion_id}: list them with GET api/promotions."
        )
    return _as_json(row)


def search(
    engine: Engine,
    *,
    state: str | None = None,
    model: str | None = None,
    max_results: int = 100,
    page_token: str | None = None,
) -> dict[str, Any]:
    """Return promotion requests, newest first.

    Args:
        engine: The platform database.
        state: Only requests in this state.
        model: Only requests for this model.
        max_results: Page size, 1 to 1000.
        page_token: ``next_page_token`` of the previous page.

    Returns:
        ``{"promotions": [...], "next_page_token": str | None}``.

    Raises:
        InvalidParameterError: A bad state, page size or token.
    """
    if state is not None and state not in STATES:
        raise InvalidParameterError(f"state must be one of {', '.join(STATES)}.")
    if not 1 <= max_results <= 1000:
        raise InvalidParameterError("max_results must be between 1 and 1000.")
    query = select(promotions).order_by(promotions.c.id.desc()).limit(max_results + 1)
    if state:
        query = query.where(promotions.c.state == state)
    if model:
        query = query.where(promotions.c.model == model)
    if page_token:
        query = query.where(promotions.c.id < page_number(page_token))
    with engine.connect() as conn:
        rows = [_as_json(r) for r in conn.execute(query)]
    token = str(rows[max_results - 1]["id"]) if len(rows) > max_results else None
    return {"promotions": rows[:max_results], "next_page_token": token}


async def request(
    engine: Engine,
    mlflow: MlflowRest,
    *,
    model: str,
    version: str,
    alias: str,
    note: str | None,
    user: str,
) -> dict[str, Any]:
    """Record a request to point ``model@alias`` at ``version``.

    Raises:
        NotFoundError: The model version does not exist.
        InvalidParameterError: The alias is a ``previous-`` one.
    """
    if alias.startswith("previous-"):
        raise InvalidParameterError(
            f"'{alias}' is kept by the platform; request the alias itself, e.g. "
            f"'{alias.removeprefix('previous-')}'."
        )
    await mlflow.get_version(model, version)
    base = await mlflow.alias_version(model, alias)
    with engine.begin() as conn:
        new_id = conn.execute(
            insert(promotions).values(
                model=model,
                version=version,
                alias=alias,
                base_version=base,
                state="pending",
                note=note,
                requested_by=user,
                requested_at=datetime.now(UTC),
            )
        ).inserted_primary_key[0]
    return get(engine, new_id)


def _lock(engine: Engine, model: str, alias: str, holder: str) -> None:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            delete(alias_locks).where(
                alias_locks.c.model == model,
                alias_locks.c.alias == alias,
                alias_locks.c.taken_at < now - LOCK_TTL,
            )
        )
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(alias_locks).values(model=model, alias=alias, holder=holder, taken_at=now)
            )
    except IntegrityError:
        raise ConflictError(
            f"Another change of {model}@{alias} is in progress; try again when it is done."
        ) from None


def _unlock(engine: Engine, model: str, alias: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            delete(alias_locks).where(alias_locks.c.model == model, alias_locks.c.alias == alias)
        )


def _set_state(engine: Engine, promotion_id: int, expected: str, **values: Any) -> bool:
    with engine.begin() as conn:
        result = conn.execute(
            update(promotions)
            .where(promotions.c.id == promotion_id, promotions.c.state == expected)
            .values(**values)
        )
    return result.rowcount == 1


async def move_alias(mlflow: MlflowRest, model: str, alias: str, version: str) -> str | None:
    """Point ``alias`` at ``version``, keeping the former holder as ``previous-<alias>``.

    Returns:
        The former holder, if any.
    """
    former = await mlflow.alias_version(model, alias)
    if former is not None and former != version:
        await mlflow.set_alias(model, previous_alias(alias), former)
    await mlflow.set_alias(model, alias, version)
    return former


def decision_rights(
    promotion: dict[str, Any], user: str, can_approve: bool, self_approval: bool
) -> dict[str, Any]:
    """What ``user`` may do with ``promotion``, and who decides it.

    Args:
        promotion: A request as :func:`get` returns it.
        user: The caller.
        can_approve: Whether the caller holds ``models:approve``.
        self_approval: ``NBP_PROMOTION_SELF_APPROVAL``.

    Returns:
        ``{"may_approve", "may_reject", "reason", "deciders"}``: ``reason`` says
        why the caller may not approve (``None`` when they may), ``deciders``
        who may decide, in words (``platform admins other than alice``).
    """
    requester = promotion["requested_by"]
    deciders = "platform admins" if self_approval else f"platform admins other than {requester}"
    pending = promotion["state"] == "pending"
    reason = None
    if not pending:
        reason = f"The request is {promotion['state']}."
    elif not can_approve:
        reason = f"Only {deciders} decide promotions."
    elif requester == user and not self_approval:
        reason = (
            "You asked for this promotion: another platform admin approves it "
            "(four eyes; NBP_PROMOTION_SELF_APPROVAL=1 turns this off for one-person teams)."
        )
    return {
        "may_approve": reason is None,
        # rejecting one's own request withdraws it
        "may_reject": pending and can_approve,
        "reason": reason,
        "deciders": deciders,
    }


async def decide(
    engine: Engine,
    mlflow: MlflowRest,
    promotion_id: int,
    *,
    approve: bool,
    comment: str | None,
    user: str,
    self_approval: bool = False,
) -> dict[str, Any]:
    """Approve (move the alias) or reject a pending request.

    Args:
        engine: The platform database.
        mlflow: The MLflow server.
        promotion_id: The request.
        approve: Approve (else reject).
        comment: Kept with the decision.
        user: The deciding platform admin.
        self_approval: Whether a requester may approve their own request.

    Raises:
        NotFoundError: No such request.
        PermissionDeniedError: ``user`` asked for it and self-approval is off.
        ConflictError: It is decided already, another change of the alias is in
            progress, or the alias moved since the request was made.
    """
    promotion = get(engine, promotion_id)
    if approve and not self_approval and promotion["requested_by"] == user:
        raise PermissionDeniedError(
            f"{user} asked for promotion request {promotion_id} and may not approve it: "
            "another platform admin must (four eyes). Set NBP_PROMOTION_SELF_APPROVAL=1 "
            "where one person runs the platform alone."
        )
    now = datetime.now(UTC)
    if not approve:
        if not _set_state(
            engine,
            promotion_id,
            "pending",
            state="rejected",
            decided_by=user,
            decided_at=now,
            comment=comment,
        ):
            raise ConflictError(
                f"Promotion request {promotion_id} is {get(engine, promotion_id)['state']} already."
            )
        return get(engine, promotion_id)
    if not _set_state(engine, promotion_id, "pending", state="approving", decided_by=user):
        raise ConflictError(
            f"Promotion request {promotion_id} is {get(engine, promotion_id)['state']} already."
        )
    model, alias, version = promotion["model"], promotion["alias"], promotion["version"]
    try:
        _lock(engine, model, alias, f"promotion-{promotion_id}")
    except ConflictError:
        _set_state(engine, promotion_id, "approving", state="pending", decided_by=None)
        raise
    try:
        current = await mlflow.alias_version(model, alias)
        if current != promotion["base_version"]:
            _set_state(engine, promotion_id, "approving", state="pending", decided_by=None)
            raise ConflictError(
                f"{model}@{alias} moved since request {promotion_id} was made (it was "
                f"{promotion['base_version'] or 'unset'}, it is {current or 'unset'}): "
                "reject it, or ask for a new request."
            )
        await move_alias(mlflow, model, alias, version)
        _set_state(
            engine,
            promotion_id,
            "approving",
            state="approved",
            decided_at=datetime.now(UTC),
            comment=comment,
        )
    except BaseException:
        _set_state(engine, promotion_id, "approving", state="pending", decided_by=None)
        raise
    finally:
        _unlock(engine, model, alias)
    return get(engine, promotion_id)


async def rollback(
    engine: Engine, mlflow: MlflowRest, model: str, alias: str, user: str
) -> dict[str, Any]:
    """Point ``alias`` back at ``previous-<alias>`` and keep the current holder there.

    Returns:
        ``{"model", "alias", "version", "previous_version"}`` after the swap.

    Raises:
        ConflictError: No ``previous-<alias>`` to go back to, or a change in progress.
    """
    _lock(engine, model, alias, f"rollback-{user}")
    try:
        previous = await mlflow.alias_version(model, previous_alias(alias))
        if previous is None:
            raise ConflictError(
                f"{model} has no '{previous_alias(alias)}' alias: there is nothing to roll back to."
            )
        current = await mlflow.alias_version(model, alias)
        await mlflow.set_alias(model, alias, previous)
        if current is not None and current != previous:
            await mlflow.set_alias(model, previous_alias(alias), current)
        else:
            await mlflow.delete_alias(model, previous_alias(alias))
    finally:
        _unlock(engine, model, alias)
    return {"model": model, "alias": alias, "version": previous, "previous_version": current}
