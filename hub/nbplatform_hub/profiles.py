"""Server profiles: the schema of ``profiles.yaml`` and its loader.

Profiles are data, as in KubeSpawner's ``profile_list``: one YAML file lists the
servers a user can start (CPU, memory, GPUs, kernels, who may pick it). The local
spawner reads it directly and :mod:`nbplatform_hub.k8s` renders the same file
into Zero to JupyterHub values, so both deployments offer the same choices.

Example::

    profiles = load_profiles(default_profiles_path())
    mine = profiles_for_groups(profiles, ["data-scientist"])
    gpu = get_profile(profiles, "gpu")
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from nbplatform.errors import (
    ConfigurationError,
    InvalidParameterError,
    NotFoundError,
    PermissionDeniedError,
)

__all__ = [
    "Profile",
    "ProfileConfigError",
    "ProfilesFile",
    "default_profile",
    "default_profiles_path",
    "format_size",
    "get_profile",
    "load_profiles",
    "parse_size",
    "profiles_for_groups",
]

PROFILES_ENV = "NBP_PROFILES"

_SLUG_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_KERNEL_RE = re.compile(r"^[A-Za-z0-9._-]+$")
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*([KMGT]?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


class ProfileConfigError(ConfigurationError):
    """The profiles file is missing or malformed; the message names the file and field."""


def parse_size(text: str | int) -> int:
    """Parse a memory size into bytes.

    Args:
        text: An integer number of bytes, or a string such as ``"512M"``, ``"2G"``,
            ``"1.5G"`` or ``"1073741824"``. Units ``K``, ``M``, ``G``, ``T`` are
            powers of 1024 (as in JupyterHub's ``mem_limit``), case-insensitive.

    Returns:
        The size in bytes.

    Raises:
        InvalidParameterError: ``text`` is not a size, or is negative.
    """
    if isinstance(text, bool):
        raise InvalidParameterError(f"{text!r} is not a size like 512M or 2G")
    if isinstance(text, int):
        if text < 0:
            raise InvalidParameterError(f"{text!r} is not a size: sizes cannot be negative")
        return text
    if not isinstance(text, str):
        raise InvalidParameterError(f"{text!r} is not a size like 512M or 2G")
    match = _SIZE_RE.match(text)
    if match is None:
        raise InvalidParameterError(f"{text!r} is not a size like 512M or 2G")
    number, unit = match.groups()
    return int(float(number) * _UNITS[unit.upper()])


def format_size(size: int) -> str:
    """Format bytes as the shortest exact size string (``2G``, ``768M``, ``1000``).

    Args:
        size: A number of bytes, ``>= 0``.

    Returns:
        A string :func:`parse_size` turns back into ``size``; also a valid
        JupyterHub/KubeSpawner ``mem_limit``.
    """
    for unit in ("T", "G", "M", "K"):
        factor = _UNITS[unit]
        if size and size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


class Profile(BaseModel):
    """One server profile a user can pick on the spawn page.

    Attributes:
        slug: Machine name: lower-case letters, digits and inner dashes.
        display_name: The name shown on the spawn page.
        description: One line saying what the profile is for.
        default: Whether this profile is preselected.
        cpu_limit: CPUs the server may use (fractions allowed).
        mem_limit: Memory for the server and all its kernels, e.g. ``2G``.
        gpus: Number of GPUs assigned to the server.
        kernels: Names of the kernelspecs offered in the server.
        groups: JupyterHub groups whose members may pick this profile.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    slug: str
    display_name: str = Field(min_length=1)
    description: str = ""
    default: bool = False
    cpu_limit: float = Field(gt=0)
    mem_limit: str
    gpus: int = Field(default=0, ge=0)
    kernels: list[str] = Field(min_length=1)
    groups: list[str] = Field(min_length=1)

    @field_validator("slug")
    @classmethod
    def _check_slug(cls, value: str) -> str:
        if not _SLUG_RE.match(value):
            raise ValueError(
                f"{value!r} is not a slug: use lower-case letters, digits and dashes, "
                "starting and ending with a letter or digit"
            )
        return value

    @field_validator("display_name")
    @classmethod
    def _check_display_name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("display_name must not be blank")
        return value

    @field_validator("mem_limit", mode="before")
    @classmethod
    def _check_mem_limit(cls, value: Any) -> str:
        try:
            size = parse_size(value)
        except InvalidParameterError:
            raise ValueError(f"{value!r} is not a size like 512M or 2G") from None
        if size <= 0:
            raise ValueError(f"{value!r} is not a size like 512M or 2G: it must be above 0")
        return str(value).strip()

    @field_validator("kernels")
    @classmethod
    def _check_kernels(cls, value: list[str]) -> list[str]:
        for name in value:
            if not _KERNEL_RE.match(name):
                raise ValueError(
                    f"{name!r} is not a kernelspec name (letters, digits, '.', '_', '-')"
                )
        return value

    @field_validator("groups")
    @classmethod
    def _check_groups(cls, value: list[str]) -> list[str]:
        for name in value:
            if not name.strip():
                raise ValueError("group names must not be blank")
        return value

    @property
    def mem_limit_bytes(self) -> int:
        """The memory limit in bytes."""
        return parse_size(self.mem_limit)


class ProfilesFile(BaseModel):
    """The whole ``profiles.yaml`` file: a non-empty list of profiles.

    Slugs are unique and at most one profile is the default; when none is, the
    first profile becomes the default.
    """

    model_config = ConfigDict(extra="forbid")

    profiles: list[Profile] = Field(min_length=1)

    @field_validator("profiles")
    @classmethod
    def _check_profiles(cls, value: list[Profile]) -> list[Profile]:
        seen: dict[str, int] = {}
        for index, profile in enumerate(value):
            if profile.slug in seen:
                raise ValueError(
                    f"slug {profile.slug!r} is used by profiles[{seen[profile.slug]}] "
                    f"and profiles[{index}]; slugs must be unique"
                )
            seen[profile.slug] = index
        defaults = [p.slug for p in value if p.default]
        if len(defaults) > 1:
            raise ValueError(
                f"more than one profile has default: true ({', '.join(defaults)}); mark at most one"
            )
        if not defaults:
            value = [value[0].model_copy(update={"default": True}), *value[1:]]
        return value


def _format_loc(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def _format_error(error: Any) -> str:
    loc = _format_loc(tuple(error["loc"]))
    kind = error["type"]
    if kind == "extra_forbidden":
        owner = ProfilesFile if len(error["loc"]) == 1 else Profile
        known = ", ".join(owner.model_fields)
        return f"{loc}: unknown field (known fields: {known})"
    if kind == "missing":
        return f"{loc}: required field is missing"
    if kind == "too_short":
        return f"{loc}: must not be empty"
    if kind == "model_type":
        return f"{loc}: must be a mapping of fields, got {error['input']!r}"
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    elif "input" in error:
        message = f"{error['input']!r}: {message}"
    return f"{loc}: {message}"


def load_profiles(path: str | os.PathLike[str]) -> list[Profile]:
    """Load and validate a profiles file.

    Args:
        path: The YAML file, shaped as ``profiles: [ {slug: ..., ...}, ... ]``.

    Returns:
        The profiles, in file order; exactly one has ``default`` set.

    Raises:
        ProfileConfigError: The file is missing or unreadable, is not valid YAML,
            is not a mapping, or a field is missing, unknown or invalid. The
            message names the file and the field, e.g.
            ``/x/profiles.yaml: profiles[1].mem_limit: '2 gigs' is not a size like 512M or 2G``.
    """
    where = os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProfileConfigError(
            f"{where}: no such profiles file. Create it (see hub/profiles.yaml) "
            f"or point ${PROFILES_ENV} at one."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileConfigError(f"{where}: cannot read the profiles file: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise ProfileConfigError(f"{where}: {at}YAML syntax error: {problem}") from None
    if not isinstance(data, dict):
        got = "an empty file" if data is None else f"a {type(data).__name__}"
        raise ProfileConfigError(
            f"{where}: the top level must be a mapping with a 'profiles' list, got {got}"
        )
    try:
        parsed = ProfilesFile.model_validate(data)
    except ValidationError as exc:
        details = "; ".join(_format_error(error) for error in exc.errors())
        raise ProfileConfigError(f"{where}: {details}") from None
    return list(parsed.profiles)


def default_profiles_path() -> Path:
    """Return the profiles file to use.

    Returns:
        ``$NBP_PROFILES`` when set; else the repository's ``hub/profiles.yaml``;
        else the copy packaged inside ``nbplatform_hub`` (wheel installs).
    """
    configured = os.environ.get(PROFILES_ENV)
    if configured:
        return Path(configured)
    here = Path(__file__).resolve().parent
    in_repo = here.parent / "profiles.yaml"
    if in_repo.is_file():
        return in_repo
    return Path(__file__).parent / "profiles.yaml"


def profiles_for_groups(profiles: Iterable[Profile], groups: Iterable[str]) -> list[Profile]:
    """Return the profiles a member of ``groups`` may pick.

    Args:
        profiles: All profiles.
        groups: The names of the user's JupyterHub groups.

    Returns:
        The profiles whose ``groups`` intersect ``groups``, in their original order.
    """
    profiles = list(profiles)
    slugs = set(allowed_slugs({p.slug: p.groups for p in profiles}, groups))
    return [profile for profile in profiles if profile.slug in slugs]


def allowed_slugs(groups_by_slug: Mapping[str, Iterable[str]], groups: Iterable[str]) -> list[str]:
    """The rule of who may use a profile: a member of one of the groups it names.

    On one machine :func:`profiles_for_groups` applies it; on Kubernetes the hub
    applies it to KubeSpawner's ``profile_list`` (:func:`nbplatform_hub.k8s.profile_list_for`).

    Args:
        groups_by_slug: Each profile's slug and the groups it names, in file order.
        groups: The user's JupyterHub groups.

    Returns:
        The slugs the user may use, in file order.
    """
    mine = set(groups)
    return [slug for slug, named in groups_by_slug.items() if mine.intersection(named)]


def get_profile(profiles: Sequence[Profile], slug: str) -> Profile:
    """Return the profile called ``slug``.

    Args:
        profiles: The profiles to look in.
        slug: The profile's slug.

    Returns:
        The matching profile.

    Raises:
        NotFoundError: No profile has this slug; the message lists the known ones.
    """
    for profile in profiles:
        if profile.slug == slug:
            return profile
    known = ", ".join(p.slug for p in profiles) or "none"
    raise NotFoundError(f"No profile named {slug!r}. Known profiles: {known}.")


def default_profile(profiles: Sequence[Profile]) -> Profile:
    """Return the default profile: the one marked ``default``, else the first.

    Args:
        profiles: The profiles, e.g. from :func:`load_profiles` or
            :func:`profiles_for_groups`.

    Returns:
        The default profile.

    Raises:
        NotFoundError: ``profiles`` is empty (e.g. the user is in no allowed group).
    """
    if not profiles:
        raise NotFoundError(
            "No profile is available. Ask a platform admin to add you to a group "
            "that a profile in profiles.yaml allows."
        )
    for profile in profiles:
        if profile.default:
            return profile
    return profiles[0]


def load_platform_profiles() -> list[Profile]:
    """The platform's profiles, from :func:`default_profiles_path`."""
    return load_profiles(default_profiles_path())


def choose_profile(
    profiles: Sequence[Profile], slug: object, user: str, groups: Iterable[str]
) -> Profile:
    """The profile ``user`` gets for a request of ``slug``: the one place that decides.

    The spawner (servers), the scheduler (job runs) and, through the values it
    renders, the Kubernetes hub all choose with this function.

    Args:
        profiles: Every profile of the platform.
        slug: The requested slug; ``None`` or ``""`` for the user's default.
        user: Who asks (for messages).
        groups: The user's JupyterHub groups.

    Returns:
        The requested profile, or the user's default (the first allowed one
        marked ``default``, else the first allowed one).

    Raises:
        PermissionDeniedError: The user may use no profile, or not this one.
        InvalidParameterError: ``slug`` is not a string, or names no profile.
    """
    groups = list(groups)
    allowed = profiles_for_groups(profiles, groups)
    if not allowed:
        raise PermissionDeniedError(
            f"profile: {user} may use no profile: their groups "
            f"({', '.join(groups) or 'none'}) are not named by any profile."
        )
    if slug is None or slug == "":
        return default_profile(allowed)
    if not isinstance(slug, str):
        raise InvalidParameterError("profile: must be a profile slug (a string).")
    for profile in allowed:
        if profile.slug == slug:
            return profile
    if slug in {p.slug for p in profiles}:
        raise PermissionDeniedError(
            f"profile: {slug!r} is not available to {user}: it is for the groups it names, "
            f"and theirs are {', '.join(groups) or 'none'}."
        )
    raise InvalidParameterError(
        f"profile: Unknown profile {slug[:100]!r}. "
        f"Choose one of: {', '.join(p.slug for p in allowed)}."
    )
