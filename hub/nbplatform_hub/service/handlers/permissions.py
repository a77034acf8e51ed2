"""``api/permissions/<experiments|registered-models>/<id or name>``: owners and grants.

``GET`` says who owns an experiment or registered model, what was granted to
whom, who may edit it and what the caller may do. ``POST`` grants ``READ``,
``EDIT`` or ``MANAGE`` to a user or a group; ``DELETE`` takes a grant back. Both
need ``MANAGE`` (the owner, a grantee with ``MANAGE``, a platform-admin) and are
audited.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nbplatform.errors import NotFoundError, PermissionDeniedError

from .. import mlflow_ownership
from ..audited import AuditedAPIHandler
from ..mlflow_ownership import EDIT, EXPERIMENT, MANAGE, NAMES, REGISTERED_MODEL
from ..mlflow_rules import APPROVE, READ, WRITE

_KINDS = {"experiments": EXPERIMENT, "registered-models": REGISTERED_MODEL}
_NAME = r"^[^/\x00-\x1f]{1,255}$"


class Principal(BaseModel):
    """A user or a group (exactly one)."""

    model_config = ConfigDict(extra="forbid")

    user: str | None = Field(default=None, pattern=_NAME)
    group: str | None = Field(default=None, pattern=_NAME)

    @model_validator(mode="after")
    def _one(self) -> Principal:
        if (self.user is None) == (self.group is None):
            raise ValueError("name exactly one of user or group")
        return self

    @property
    def type_and_name(self) -> tuple[str, str]:
        """``("user", name)`` or ``("group", name)``."""
        return ("user", self.user) if self.user is not None else ("group", str(self.group))


class Grant(Principal):
    """Body of ``POST``: whom to grant what."""

    permission: Literal["READ", "EDIT", "MANAGE"]


def describe(handler: AuditedAPIHandler, kind: str, key: str) -> dict[str, Any]:
    """Owner, grants, who may edit and manage an object, and what the caller may do.

    Args:
        handler: The request (its caller's name, groups and scopes).
        kind: ``experiment`` or ``registered_model``.
        key: The experiment's id or the model's name.

    Returns:
        ``{"kind", "key", "owner", "grants", "may_edit", "may_manage", "my_permission"}``;
        ``my_permission`` is ``READ`` for a caller without ``models:write``.
    """
    engine = handler.context.engine
    owner = mlflow_ownership.owner_of(engine, kind, key)
    caller = mlflow_ownership.caller_from(handler.user, APPROVE)
    mine = mlflow_ownership.level(engine, caller, kind, key)
    if WRITE not in handler.user.get("scopes", []) and not caller.admin:
        mine = mlflow_ownership.READ
    return {
        "kind": kind,
        "key": key,
        "owner": owner.owner if owner else None,
        "grants": mlflow_ownership.grants_of(engine, kind, key),
        "may_edit": mlflow_ownership.who_may(engine, kind, key, EDIT),
        "may_manage": mlflow_ownership.who_may(engine, kind, key, MANAGE),
        "my_permission": NAMES[mine],
    }


class PermissionsHandler(AuditedAPIHandler):
    """Owner and grants of one experiment or registered model."""

    def _target(self, kind: str, key: str) -> tuple[str, str]:
        self.audit_resource = f"{kind}/{key}"[:1024]
        if _KINDS[kind] == REGISTERED_MODEL:
            self.audit_model = key
        return _KINDS[kind], key

    async def _exists(self, kind: str, key: str) -> None:
        mlflow = self.context.mlflow
        try:
            if kind == EXPERIMENT:
                await mlflow.call("GET", "experiments/get", {"experiment_id": key})
            else:
                await mlflow.call("GET", "registered-models/get", {"name": key})
        except NotFoundError:
            raise NotFoundError(f"No {kind.replace('_', ' ')} {key!r} exists.") from None

    def _require_manage(self, kind: str, key: str) -> None:
        self.require_scope(WRITE)
        caller = mlflow_ownership.caller_from(self.user, APPROVE)
        if mlflow_ownership.level(self.context.engine, caller, kind, key) < MANAGE:
            owner = mlflow_ownership.owner_of(self.context.engine, kind, key)
            raise PermissionDeniedError(
                f"{caller.name} may not change who may use {kind.replace('_', ' ')} {key!r}: "
                f"that needs MANAGE ({'owned by ' + owner.owner if owner else 'no owner'}; "
                "platform-admins may too)."
            )

    async def get(self, kind: str, key: str) -> None:
        """Return owner, grants, who may edit and manage, and the caller's permission."""
        self.require_scope(READ)
        kind, key = self._target(kind, key)
        await self._exists(kind, key)
        self.write_json(describe(self, kind, key))

    async def post(self, kind: str, key: str) -> None:
        """Grant a permission to a user or a group (needs ``MANAGE``)."""
        kind, key = self._target(kind, key)
        self.audit_action = "permissions:grant"
        body = self.json_body(Grant)
        self._require_manage(kind, key)
        await self._exists(kind, key)
        principal_type, principal = body.type_and_name
        self.audit_resource = f"{self.audit_resource} {principal_type}:{principal}"[:1024]
        mlflow_ownership.grant(
            self.context.engine,
            kind,
            key,
            principal_type,
            principal,
            body.permission,
            self.user["name"],
        )
        self.write_json(describe(self, kind, key))

    async def delete(self, kind: str, key: str) -> None:
        """Take back the grant of a user or a group (needs ``MANAGE``)."""
        kind, key = self._target(kind, key)
        self.audit_action = "permissions:revoke"
        body = self.json_body(Principal)
        self._require_manage(kind, key)
        principal_type, principal = body.type_and_name
        self.audit_resource = f"{self.audit_resource} {principal_type}:{principal}"[:1024]
        if not mlflow_ownership.revoke(self.context.engine, kind, key, principal_type, principal):
            raise NotFoundError(f"{principal_type} {principal} holds no grant on {key!r}.")
        self.write_json(describe(self, kind, key))


routes = [
    (r"api/permissions/(?P<kind>experiments|registered-models)/(?P<key>[^/]+)", PermissionsHandler),
]
