"""Zero to JupyterHub values rendered from the platform's profiles.

At scale the hub runs KubeSpawner through the Zero to JupyterHub (z2jh) Helm
chart. :func:`render_values` turns the same ``profiles.yaml`` the local
spawner reads into chart values, so both deployments offer the same servers:

- ``singleuser.profileList``: one KubeSpawner ``profile_list`` entry per
  profile, whose ``kubespawner_override`` sets ``cpu_limit``/``mem_limit``,
  guarantees (half the limit by default), ``NBP_PROFILE``/``NBP_KERNELS``, the
  server's allowed kernelspecs and, for GPU profiles, an ``nvidia.com/gpu``
  limit with a toleration for GPU nodes. Which GPU a pod gets is the NVIDIA
  device plugin's decision (it sets ``NVIDIA_VISIBLE_DEVICES``); CPU profiles
  set ``NVIDIA_VISIBLE_DEVICES=none`` so an image built on CUDA does not see
  a node's GPUs without asking for one.
- ``hub.extraConfig``: KubeSpawner 7 has no per-profile group filter (its
  ``profile_list`` entries carry no allowed groups), but ``profile_list`` may be
  a callable of the spawner, evaluated both for the spawn page and when a
  server starts (``load_user_options``). The rendered snippet wraps the list
  z2jh built from ``singleuser.profileList`` in such a callable
  (:func:`profile_list_for`), keeping the profiles whose groups meet
  ``spawner.user.groups`` by the rule of :mod:`.profiles`; a request for another
  profile, even through the REST API, fails as an unknown profile. The hub image
  must therefore have ``nbplatform-hub`` installed.

Settings that need secrets (authenticator, database, ``hub.loadRoles``,
custom scopes) are not rendered here; pass them as ``extra``, which is merged
in last.
"""

from __future__ import annotations

import copy
import pprint
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import yaml
from tornado import web

from .profiles import Profile, allowed_slugs, format_size

__all__ = [
    "GROUP_FILTER_KEY",
    "USER_POD_TOLERATIONS",
    "dump_manifests",
    "dump_values",
    "group_filter_config",
    "profile_entry",
    "profile_list_for",
    "render_values",
    "split_image",
]

GROUP_FILTER_KEY = "10-nbplatform-profile-groups"

# z2jh's default user-pod tolerations (scheduling.userPods.tolerations). A
# profile's ``tolerations`` override replaces the spawner's list, so a GPU
# profile repeats them next to its GPU toleration.
USER_POD_TOLERATIONS: tuple[dict[str, str], ...] = (
    {
        "key": "hub.jupyter.org/dedicated",
        "operator": "Equal",
        "value": "user",
        "effect": "NoSchedule",
    },
    {
        "key": "hub.jupyter.org_dedicated",
        "operator": "Equal",
        "value": "user",
        "effect": "NoSchedule",
    },
)

_GROUP_FILTER_TEMPLATE = """\
# Rendered by nbplatform (nbplatform_hub.k8s) from profiles.yaml; do not edit.
# KubeSpawner has no per-profile group filter, so profile_list becomes a
# callable that offers each profile only to members of its groups (the rule of
# nbplatform_hub.profiles, which the hub image has). It is evaluated for the
# spawn page and again when a server starts, so a profile outside the user's
# groups cannot be started through the REST API either.
from nbplatform_hub.k8s import profile_list_for as _nbp_profile_list_for

c.KubeSpawner.profile_list = _nbp_profile_list_for(
    c.KubeSpawner.get("profile_list"),  # from singleuser.profileList
    {groups},
    {message},
)
"""


def profile_list_for(
    profiles: Any, groups_by_slug: Mapping[str, Sequence[str]], message: str
) -> Callable[[Any], list[dict[str, Any]]]:
    """KubeSpawner's ``profile_list`` callable: the entries the spawner's user may use.

    Args:
        profiles: ``singleuser.profileList`` as the chart set it.
        groups_by_slug: Each profile's slug and its groups (from ``profiles.yaml``).
        message: The 403 message for a user in none of the groups.

    Raises:
        RuntimeError: ``profiles`` is not a list (the values were edited by hand).
    """
    if not isinstance(profiles, list):
        raise RuntimeError("nbplatform: singleuser.profileList must be a list of profiles")

    def for_user(spawner: Any) -> list[dict[str, Any]]:
        groups = [group.name for group in spawner.user.groups]
        slugs = set(allowed_slugs(groups_by_slug, groups))
        allowed = [copy.deepcopy(p) for p in profiles if p.get("slug") in slugs]
        if not allowed:
            raise web.HTTPError(403, message)
        return allowed

    return for_user


def split_image(image: str) -> dict[str, str]:
    """Split an image reference into z2jh's ``{"name": ..., "tag": ...}``.

    Args:
        image: ``registry:5000/org/name:tag``, optionally with ``@sha256:...``;
            the tag defaults to ``latest``. A digest stays on the tag
            (``"1.0@sha256:..."``), which the chart joins back as ``name:tag``.

    Returns:
        The ``name`` and ``tag`` mapping used by ``singleuser.image`` and ``hub.image``.
    """
    reference, at, digest = image.partition("@")
    name, sep, tag = reference.rpartition(":")
    if not sep or "/" in tag:
        name, tag = reference, "latest"
    return {"name": name, "tag": f"{tag}@{digest}" if at else tag}


