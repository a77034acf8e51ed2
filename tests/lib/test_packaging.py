"""``pip install ./lib`` stays slim: heavy parts are extras, and say so when missing."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import pytest

import nbplatform as nbp
from nbplatform._extras import require
from nbplatform.errors import ConfigurationError

REPO = Path(__file__).resolve().parents[2]
LIB = REPO / "lib"
PROJECT = tomllib.loads((LIB / "pyproject.toml").read_text())["project"]
HEAVY = {
    "torch",
    "mlflow",
    "shap",
    "evidently",
    "feast",
    "distributed",
    "dask",
    "dask-kubernetes",
    "numpy",
    "pandas",
    "scikit-learn",
    "ipykernel",
}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_the_core_has_none_of_the_heavy_parts():
    core = {_name(r) for r in PROJECT["dependencies"]}
    assert not core & HEAVY, f"heavy in the core dependencies: {sorted(core & HEAVY)}"
    assert {"requests", "tqdm", "click"} <= core


def test_the_extras_the_issue_names_exist():
    extras = PROJECT["optional-dependencies"]
    assert {"ml", "features", "drift", "dask", "kernel", "all"} <= set(extras)
    names = {extra: {_name(r) for r in reqs} for extra, reqs in extras.items()}
    assert {"mlflow", "torch"} <= names["ml"]
    assert "feast" in names["features"]
    assert {"evidently", "shap"} <= names["drift"]
    assert {"distributed", "dask-kubernetes"} <= names["dask"]


def test_all_covers_every_extra():
    extras = PROJECT["optional-dependencies"]
    (reference,) = extras["all"]
    match = re.fullmatch(r"nbplatform\[([a-z,\s]+)\]", reference)
    assert match, f"all should be nbplatform[...], is {reference!r}"
    named = {part.strip() for part in match.group(1).split(",")}
    assert named == set(extras) - {"all"}


def test_the_console_script_is_the_librarys():
    assert PROJECT["scripts"] == {"nbplatform": "nbplatform.cli:main"}
    for other in ("hub", "jobs", "extensions/nbplatform-lab"):
        project = tomllib.loads((REPO / other / "pyproject.toml").read_text())["project"]
        assert "nbplatform" not in project.get("scripts", {}), other


def test_the_library_imports_neither_hub_nor_jobs():
    pattern = re.compile(r"^\s*(from|import)\s+nbplatform_(hub|jobs)\b", re.MULTILINE)
    offenders = [
        str(path.relative_to(LIB))
        for path in (LIB / "nbplatform").rglob("*.py")
        if pattern.search(path.read_text())
    ]
    assert offenders == []


def test_a_missing_extra_names_the_pip_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow: ModuleNotFoundError
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9/")
    with pytest.raises(ConfigurationError) as raised:
        nbp.registry.search_models()
    assert raised.value.message == "nbp.registry needs MLflow: pip install 'nbplatform[ml]'"
    assert isinstance(raised.value.__cause__, ModuleNotFoundError)


def test_a_broken_install_is_not_taken_for_a_missing_extra(tmp_path, monkeypatch):
    (tmp_path / "nbp_broken_pkg.py").write_text("import nbp_no_such_module\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="nbp_no_such_module"):
        require("nbp_broken_pkg", "ml", "nbp.test")
    with pytest.raises(ConfigurationError, match=r"pip install 'nbplatform\[drift\]'"):
        require("nbp_not_installed_either", "drift", "nbp.test")
