"""``GET api/me``: who is calling, their groups, platform roles and platform scopes."""

from __future__ import annotations

from ...roles import roles_for_groups
from ..base import JSONAPIHandler


class MeHandler(JSONAPIHandler):
    """Describe the caller."""

    async def get(self) -> None:
        """Return ``{"name", "kind", "admin", "groups", "roles", "scopes"}``.

        Groups come from the hub (looked up with the service's own token, because
        a server's token may not read its owner's groups); scopes are the platform
        scopes of the token that made this request.
        """
        kind = self.user.get("kind", "user")
        groups: list[str] = []
        admin = bool(self.user.get("admin", False))
        if kind == "user":
            model = await self.context.hub.get_user(self.user["name"])
            groups = sorted(model.get("groups", []))
            admin = bool(model.get("admin", admin))
        self.write_json(
            {
                "name": self.user["name"],
                "kind": kind,
                "admin": admin,
                "groups": groups,
                "roles": roles_for_groups(groups),
                "scopes": self.scopes,
            }
        )


routes = [(r"api/me", MeHandler)]
