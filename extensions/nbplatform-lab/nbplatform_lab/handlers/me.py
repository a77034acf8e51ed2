"""``/nbplatform/api/me``: who is signed in, with which platform roles, on which server."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import tornado.web

from .base import PlatformAPIHandler


def _split(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def server_info(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Describe this single-user server as the platform's spawner set it up.

    Args:
        env: The environment (``os.environ`` when omitted).

    Returns:
        ``{"profile": NBP_PROFILE or None, "gpus": [...NBP_GPU_DEVICES],
        "kernels": [...NBP_KERNELS]}``; lists are empty when a variable is unset.
    """
    env = os.environ if env is None else env
    return {
        "profile": env.get("NBP_PROFILE") or None,
        "gpus": _split(env.get("NBP_GPU_DEVICES")),
        "kernels": _split(env.get("NBP_KERNELS")),
    }


class MeHandler(PlatformAPIHandler):
    """The signed-in user as the platform service sees them, plus this server's profile."""

    @tornado.web.authenticated
    async def get(self) -> None:
        """Answer ``{"name", "admin", "groups", "roles", "scopes", "server"}``."""
        me = await self.platform().me()
        self.write_json({**me, "server": server_info()})
