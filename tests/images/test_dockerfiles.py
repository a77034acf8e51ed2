"""The images' Dockerfiles, linted: pinned bases, the project's own pins, sources that exist.

No Docker daemon runs here, so the images are not built in the tests; these
rules catch what would break a build or drift from ``pyproject.toml``.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
import tomllib
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]
IMAGES = REPO / "images"
SINGLEUSER = ("singleuser-cpu.Dockerfile", "singleuser-gpu.Dockerfile")
DOCKERFILES = ("hub.Dockerfile", *SINGLEUSER)


def _instructions(path: Path) -> list[dict[str, str]]:
    parser = DockerfileParser(path=str(path))
    return [i for i in parser.structure if i["instruction"] != "COMMENT"]


def _pins() -> dict[str, Requirement]:
    """Every requirement the project's pyproject files and the Makefile pin, by name."""
    pins: dict[str, Requirement] = {}
    for pyproject in [REPO / "pyproject.toml", *REPO.glob("*/pyproject.toml")]:
        project = tomllib.loads(pyproject.read_text()).get("project", {})
        specs = [*project.get("dependencies", [])]
        for extra in project.get("optional-dependencies", {}).values():
            specs += extra
        for spec in specs:
            req = Requirement(spec)
            if req.specifier:
                pins[req.name.lower()] = req
    for spec in re.findall(r"'([A-Za-z][\w.-]*[<>=][^']*)'", (REPO / "Makefile").read_text()):
        req = Requirement(spec)
        pins.setdefault(req.name.lower(), req)
    return pins


def _ignored(path: str, patterns: list[str]) -> bool:
    for pattern in patterns:
        pattern = pattern.removeprefix("**/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(
            fnmatch.fnmatch(p, pattern) or fnmatch.fnmatch(part, pattern)
            for p in prefixes
            for part in [p.rsplit("/", 1)[-1]]
        ):
            return True
    return False


def lint(path: Path, repo: Path = REPO) -> list[str]:
    """What is wrong with the Dockerfile at ``path``; empty when nothing is."""
    problems: list[str] = []
    instructions = _instructions(path)
    ignore_file = repo / ".dockerignore"
    ignored = [
        line.strip()
        for line in (ignore_file.read_text().splitlines() if ignore_file.exists() else [])
        if line.strip() and not line.startswith("#")
    ]
    pins = _pins()
    stages: set[str] = set()
    declared: set[str] = set()
    final_user: str | None = None
    for item in instructions:
        kind, value, line = item["instruction"], item["value"], item["startline"] + 1
        if kind == "FROM":
            image, _, alias = value.partition(" AS ")
            image = image.strip()
            if image not in stages:
                tag = image.rpartition(":")[2] if ":" in image.rsplit("/", 1)[-1] else ""
                if "@sha256:" not in image and (not tag or tag == "latest"):
                    problems.append(f"line {line}: base image {image!r} is not pinned to a tag")
            stages.add(alias.strip() or image)
            final_user = None
        elif kind == "ARG":
            declared.add(value.split("=", 1)[0].strip())
        elif kind == "ENV":
            declared.update(re.findall(r"(\w+)=", value))
        elif kind == "USER":
            final_user = value.strip()
        elif kind in ("COPY", "ADD"):
            words = shlex.split(value)
            if any(w.startswith("--from=") for w in words):
                continue
            for source in [w for w in words if not w.startswith("--")][:-1]:
                if not (repo / source).exists():
                    problems.append(f"line {line}: {kind} source {source!r} does not exist")
                elif _ignored(source.rstrip("/"), ignored):
                    problems.append(f"line {line}: {kind} source {source!r} is in .dockerignore")
        elif kind == "RUN":
            for command in re.split(r"&&|;|\|\|", value):
                words = shlex.split(command.replace("\\\n", " "))
                if not words:
                    continue
                if words[:2] == ["pip", "install"]:
                    if "--no-cache-dir" not in words:
                        problems.append(f"line {line}: pip install without --no-cache-dir")
                    for word in words[2:]:
                        if word.startswith("-") or word.startswith("/") or word.startswith("$"):
                            continue
                        req = Requirement(word)
                        pin = pins.get(req.name.lower())
                        if pin is not None and req.specifier != pin.specifier:
                            problems.append(
                                f"line {line}: {word!r} is not the project's pin {str(pin)!r}"
                            )
                        elif pin is None:
                            problems.append(f"line {line}: {word!r} is pinned by no pyproject")
                if words[:2] == ["apt-get", "install"]:
                    if "--no-install-recommends" not in words:
                        problems.append(
                            f"line {line}: apt-get install without --no-install-recommends"
                        )
                    if "rm -rf /var/lib/apt/lists/*" not in value:
                        problems.append(f"line {line}: apt lists are not removed in the same RUN")
            for used in re.findall(r"\$\{?([A-Z_][A-Z0-9_]*)", value):
                if used not in declared and used not in {"PATH", "HOME"}:
                    problems.append(f"line {line}: ${used} is not declared by ARG or ENV")
    if path.name in SINGLEUSER:
        if final_user in (None, "root", "0"):
            problems.append("the final stage runs as root")
        cmd = [i["value"] for i in instructions if i["instruction"] == "CMD"]
        if not cmd or "jupyterhub-singleuser" not in cmd[-1]:
            problems.append("the CMD is not jupyterhub-singleuser")
    return problems