def _cpu(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 3)


def profile_entry(
    profile: Profile,
    *,
    gpu_resource: str = "nvidia.com/gpu",
    guarantee_fraction: float = 0.5,
) -> dict[str, Any]:
    """Render one profile as a KubeSpawner ``profile_list`` entry.

    Args:
        profile: The profile.
        gpu_resource: The extended resource GPUs are requested as.
        guarantee_fraction: Share of the CPU and memory limits to guarantee
            (the scheduler reserves it).

    Returns:
        ``{"display_name", "slug", "description", "default", "kubespawner_override"}``.
    """
    limit = profile.mem_limit_bytes
    environment: dict[str, str] = {
        "NBP_PROFILE": profile.slug,
        "NBP_KERNELS": ",".join(profile.kernels),
    }
    if not profile.gpus:
        environment["NVIDIA_VISIBLE_DEVICES"] = "none"
    override: dict[str, Any] = {
        "cpu_limit": _cpu(profile.cpu_limit),
        "cpu_guarantee": _cpu(profile.cpu_limit * guarantee_fraction),
        "mem_limit": format_size(limit),
        "mem_guarantee": format_size(int(limit * guarantee_fraction)),
        "environment": environment,
        "args": [
            f"--KernelSpecManager.allowed_kernelspecs={profile.kernels!r}",
            f"--MultiKernelManager.default_kernel_name={profile.kernels[0]}",
        ],
    }
    if profile.gpus:
        override["extra_resource_limits"] = {gpu_resource: str(profile.gpus)}
        override["tolerations"] = [
            *(dict(t) for t in USER_POD_TOLERATIONS),
            {"key": gpu_resource, "operator": "Exists", "effect": "NoSchedule"},
        ]
    return {
        "display_name": profile.display_name,
        "slug": profile.slug,
        "description": profile.description,
        "default": profile.default,
        "kubespawner_override": override,
    }


def group_filter_config(profiles: Sequence[Profile]) -> str:
    """Render the ``hub.extraConfig`` snippet that filters profiles by group.

    Args:
        profiles: The profiles, whose ``groups`` say who may pick them.

    Returns:
        Python source for z2jh's ``hub.extraConfig``; it expects ``c`` with
        ``c.KubeSpawner.profile_list`` already set from ``singleuser.profileList``.
    """
    groups = {profile.slug: list(profile.groups) for profile in profiles}
    everyone = sorted({g for profile in profiles for g in profile.groups})
    message = (
        "No server profile is open to your groups. Ask a platform admin to add you "
        f"to one of: {', '.join(everyone)}."
    )
    return _GROUP_FILTER_TEMPLATE.format(
        groups=pprint.pformat(groups, width=88, sort_dicts=False),
        message=repr(message),
    )


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def render_values(
    profiles: Sequence[Profile],
    *,
    image: str = "nbplatform/singleuser:latest",
    hub_image: str | None = "nbplatform/hub:latest",
    gpu_resource: str = "nvidia.com/gpu",
    guarantee_fraction: float = 0.5,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Render Zero to JupyterHub Helm values from the profiles.

    Args:
        profiles: The profiles, e.g. from :func:`nbplatform_hub.profiles.load_profiles`.
        image: The single-user image (JupyterLab, the kernels and nbplatform).
        hub_image: The hub image, which must have ``nbplatform-hub`` installed
            (the group filter imports it); ``None`` keeps the chart's own (then
            install ``nbplatform-hub`` into it some other way).
        gpu_resource: The extended resource GPUs are requested as.
        guarantee_fraction: Share of the CPU and memory limits to guarantee.
        extra: Values merged in last (dictionaries recursively), e.g.
            ``hub.config`` for the authenticator, ``hub.loadRoles``, ``hub.db``.

    Returns:
        The values mapping for ``helm install -f``.
    """
    values: dict[str, Any] = {
        "hub": {"extraConfig": {GROUP_FILTER_KEY: group_filter_config(profiles)}},
        "singleuser": {
            "image": split_image(image),
            "defaultUrl": "/lab",
            "profileList": [
                profile_entry(
                    profile, gpu_resource=gpu_resource, guarantee_fraction=guarantee_fraction
                )
                for profile in profiles
            ],
        },
    }
    if hub_image:
        values["hub"]["image"] = split_image(hub_image)
    if extra:
        _merge(values, extra)
    return values


class _ValuesDumper(yaml.SafeDumper):
    """Safe YAML dumper that writes multi-line strings as literal blocks."""


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_ValuesDumper.add_representer(str, _str_presenter)


def dump_values(values: Mapping[str, Any]) -> str:
    """Write values as YAML: keys in insertion order, code as literal blocks.

    Args:
        values: From :func:`render_values`.

    Returns:
        YAML text; the same values give the same text.
    """
    return yaml.dump(
        values, Dumper=_ValuesDumper, sort_keys=False, default_flow_style=False, width=100
    )


def dump_manifests(objects: Sequence[Mapping[str, Any]]) -> str:
    """Write Kubernetes objects as one multi-document YAML file (``kubectl apply -f``).

    Args:
        objects: The objects, e.g. from :func:`nbplatform_hub.k8s_manifests.platform_manifests`.

    Returns:
        YAML text, ``---`` between objects; the same objects give the same text.
    """
    return "---\n".join(dump_values(obj) for obj in objects)
