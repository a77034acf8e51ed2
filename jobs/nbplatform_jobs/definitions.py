"""Validate a job definition as a whole: notebook, parameters, schedule, profile.

Used by the REST API and by the YAML definitions sync, so both refuse the same
things with the same messages.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from nbplatform.errors import InvalidParameterError
from nbplatform_hub import host
from nbplatform_hub.host import Allow, check_destination

from .models import DEFAULTS, JobCreate, JobFields
from .parameters import check_parameters, coerce_parameters
from .triggers import make_trigger
from .workspace import resolve_notebook

#: Columns of ``jobs`` that a definition sets.
COLUMNS = (
    "name",
    "notebook",
    "parameters",
    "test_parameters",
    "cron",
    "timezone",
    "interval_seconds",
    "profile",
    "timeout_seconds",
    "retries",
    "retry_backoff_seconds",
    "max_concurrent_runs",
    "active",
    "webhook_url",
    "webhook_secret",
    "email",
    "notify_on",
    "shared",
    "tags",
    "owner",
)


def _profiles() -> list[Any]:
    return host.load_platform_profiles()


def choose_profile(slug: str | None, owner: str, groups: Iterable[str]) -> str:
    """Return the profile a job of ``owner`` runs on, as the host decides.

    See :func:`nbplatform_hub.host.choose_profile`.

    Args:
        slug: The requested profile, or ``None`` for the owner's default.
        owner: The job's owner (for messages).
        groups: The owner's JupyterHub groups.

    Raises:
        InvalidParameterError: No such profile.
        PermissionDeniedError: The owner may not use it.
    """
    return host.choose_profile(_profiles(), slug, owner, groups).slug


def kernel_for_profile(slug: str) -> str:
    """The kernel a job on profile ``slug`` runs with: the profile's first kernel."""
    for profile in _profiles():
        if profile.slug == slug:
            return profile.kernels[0]
    raise InvalidParameterError(f"profile: no profile named {slug!r}.")


def profile_gpus(slug: str) -> int:
    """How many GPUs profile ``slug`` has (0 when it no longer exists)."""
    return next((p.gpus for p in _profiles() if p.slug == slug), 0)


def validate(
    home: Path,
    owner: str,
    groups: Iterable[str],
    body: JobFields,
    current: dict[str, Any] | None = None,
    webhook_allow: Allow | None = None,
) -> dict[str, Any]:
    """Check a new definition or a change, and return the columns to store.

    Args:
        home: ``NBP_HOME``.
        owner: The job's owner.
        groups: The owner's groups (for the profile check).
        body: The parsed request (a :class:`JobCreate` or :class:`JobUpdate`).
        current: The stored job when updating.
        webhook_allow: Internal webhook destinations an admin allowed
            (``NBP_WEBHOOK_ALLOW``); none when omitted.

    Returns:
        Column values (every column for a new job; the changed ones for an update).

    Raises:
        InvalidParameterError: Naming the field (``notebook``, ``parameters.<name>``,
            ``cron``, ``timezone``, ``profile``, ``webhook_url``...).
        PermissionDeniedError: The profile is not the owner's to use.
    """
    given = body.model_dump(exclude_unset=True, exclude={"owner"})
    merged = {**DEFAULTS, **(current or {}), **given}
    for key, value in DEFAULTS.items():
        if merged.get(key) is None and value is not None:
            merged[key] = value
    checked = ("notebook", "parameters", "test_parameters")
    if isinstance(body, JobCreate) or any(key in given for key in checked):
        path = resolve_notebook(home, owner, merged["notebook"])
        declared = check_parameters(path, merged["parameters"])
        merged["parameters"] = coerce_parameters(declared, merged["parameters"])
        if merged.get("test_parameters") is not None:
            try:
                check_parameters(path, merged["test_parameters"])
            except InvalidParameterError as e:  # name the field the value came from
                raise InvalidParameterError(f"test_{e.message}") from None
            merged["test_parameters"] = coerce_parameters(declared, merged["test_parameters"])
    if given.get("interval_seconds") and "cron" not in given and current:
        merged["cron"] = None
    if given.get("cron") and "interval_seconds" not in given and current:
        merged["interval_seconds"] = None
    make_trigger(merged["cron"], merged["timezone"], merged["interval_seconds"])
    merged.setdefault("webhook_secret", None)
    if merged.get("webhook_url"):
        if "webhook_url" in given:
            check_destination(
                merged["webhook_url"], webhook_allow or Allow(), resolve_required=False
            )
        if not merged.get("webhook_secret"):
            merged["webhook_secret"] = secrets.token_hex(32)
    if current is None or "profile" in given:
        merged["profile"] = choose_profile(merged.get("profile"), owner, groups)
    merged["owner"] = owner
    columns = COLUMNS
    if current is None:
        return {k: merged[k] for k in columns}
    return {k: merged[k] for k in columns if k in given or merged[k] != current.get(k)}