@pytest.mark.parametrize("name", DOCKERFILES)
def test_the_dockerfiles_pass_the_lint(name: str) -> None:
    assert lint(IMAGES / name) == []


def test_the_lint_finds_what_breaks_a_build(tmp_path: Path) -> None:
    bad = tmp_path / "bad.Dockerfile"
    bad.write_text(
        "FROM python\n"
        "COPY no-such-folder /src\n"
        "RUN apt-get update && apt-get install -y git\n"
        "RUN pip install torch==2.12.0 && pip install --no-cache-dir 'mlflow>=2,<3' $NOPE\n"
        'CMD ["jupyter", "lab"]\n'
    )
    problems = "\n".join(lint(bad))
    assert "'python' is not pinned" in problems
    assert "'no-such-folder' does not exist" in problems
    assert "--no-install-recommends" in problems and "apt lists" in problems
    assert "pip install without --no-cache-dir" in problems
    assert "'torch==2.12.0' is not the project's pin 'torch==2.13.0'" in problems
    assert "'mlflow>=2,<3' is not the project's pin 'mlflow" in problems
    assert "$NOPE is not declared" in problems
    ignored = tmp_path / "ignored.Dockerfile"
    ignored.write_text("FROM python:3.11.14-slim-bookworm\nCOPY .venv /venv\n")
    assert any(".dockerignore" in p for p in lint(ignored))
    single = tmp_path / "singleuser-cpu.Dockerfile"
    single.write_text('FROM python:3.11.14-slim-bookworm\nUSER root\nCMD ["bash"]\n')
    assert set(lint(single)) == {
        "the final stage runs as root",
        "the CMD is not jupyterhub-singleuser",
    }


@pytest.mark.parametrize("name", SINGLEUSER)
def test_single_user_images_have_the_platform_the_kernels_and_the_extension(name: str) -> None:
    text = (IMAGES / name).read_text()
    for folder in sorted(p.name for p in (REPO / "kernels").iterdir() if p.is_dir()):
        assert f"/src/kernels/{folder}" in text, folder  # every shipped kernelspec
    assert "'/src/lib[all]'" in text and "/src/jobs" in text  # job workers run notebooks
    assert "COPY extensions/nbplatform-lab" in text and "/wheels/*.whl" in text
    assert "useradd --create-home --uid 1000 --gid 100" in text and "USER 1000" in text


def test_the_hub_image_has_every_platform_package() -> None:
    text = (IMAGES / "hub.Dockerfile").read_text()
    for package in ("lib", "hub", "jobs", "features", "drift"):
        assert f"COPY {package} /src/{package}" in text
    assert "'/src/hub[postgres,s3]'" in text  # PostgreSQL and S3 drivers
    assert "'/src/jobs[kubernetes]'" in text  # the scheduler's dask-kubernetes backend


def test_the_readme_says_how_to_build_each_image() -> None:
    readme = (REPO / "README.md").read_text()
    for name in DOCKERFILES:
        assert f"docker build -f images/{name}" in readme, name
