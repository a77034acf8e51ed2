"""``GET api/me``: who is calling, their groups, platform roles and platform scopes."""

from __future__ import annotations

from collections.abc import Iterable

from ...roles import ALL_SCOPES, ROLE_SCOPES, SCOPE_PREFIX, roles_for_groups
from ..base import JSONAPIHandler


def capability(scope: str) -> str:
    """The name ``api/me`` gives a platform scope in ``can`` and ``granted_by``.

    ``custom:nbplatform:models:approve`` is ``models_approve``: clients (the
    JupyterLab extension) read what the caller may do from these keys, never
    from scope names of their own.
    """
    return scope.removeprefix(SCOPE_PREFIX).replace(":", "_")


def capabilities(scopes: Iterable[str]) -> dict[str, bool]:
    """Whether ``scopes`` hold each platform scope, by :func:`capability` name."""
    held = set(scopes)
    return {capability(scope): scope in held for scope in ALL_SCOPES}


def granted_by() -> dict[str, list[str]]:
    """The platform roles that grant each platform scope, by :func:`capability` name."""
    return {
        capability(scope): [role for role, scopes in ROLE_SCOPES.items() if scope in scopes]
        for scope in ALL_SCOPES
    }


def describe(
    name: str, kind: str, admin: bool, groups: Iterable[str], scopes: list[str]
) -> dict[str, object]:
    """The answer of ``api/me`` (the ``Me`` schema of ``openapi.yaml``)."""
    groups = sorted(groups)
    return {
        "name": name,
        "kind": kind,
        "admin": admin,
        "groups": groups,
        "roles": roles_for_groups(groups),
        "scopes": scopes,
        "can": capabilities(scopes),
        "granted_by": granted_by(),
    }


class MeHandler(JSONAPIHandler):
    """Describe the caller."""

    async def get(self) -> None:
        """Return ``{"name", "kind", "admin", "groups", "roles", "scopes", "can", "granted_by"}``.

        Groups come from the hub (looked up with the service's own token, because
        a server's token may not read its owner's groups); scopes are the platform
        scopes of the token that made this request, and ``can`` says the same per
        scope (see :func:`describe`).
        """
        kind = self.user.get("kind", "user")
        groups: list[str] = []
        admin = bool(self.user.get("admin", False))
        if kind == "user":
            model = await self.context.hub.get_user(self.user["name"])
            groups = model.get("groups", [])
            admin = bool(model.get("admin", admin))
        self.write_json(describe(self.user["name"], kind, admin, groups, self.scopes))


routes = [(r"api/me", MeHandler)]
