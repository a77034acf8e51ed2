"""nbplatform_hub.cgroups: where server groups go, and names safe as cgroup folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from nbplatform_hub import cgroups


@pytest.mark.parametrize(
    ("name", "folder"),
    [
        ("alice", "alice"),
        ("alice-gpu2", "alice-gpu2"),
        ("../../escape", "_.._.._escape"),
        (".hidden", "_.hidden"),
        ("a/b c", "a_b_c"),
        ("", "_"),
    ],
)
def test_a_server_name_becomes_one_folder_below_the_parent(name: str, folder: str) -> None:
    assert cgroups.group_name(name) == folder
    assert "/" not in cgroups.group_name(name)


def test_the_hubs_own_group_is_found_under_its_mount_only() -> None:
    mount = Path("/sys/fs/cgroup/memory")
    assert cgroups._under_mount("/", mount, "/hub/a") == mount / "hub/a"
    assert cgroups._under_mount("/docker/x", mount, "/docker/x/hub") == mount / "hub"
    assert cgroups._under_mount("/docker/x", mount, "/other/hub") is None
    assert cgroups._under_mount("/docker/x", mount, "/docker/xy") is None
    assert cgroups._under_mount("/", mount, None) is None


def test_a_v1_folder_without_a_memory_controller_is_no_site(tmp_path: Path) -> None:
    assert cgroups._v1_site(tmp_path) is None
    assert not (tmp_path / cgroups.GROUP_PARENT).exists()


def test_the_site_found_here_is_writable_or_there_is_none() -> None:
    site = cgroups.find_site()
    assert cgroups.cgroup_available() is (site is not None)
    if site is not None:
        assert site.version in (1, 2)
        assert site.parent.name == cgroups.GROUP_PARENT and site.parent.parent == site.home
        limit = "memory.max" if site.version == 2 else "memory.limit_in_bytes"
        assert (site.parent / limit).is_file()
