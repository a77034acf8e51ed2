"""The profiles file: the shipped one loads, malformed ones are explained."""

from __future__ import annotations

from pathlib import Path

import pytest

from nbplatform.errors import (
    ConfigurationError,
    InvalidParameterError,
    NotFoundError,
    PermissionDeniedError,
)
from nbplatform_hub.profiles import (
    ProfileConfigError,
    choose_profile,
    default_profile,
    default_profiles_path,
    format_size,
    get_profile,
    load_profiles,
    parse_size,
    profiles_for_groups,
)

REPO_PROFILES = Path(__file__).resolve().parents[2] / "hub" / "profiles.yaml"

GOOD = """\
profiles:
  - slug: small
    display_name: Small
    cpu_limit: 0.5
    mem_limit: 512M
    kernels: [nbplatform-cpu]
    groups: [viewer]
  - slug: big
    display_name: Big
    cpu_limit: 4
    mem_limit: 1073741824
    gpus: 2
    kernels: [nbplatform-gpu]
    groups: [data-scientist]
"""

PROFILE = """\
  - slug: {slug}
    display_name: {slug}
    cpu_limit: 1
    mem_limit: 1G
    kernels: [nbplatform-cpu]
    groups: [viewer]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profiles.yaml"
    path.write_text(text)
    return path


def test_shipped_profiles_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NBP_PROFILES", raising=False)
    assert default_profiles_path() == REPO_PROFILES
    profiles = load_profiles(REPO_PROFILES)
    assert [p.slug for p in profiles] == ["cpu-small", "cpu-large", "gpu"]
    assert default_profile(profiles).slug == "cpu-small"
    gpu = get_profile(profiles, "gpu")
    assert gpu.gpus == 1
    assert gpu.kernels == ["nbplatform-gpu", "nbplatform-cpu"]
    assert gpu.mem_limit_bytes == 16 * 2**30
    small = get_profile(profiles, "cpu-small")
    assert (small.cpu_limit, small.mem_limit, small.gpus) == (1.0, "2G", 0)
    assert get_profile(profiles, "cpu-large").mem_limit_bytes == 8 * 2**30


def test_env_variable_chooses_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, GOOD)
    monkeypatch.setenv("NBP_PROFILES", str(path))
    assert default_profiles_path() == path


def test_first_profile_is_default_when_none_is_marked(tmp_path: Path) -> None:
    profiles = load_profiles(_write(tmp_path, GOOD))
    assert [p.default for p in profiles] == [True, False]
    assert profiles[0].mem_limit_bytes == 512 * 2**20
    assert profiles[1].mem_limit_bytes == 2**30


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            GOOD.replace("mem_limit: 1073741824", "mem_limit: 2 gigs"),
            "profiles[1].mem_limit: '2 gigs' is not a size like 512M or 2G",
        ),
        (GOOD.replace("slug: big", "slug: Big_One"), "profiles[1].slug: 'Big_One' is not a slug"),
        (GOOD.replace("cpu_limit: 4", "cpu_limit: 0"), "profiles[1].cpu_limit: 0"),
        (GOOD.replace("gpus: 2", "gpus: -1"), "profiles[1].gpus: -1"),
        (GOOD.replace("gpus: 2", "gpu_count: 2"), "profiles[1].gpu_count: unknown field"),
        (GOOD.replace("kernels: [nbplatform-gpu]", "kernels: []"), "profiles[1].kernels: must"),
        (GOOD.replace("groups: [viewer]", "groups: []"), "profiles[0].groups: must not be empty"),
        (GOOD.replace("    display_name: Small\n", ""), "profiles[0].display_name: required"),
        (GOOD.replace("display_name: Small", "display_name: ''"), "profiles[0].display_name"),
        (GOOD.replace("kernels: [nbplatform-cpu]", "kernels: ['a b']"), "profiles[0].kernels"),
        (GOOD.replace("slug: big", "slug: small"), "profiles: slug 'small' is used by"),
        (
            GOOD.replace("gpus: 2", "gpus: 2\n    default: true").replace(
                "cpu_limit: 0.5", "cpu_limit: 0.5\n    default: true"
            ),
            "profiles: more than one profile has default: true (small, big)",
        ),
        ("profiles: []\n", "profiles: must not be empty"),
        ("profiles:\n  - 3\n", "profiles[0]: must be a mapping"),
        (GOOD + "extra: 1\n", "extra: unknown field"),
        ("{}\n", "profiles: required field is missing"),
        ("- slug: a\n", "the top level must be a mapping with a 'profiles' list, got a list"),
        ("", "got an empty file"),
        ("profiles:\n  - slug: [a\n", "line 3, column 1: YAML syntax error"),
    ],
)
def test_malformed_file_names_the_file_and_the_field(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ProfileConfigError) as info:
        load_profiles(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert isinstance(info.value, ConfigurationError)


def test_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ProfileConfigError, match="no such profiles file.*NBP_PROFILES"):
        load_profiles(tmp_path / "nope.yaml")


def test_profiles_for_groups() -> None:
    profiles = load_profiles(REPO_PROFILES)
    assert [p.slug for p in profiles_for_groups(profiles, ["viewer"])] == ["cpu-small"]
    assert [p.slug for p in profiles_for_groups(profiles, ["data-scientist", "x"])] == [
        "cpu-small",
        "cpu-large",
        "gpu",
    ]
    assert profiles_for_groups(profiles, []) == []
    assert profiles_for_groups(profiles, iter(["platform-admin"]))[-1].slug == "gpu"


def test_choose_profile_is_the_one_decision() -> None:
    profiles = load_profiles(REPO_PROFILES)
    # None or "" is the user's default among the profiles they may use.
    assert choose_profile(profiles, None, "ann", ["data-scientist"]).slug == "cpu-small"
    assert choose_profile(profiles, "", "vic", ["viewer"]).slug == "cpu-small"
    assert choose_profile(profiles, "gpu", "ann", ["data-scientist"]).slug == "gpu"
    with pytest.raises(PermissionDeniedError, match="'gpu' is not available to vic.*viewer"):
        choose_profile(profiles, "gpu", "vic", ["viewer"])
    with pytest.raises(PermissionDeniedError, match="nobody may use no profile.*none"):
        choose_profile(profiles, None, "nobody", [])
    with pytest.raises(InvalidParameterError, match="Unknown profile 'huge'.*cpu-small"):
        choose_profile(profiles, "huge", "ann", ["data-scientist"])
    with pytest.raises(InvalidParameterError, match="must be a profile slug"):
        choose_profile(profiles, ["gpu"], "ann", ["data-scientist"])


def test_get_profile_lists_known_slugs() -> None:
    profiles = load_profiles(REPO_PROFILES)
    with pytest.raises(NotFoundError, match="'huge'.*cpu-small, cpu-large, gpu"):
        get_profile(profiles, "huge")


def test_default_profile_of_nothing_is_not_found() -> None:
    with pytest.raises(NotFoundError, match="No profile is available"):
        default_profile([])


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("512M", 512 * 2**20),
        ("2G", 2 * 2**30),
        ("1.5G", 3 * 2**29),
        ("2g", 2 * 2**30),
        ("64K", 64 * 1024),
        ("1T", 2**40),
        ("1000", 1000),
        (" 3 M ", 3 * 2**20),
        (4096, 4096),
    ],
)
def test_parse_size(text: str | int, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["2 gigs", "G", "", "-1G", "1.2.3M", "2Gi", -5, True])
def test_parse_size_refuses_junk(text: str | int) -> None:
    with pytest.raises(InvalidParameterError, match="is not a size"):
        parse_size(text)


@pytest.mark.parametrize("size", [1, 1000, 1024, 512 * 2**20, 3 * 2**29, 16 * 2**30, 2**40])
def test_format_size_round_trips(size: int) -> None:
    assert parse_size(format_size(size)) == size
