"""Login for the embedded platform: NativeAuthenticator with first admins and default groups.

People sign up at ``/hub/signup``; an admin authorizes them at ``/hub/authorize``.
The first admins (``NBP_ADMIN_USERS``) are created on first start with the
password from ``NBP_ADMIN_PASSWORD`` or a generated one. Every user who belongs
to none of the platform's groups is put in :attr:`default_group` when the hub
first sees them, so a new user is a data-scientist unless configured otherwise;
admins go to ``platform-admin``.
"""

from __future__ import annotations

from typing import Any

import bcrypt
from jupyterhub import orm
from nativeauthenticator import NativeAuthenticator
from nativeauthenticator.handlers import LoginHandler as NativeLoginHandler
from nativeauthenticator.orm import UserInfo
from tornado.escape import url_escape
from tornado.httputil import url_concat
from traitlets import List, Unicode

from .roles import ROLE_NAMES


def _orm_user(user: Any) -> orm.User:
    """Return the ORM user behind a hub ``User`` wrapper (or the ORM user itself)."""
    return getattr(user, "orm_user", user)


def assign_default_group(db: Any, user: Any, default_group: str, admin_group: str) -> str | None:
    """Put ``user`` in a platform group if they are in none yet.

    Args:
        db: The hub's SQLAlchemy session.
        user: A hub ``User`` or ``orm.User``.
        default_group: Group for ordinary users.
        admin_group: Group for hub admins.

    Returns:
        The group the user was added to, or ``None`` when they already had one.
    """
    orm_user = _orm_user(user)
    if any(group.name in ROLE_NAMES for group in orm_user.groups):
        return None
    name = admin_group if orm_user.admin else default_group
    group = orm.Group.find(db, name)
    if group is None:
        group = orm.Group(name=name)
        db.add(group)
    orm_user.groups.append(group)
    db.commit()
    return name


class PlatformLoginHandler(NativeLoginHandler):
    """NativeAuthenticator's login page, fixed for JupyterHub 6.

    NativeAuthenticator 1.3.0 (the newest release) times logins with
    ``self.statsd``, which JupyterHub 6 removed, and renders with a signature that
    JupyterHub 6's error path no longer matches; every login then fails with a 500.
    This handler keeps its behaviour (and its "not authorized yet" message) without
    either.
    """

    def _render(self, login_error: str | None = None, username: str | None = None, **ns: Any):
        return self.render_template(
            "native-login.html",
            sync=bool(ns.get("sync", False)),
            next=url_escape(self.get_argument("next", default="")),
            username=username,
            login_error=login_error,
            custom_html=self.authenticator.custom_html,
            login_url=self.settings["login_url"],
            enable_signup=self.authenticator.enable_signup,
            two_factor_auth=self.authenticator.allow_2fa,
            authenticator_login_url=url_concat(
                self.authenticator.login_url(self.hub.base_url),
                {"next": self.get_argument("next", "")},
            ),
        )

    async def post(self) -> None:
        """Log in, or render the form again with why not."""
        data = {arg: self.get_argument(arg, strip=False) for arg in self.request.arguments}
        user = await self.login_user(data)
        if user:
            self._jupyterhub_user = user
            self.redirect(self.get_next_url(user))
            return
        error = "Invalid username or password."
        username = data.get("username", "")
        info = self.authenticator.get_user(username)
        if (
            info is not None
            and info.is_valid_password(data.get("password", ""))
            and not info.is_authorized
        ):
            error = f"User {username} has not been authorized by an administrator yet."
        self.set_status(403)
        self.finish(await self._render(login_error=error, username=username))


class PlatformAuthenticator(NativeAuthenticator):
    """NativeAuthenticator that creates the first admins and assigns platform groups."""

    admin_password = Unicode(
        "",
        help="""Password given to each of `admin_users` that has no account yet.

        Existing accounts keep their password (change it at /hub/change-password).
        """,
    ).tag(config=True)

    default_group = Unicode(
        "data-scientist",
        help="Platform group of a user who belongs to none yet, when the hub first sees them.",
    ).tag(config=True)

    admin_group = Unicode(
        "platform-admin",
        help="Platform group of hub admins who belong to no platform group yet.",
    ).tag(config=True)

    platform_groups = List(
        Unicode(),
        list(ROLE_NAMES),
        help="Groups that carry the platform roles; users in none get `default_group`.",
    ).tag(config=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.create_admin_accounts()

    def create_admin_accounts(self) -> list[str]:
        """Create authorized accounts for the first admins that have none.

        Returns:
            The admin names whose account was created now.
        """
        if not self.admin_password:
            return []
        created = []
        for name in sorted(self.admin_users):
            username = self.normalize_username(name)
            if self.get_user(username) is not None:
                continue
            hashed = bcrypt.hashpw(self.admin_password.encode(), bcrypt.gensalt())
            self.db.add(UserInfo(username=username, password=hashed, is_authorized=True))
            created.append(username)
        if created:
            self.db.commit()
            self.log.info("Created admin account(s): %s", ", ".join(created))
        return created

    def get_handlers(self, app: Any) -> list[tuple[str, Any]]:
        """NativeAuthenticator's pages, with the login page fixed for JupyterHub 6."""
        return [
            (path, PlatformLoginHandler if path == r"/login" else handler)
            for path, handler in super().get_handlers(app)
        ]

    async def add_user(self, user: Any) -> None:
        """Add a user to the hub and give them a platform group if they have none."""
        result = super().add_user(user)
        if hasattr(result, "__await__"):
            await result
        group = assign_default_group(self.db, user, self.default_group, self.admin_group)
        if group:
            self.log.info("Put %s in group %s", _orm_user(user).name, group)
