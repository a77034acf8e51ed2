"""Who owns what in MLflow, and who else may change it.

In the spirit of MLflow's own auth plugin: experiments, runs, logged models and
registered models have an owner (whoever created them through the gateway), and
owners grant ``READ``, ``EDIT`` or ``MANAGE`` on their experiments and
registered models to users or groups. Everyone with ``models:read`` reads
everything; changing needs ``EDIT``, deleting and granting ``MANAGE``. A caller
holding ``models:approve`` (platform-admins) has ``MANAGE`` everywhere.

A run or logged model is its owner's to change; others need ``EDIT`` on its
experiment from the experiment's owner (the experiment's own grants, not the
team's default ``READ``). Experiments without a recorded owner (MLflow's
``Default`` experiment, experiments made before the platform recorded owners)
are shared: anyone with ``models:write`` may start runs in them, which stay their
starters' own; only admins change the experiment itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    MetaData,
    String,
    Table,
    and_,
    delete,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from nbplatform.errors import InvalidParameterError

READ, EDIT, MANAGE = 1, 2, 3
LEVELS = {"READ": READ, "EDIT": EDIT, "MANAGE": MANAGE}
NAMES = {value: name for name, value in LEVELS.items()}

EXPERIMENT = "experiment"
RUN = "run"
LOGGED_MODEL = "logged_model"
REGISTERED_MODEL = "registered_model"
#: Kinds whose owners may grant permissions on them.
GRANTABLE = (EXPERIMENT, REGISTERED_MODEL)

metadata = MetaData()

owners = Table(
    "mlflow_owners",
    metadata,
    Column("kind", String(32), primary_key=True),
    Column("key", String(512), primary_key=True),
    Column("owner", String(255), nullable=False),
    Column("experiment_id", String(64)),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

grants = Table(
    "mlflow_grants",
    metadata,
    Column("kind", String(32), primary_key=True),
    Column("key", String(512), primary_key=True),
    Column("principal_type", String(8), primary_key=True),
    Column("principal", String(255), primary_key=True),
    Column("permission", String(8), nullable=False),
    Column("granted_by", String(255), nullable=False),
    Column("granted_at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class Caller:
    """Who asks: a user name, their groups, and whether they are a platform-admin."""

    name: str
    groups: frozenset[str] = frozenset()
    admin: bool = False


@dataclass(frozen=True)
class Owner:
    """The recorded owner of one object (and, for runs and logged models, its experiment)."""

    kind: str
    key: str
    owner: str
    experiment_id: str | None


def record_owner(
    engine: Engine, kind: str, key: str, owner: str, experiment_id: str | None = None
) -> None:
    """Record ``owner`` as the owner of a new object (the first record stands)."""
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(owners).values(
                    kind=kind,
                    key=str(key),
                    owner=owner,
                    experiment_id=experiment_id,
                    created_at=datetime.now(UTC),
                )
            )
    except IntegrityError:
        pass


def owner_of(engine: Engine, kind: str, key: str) -> Owner | None:
    """Return the recorded owner of an object, or ``None``."""
    with engine.connect() as connection:
        row = connection.execute(
            select(owners).where(owners.c.kind == kind, owners.c.key == str(key))
        ).first()
    return Owner(row.kind, row.key, row.owner, row.experiment_id) if row else None


def forget(engine: Engine, kind: str, key: str) -> None:
    """Drop the owner and the grants of a deleted object."""
    with engine.begin() as connection:
        for table in (owners, grants):
            connection.execute(delete(table).where(table.c.kind == kind, table.c.key == key))


def rename(engine: Engine, kind: str, old: str, new: str) -> None:
    """Carry owner and grants over to a renamed object."""
    with engine.begin() as connection:
        for table in (owners, grants):
            connection.execute(
                update(table).where(table.c.kind == kind, table.c.key == old).values(key=new)
            )


def grants_of(engine: Engine, kind: str, key: str) -> list[dict[str, Any]]:
    """Return the grants on one object, users first."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(grants)
            .where(grants.c.kind == kind, grants.c.key == str(key))
            .order_by(grants.c.principal_type.desc(), grants.c.principal)
        ).all()
    return [
        {
            "principal_type": r.principal_type,
            "principal": r.principal,
            "permission": r.permission,
            "granted_by": r.granted_by,
            "granted_at": r.granted_at.isoformat(),
        }
        for r in rows
    ]


