"""The conda environment.yml mirrors the dependency ranges of every pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
PYPROJECTS = [
    "pyproject.toml",
    "lib/pyproject.toml",
    "hub/pyproject.toml",
    "jobs/pyproject.toml",
    "features/pyproject.toml",
    "drift/pyproject.toml",
    "extensions/nbplatform-lab/pyproject.toml",
]
OUR_PACKAGES = {
    "nbplatform",
    "nbplatform-hub",
    "nbplatform-jobs",
    "nbplatform-features",
    "nbplatform-drift",
    "nbplatform-lab",
}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _normalize(requirement: str) -> str:
    name = _name(requirement)
    rest = requirement[len(name) :].replace(" ", "")
    return name + rest


def pyproject_requirements() -> dict[str, set[str]]:
    wanted: dict[str, set[str]] = {}
    for path in PYPROJECTS:
        project = tomllib.loads((REPO / path).read_text())["project"]
        requirements = list(project.get("dependencies", []))
        for extra in project.get("optional-dependencies", {}).values():
            requirements += extra
        for requirement in requirements:
            if _name(requirement) in OUR_PACKAGES:
                continue
            wanted.setdefault(_name(requirement), set()).add(_normalize(requirement))
    return wanted


def environment_requirements() -> dict[str, set[str]]:
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    found: dict[str, set[str]] = {}
    for requirement in pip:
        if requirement.startswith("-e"):
            continue
        found.setdefault(_name(requirement), set()).add(_normalize(requirement))
    return found


def test_environment_yml_mirrors_pyprojects():
    wanted, found = pyproject_requirements(), environment_requirements()
    missing = sorted(set(wanted) - set(found))
    extra = sorted(set(found) - set(wanted))
    assert not missing, f"in pyproject.toml files but not environment.yml: {missing}"
    assert not extra, f"in environment.yml but no pyproject.toml: {extra}"
    differ = {name: (wanted[name], found[name]) for name in wanted if wanted[name] != found[name]}
    assert not differ, f"ranges differ (pyproject, environment.yml): {differ}"


def test_every_dependency_has_a_range_or_pin():
    for name, specs in pyproject_requirements().items():
        for spec in specs:
            assert re.search(r"(==|>=|<|~=)", spec), f"{name} has no version range: {spec}"


def test_environment_installs_our_packages_and_python_node():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    assert any(d.startswith("python") and "3.11" in d for d in conda)
    assert any(d.startswith("nodejs") for d in conda)
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    editable = {line.split(maxsplit=1)[1] for line in pip if line.startswith("-e")}
    assert editable == {
        "./lib",
        "./hub",
        "./jobs",
        "./features",
        "./drift",
        "./extensions/nbplatform-lab",
    }
