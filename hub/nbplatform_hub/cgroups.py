"""Where on this machine a memory cgroup for one server can be made (v2 or v1).

:func:`find_site` looks at the cgroup mounts (``/proc/self/mountinfo``) and the
hub's own cgroup (``/proc/self/cgroup``): under cgroup v2 groups go in
``<root>/nbplatform`` with the memory controller delegated to it; under v1
next to the hub's own memory cgroup, so that an outer limit (a container's)
still applies, else under the memory hierarchy's root. A site is usable only
when the hub may write there (root or a delegated subtree).
:class:`nbplatform_hub.memory.CgroupMemoryLimit` makes the groups.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["GROUP_PARENT", "CgroupSite", "cgroup_available", "find_site", "group_name"]

GROUP_PARENT = "nbplatform"

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CgroupSite:
    """Where server groups are made: ``parent/<name>``; ``home`` takes leftover pids."""

    version: int
    parent: Path
    home: Path


def read_text(path: Path) -> str:
    """The file's text; ``""`` when it cannot be read."""
    try:
        return path.read_text()
    except OSError:
        return ""


def write(path: Path, value: str) -> None:
    """Write ``value`` to a cgroup file (one write, as the kernel wants it)."""
    with open(path, "w") as handle:
        handle.write(value)


def _cgroup_mounts() -> list[tuple[str, str, Path, list[str]]]:
    """Return ``(fstype, root, mountpoint, super options)`` of the cgroup mounts."""
    mounts = []
    for line in read_text(Path("/proc/self/mountinfo")).splitlines():
        left, _, right = line.partition(" - ")
        fields, rest = left.split(), right.split()
        if len(fields) < 5 or len(rest) < 3 or rest[0] not in ("cgroup", "cgroup2"):
            continue
        mounts.append((rest[0], fields[3], Path(fields[4]), rest[2].split(",")))
    return mounts


def _own_memory_cgroup() -> str | None:
    """Return this process's cgroup path in the v1 memory hierarchy, if any."""
    for line in read_text(Path("/proc/self/cgroup")).splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3 and "memory" in parts[1].split(","):
            return parts[2]
    return None


def _under_mount(root: str, mountpoint: Path, path: str | None) -> Path | None:
    if path is None:
        return None
    if root != "/" and not (path == root or path.startswith(root.rstrip("/") + "/")):
        return None
    relative = path[len(root) :] if root != "/" else path
    return mountpoint / relative.lstrip("/")


def _v2_site(mountpoint: Path) -> CgroupSite | None:
    if "memory" not in read_text(mountpoint / "cgroup.controllers").split():
        return None
    try:
        if "memory" not in read_text(mountpoint / "cgroup.subtree_control").split():
            write(mountpoint / "cgroup.subtree_control", "+memory")
        parent = mountpoint / GROUP_PARENT
        parent.mkdir(exist_ok=True)
        if "memory" not in read_text(parent / "cgroup.subtree_control").split():
            write(parent / "cgroup.subtree_control", "+memory")
    except OSError as exc:
        _log.debug("cgroup v2 at %s is not usable for memory limits: %s", mountpoint, exc)
        return None
    return CgroupSite(version=2, parent=parent, home=mountpoint)


def _v1_site(candidate: Path) -> CgroupSite | None:
    if not (candidate / "memory.limit_in_bytes").is_file():
        return None
    parent = candidate / GROUP_PARENT
    try:
        parent.mkdir(exist_ok=True)
    except OSError as exc:
        _log.debug("cgroup v1 memory at %s is not writable: %s", candidate, exc)
        return None
    if not (parent / "memory.limit_in_bytes").is_file():
        return None
    return CgroupSite(version=1, parent=parent, home=candidate)


def find_site() -> CgroupSite | None:
    """The site for server groups, or ``None`` where no memory controller is writable."""
    own = _own_memory_cgroup()
    mounts = _cgroup_mounts()
    # v2: groups go under the hierarchy's root, the one cgroup exempt from the
    # no-internal-process rule; v1: next to the hub's own memory cgroup, so an
    # outer limit (a container's) still applies, else under the root.
    for fstype, _root, mountpoint, _options in mounts:
        if fstype == "cgroup2":
            site = _v2_site(mountpoint)
            if site is not None:
                return site
    for fstype, root, mountpoint, options in mounts:
        if fstype != "cgroup" or "memory" not in options:
            continue
        candidates = [_under_mount(root, mountpoint, own), mountpoint]
        for candidate in dict.fromkeys(c for c in candidates if c is not None):
            site = _v1_site(candidate)
            if site is not None:
                return site
    return None


def cgroup_available() -> bool:
    """Say whether a writable cgroup memory controller (v2 or v1) is usable here.

    Returns:
        True when :class:`CgroupMemoryLimit` can be created (creates the empty
        ``nbplatform`` parent group as a side effect).
    """
    return find_site() is not None


def group_name(name: str) -> str:
    """A server name as a cgroup folder name (no ``/``, no leading dot)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    return safe if safe and not safe.startswith(".") else f"_{safe}"