def grant(
    engine: Engine,
    kind: str,
    key: str,
    principal_type: str,
    principal: str,
    permission: str,
    granted_by: str,
) -> None:
    """Give ``principal`` (a user or a group) ``permission`` on an object, replacing any."""
    if kind not in GRANTABLE:
        raise InvalidParameterError(f"Permissions are granted on {' or '.join(GRANTABLE)}s.")
    if permission not in LEVELS:
        raise InvalidParameterError(f"permission must be one of {', '.join(LEVELS)}.")
    with engine.begin() as connection:
        connection.execute(
            delete(grants).where(
                grants.c.kind == kind,
                grants.c.key == str(key),
                grants.c.principal_type == principal_type,
                grants.c.principal == principal,
            )
        )
        connection.execute(
            insert(grants).values(
                kind=kind,
                key=str(key),
                principal_type=principal_type,
                principal=principal,
                permission=permission,
                granted_by=granted_by,
                granted_at=datetime.now(UTC),
            )
        )


def revoke(engine: Engine, kind: str, key: str, principal_type: str, principal: str) -> bool:
    """Take a grant back; return whether there was one."""
    with engine.begin() as connection:
        result = connection.execute(
            delete(grants).where(
                grants.c.kind == kind,
                grants.c.key == str(key),
                grants.c.principal_type == principal_type,
                grants.c.principal == principal,
            )
        )
    return bool(result.rowcount)


def _granted(engine: Engine, caller: Caller, kind: str, key: str) -> int:
    """The best permission ``caller`` holds on an object by ownership or grant (0: none)."""
    principals = [and_(grants.c.principal_type == "user", grants.c.principal == caller.name)]
    if caller.groups:
        principals.append(
            and_(grants.c.principal_type == "group", grants.c.principal.in_(caller.groups))
        )
    with engine.connect() as connection:
        row = connection.execute(
            select(owners.c.owner).where(owners.c.kind == kind, owners.c.key == str(key))
        ).first()
        if row and row.owner == caller.name:
            return MANAGE
        permissions = connection.execute(
            select(grants.c.permission).where(
                grants.c.kind == kind, grants.c.key == str(key), or_(*principals)
            )
        ).scalars()
        return max((LEVELS.get(p, 0) for p in permissions), default=0)


def level(
    engine: Engine,
    caller: Caller,
    kind: str,
    key: str,
    experiment_id: str | None = None,
) -> int:
    """Return the permission ``caller`` holds on one object.

    Args:
        engine: The platform database.
        caller: Who asks.
        kind: ``experiment``, ``run``, ``logged_model`` or ``registered_model``.
        key: The object's id (a registered model's name).
        experiment_id: For runs and logged models, their experiment.

    Returns:
        ``READ``, ``EDIT`` or ``MANAGE``.
    """
    if caller.admin:
        return MANAGE
    granted = _granted(engine, caller, kind, key)
    if kind in (RUN, LOGGED_MODEL) and granted < MANAGE and experiment_id is not None:
        granted = max(granted, _granted(engine, caller, EXPERIMENT, experiment_id))
    return max(granted, READ)


def is_shared_experiment(engine: Engine, experiment_id: str) -> bool:
    """Whether an experiment has no recorded owner (anyone who writes may start runs in it)."""
    return owner_of(engine, EXPERIMENT, experiment_id) is None


def who_may(engine: Engine, kind: str, key: str, at_least: int) -> dict[str, list[str]]:
    """Return the users and groups holding at least ``at_least`` on an object (admins aside).

    Returns:
        ``{"users": [...], "groups": [...]}``, the owner first.
    """
    found: dict[str, list[str]] = {"users": [], "groups": []}
    owner = owner_of(engine, kind, key)
    if owner:
        found["users"].append(owner.owner)
    for g in grants_of(engine, kind, key):
        if LEVELS[g["permission"]] >= at_least:
            bucket = found["users" if g["principal_type"] == "user" else "groups"]
            if g["principal"] not in bucket:
                bucket.append(g["principal"])
    return found


def caller_from(user: dict[str, Any], approve_scope: str, groups: Iterable[str] = ()) -> Caller:
    """Build a :class:`Caller` from a hub user model."""
    return Caller(
        name=user["name"],
        groups=frozenset(user.get("groups") or groups),
        admin=approve_scope in user.get("scopes", []),
    )
