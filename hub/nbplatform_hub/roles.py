"""Platform permissions as JupyterHub custom scopes, bundled in roles given to groups.

Every platform action is guarded by one ``custom:nbplatform:*`` scope. The three
platform roles (``viewer``, ``data-scientist``, ``platform-admin``) are granted to
JupyterHub groups of the same names, so an admin changes what someone may do by
moving them between groups (``/hub/admin`` or the REST API), never by handing out
an admin token.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

SCOPE_PREFIX = "custom:nbplatform:"

#: Every platform scope, by name; other modules (and, through ``api/me``, the
#: JupyterLab extension) take scope names from here, never as copied strings.
MODELS_READ = f"{SCOPE_PREFIX}models:read"
MODELS_WRITE = f"{SCOPE_PREFIX}models:write"
MODELS_APPROVE = f"{SCOPE_PREFIX}models:approve"
FEATURES_READ = f"{SCOPE_PREFIX}features:read"
FEATURES_WRITE = f"{SCOPE_PREFIX}features:write"
FEATURES_ADMIN = f"{SCOPE_PREFIX}features:admin"
DRIFT_READ = f"{SCOPE_PREFIX}drift:read"
DRIFT_WRITE = f"{SCOPE_PREFIX}drift:write"
DRIFT_ADMIN = f"{SCOPE_PREFIX}drift:admin"
JOBS_READ = f"{SCOPE_PREFIX}jobs:read"
JOBS_WRITE = f"{SCOPE_PREFIX}jobs:write"
JOBS_ADMIN = f"{SCOPE_PREFIX}jobs:admin"
AUDIT_READ = f"{SCOPE_PREFIX}audit:read"

#: Custom scopes and what each allows, in the form ``c.JupyterHub.custom_scopes`` takes.
CUSTOM_SCOPES: dict[str, dict[str, str]] = {
    MODELS_READ: {"description": "Read registered models, versions, runs and promotion requests."},
    MODELS_WRITE: {"description": "Track runs, register model versions and request promotions."},
    MODELS_APPROVE: {
        "description": "Approve or reject promotions, move protected aliases, delete models."
    },
    FEATURES_READ: {"description": "Read feature views and features."},
    FEATURES_WRITE: {"description": "Define, push and materialize features."},
    FEATURES_ADMIN: {
        "description": "Delete feature views and change every user's feature definitions."
    },
    DRIFT_READ: {"description": "Read drift monitors and their results."},
    DRIFT_WRITE: {"description": "Define drift monitors and record drift."},
    DRIFT_ADMIN: {
        "description": "Change, mute, acknowledge and delete every user's drift monitors."
    },
    JOBS_READ: {"description": "Read job definitions, runs and outputs."},
    JOBS_WRITE: {"description": "Create, run and manage one's own jobs."},
    JOBS_ADMIN: {"description": "Manage every user's jobs."},
    AUDIT_READ: {"description": "Read the platform audit log."},
}

ALL_SCOPES: tuple[str, ...] = tuple(CUSTOM_SCOPES)

_READ = [MODELS_READ, FEATURES_READ, DRIFT_READ, JOBS_READ]
_WRITE = [MODELS_WRITE, FEATURES_WRITE, DRIFT_WRITE, JOBS_WRITE]
_ADMIN = [MODELS_APPROVE, FEATURES_ADMIN, DRIFT_ADMIN, JOBS_ADMIN, AUDIT_READ]

#: Platform role name -> the custom scopes it grants (cumulative).
ROLE_SCOPES: dict[str, list[str]] = {
    "viewer": _READ,
    "data-scientist": _READ + _WRITE,
    "platform-admin": _READ + _WRITE + _ADMIN,
}

#: Role names, weakest first.
ROLE_NAMES: tuple[str, ...] = tuple(ROLE_SCOPES)


def platform_roles(service_name: str = "platform") -> list[dict[str, Any]]:
    """Return the three platform roles in ``c.JupyterHub.load_roles`` form.

    Each role is granted to the group of the same name and includes access to the
    platform service, so that members can open it in the browser and call its API.

    Args:
        service_name: Name of the platform service.

    Returns:
        A list of role dictionaries.
    """
    access = f"access:services!service={service_name}"
    return [
        {
            "name": name,
            "description": f"nbplatform {name}",
            "scopes": [access, *scopes],
            "groups": [name],
        }
        for name, scopes in ROLE_SCOPES.items()
    ]


def server_role(service_name: str = "platform") -> dict[str, Any]:
    """Return the ``server`` role: the scopes of each single-user server's own token.

    A server (and its kernels, which reuse the token) may report activity, be
    reached by its owner, call the platform service, and act on the platform with
    its owner's platform scopes. JupyterHub intersects a token's scopes with its
    owner's, so listing every platform scope here grants a viewer's server only
    what the viewer has, and nothing broader than the owner.

    Args:
        service_name: Name of the platform service.

    Returns:
        A role dictionary for ``c.JupyterHub.load_roles``.
    """
    return {
        "name": "server",
        "description": "Scopes of single-user servers' tokens (and their kernels).",
        "scopes": [
            "users:activity!user",
            "access:servers!server",
            f"access:services!service={service_name}",
            *ALL_SCOPES,
        ],
    }


def nbplatform_scopes(scopes: Iterable[str]) -> list[str]:
    """Keep only the platform's custom scopes, sorted.

    Args:
        scopes: Any scopes, as the hub reports them for a token.

    Returns:
        The ``custom:nbplatform:*`` scopes among them.
    """
    return sorted({s for s in scopes if s.startswith(SCOPE_PREFIX)})


def roles_for_groups(groups: Iterable[str]) -> list[str]:
    """Return the platform roles a member of ``groups`` holds, weakest first.

    Args:
        groups: Names of the user's JupyterHub groups.

    Returns:
        The platform role names whose group the user is in.
    """
    member = set(groups)
    return [name for name in ROLE_NAMES if name in member]
