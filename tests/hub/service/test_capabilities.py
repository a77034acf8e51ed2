"""Capabilities plug into the service through an entry-point group; imports run one way."""

from __future__ import annotations

import ast
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
import sqlalchemy as sa

from nbplatform.errors import ConfigurationError
from nbplatform_hub.service import capabilities
from nbplatform_hub.service.db import connect

REPO = Path(__file__).resolve().parents[3]


def imports_of(folder: Path) -> dict[str, set[str]]:
    """Every module a package's files import, by file."""
    found: dict[str, set[str]] = {}
    for path in folder.rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        found[str(path.relative_to(REPO))] = names
    return found


def test_the_installed_capabilities_are_found():
    installed = {c.name: c for c in capabilities.load_capabilities()}
    assert {"models", "jobs", "drift"} <= set(installed)
    modules = [m.__name__ for m in capabilities.resource_modules(installed.values())]
    # The host's own resources first, then each capability's.
    assert modules[: len(capabilities.HOST_RESOURCES)] == list(capabilities.HOST_RESOURCES)
    assert "nbplatform_jobs.api.runs" in modules
    assert all(m.routes for m in capabilities.resource_modules(installed.values()))


def test_capability_scopes_are_platform_scopes():
    from nbplatform_hub.roles import ALL_SCOPES

    for capability in capabilities.load_capabilities():
        assert capability.scopes and set(capability.scopes) <= set(ALL_SCOPES), capability.name


def test_an_entry_point_that_is_no_capability_is_refused(monkeypatch):
    point = EntryPoint("broken", "nbplatform_hub.roles:ROLE_NAMES", capabilities.ENTRY_POINT_GROUP)
    monkeypatch.setattr(capabilities, "entry_points", lambda group: [point])
    with pytest.raises(ConfigurationError, match="broken.*is not a Capability"):
        capabilities.load_capabilities()


def test_two_capabilities_of_one_name_are_refused(monkeypatch):
    point = EntryPoint("jobs", "nbplatform_jobs.capability:capability", "g")
    monkeypatch.setattr(capabilities, "entry_points", lambda group: [point, point])
    with pytest.raises(ConfigurationError, match="Two capabilities are named 'jobs'"):
        capabilities.load_capabilities()


def test_migrate_runs_the_host_chain_then_each_capability(tmp_path):
    engine = connect(f"sqlite:///{tmp_path / 'platform.sqlite'}")
    installed = capabilities.load_capabilities()
    capabilities.migrate(engine, tmp_path, installed)
    tables = set(sa.inspect(engine).get_table_names())
    assert {"alembic_version", "alembic_version_jobs", "audit_log", "jobs", "job_runs"} <= tables
    assert {"alembic_version_drift", "drift_monitors", "drift_checks"} <= tables
    capabilities.migrate(engine, tmp_path, installed)  # a second start changes nothing
    assert set(sa.inspect(engine).get_table_names()) == tables


def test_start_keeps_what_each_setup_returns():
    class Context:
        state: dict = {}

    seen = []
    one = capabilities.Capability("one", (), setup=lambda ctx: seen.append(ctx) or "state")
    two = capabilities.Capability("two", ())
    capabilities.start(Context, [one, two])
    assert Context.state == {"one": "state", "two": None} and seen == [Context]


CAPABILITIES = ("nbplatform_jobs", "nbplatform_features", "nbplatform_drift")


def test_the_host_never_imports_a_capability():
    for path, names in imports_of(REPO / "hub" / "nbplatform_hub").items():
        assert not any(n.startswith(CAPABILITIES) for n in names), path


@pytest.mark.parametrize(
    "package", ["jobs/nbplatform_jobs", "features/nbplatform_features", "drift/nbplatform_drift"]
)
def test_capabilities_import_the_host_only_through_its_public_module(package):
    for path, names in imports_of(REPO / package).items():
        hub = {n for n in names if n.startswith("nbplatform_hub")}
        assert hub <= {"nbplatform_hub", "nbplatform_hub.host"} | {
            n for n in hub if n.startswith("nbplatform_hub.host.")
        }, (path, hub)
        other = [c for c in CAPABILITIES if not package.endswith(c)]
        assert not any(n.startswith(tuple(other)) for n in names), path


def test_the_library_imports_none_of_them():
    for path, names in imports_of(REPO / "lib" / "nbplatform").items():
        assert not any(n.startswith(("nbplatform_hub", *CAPABILITIES)) for n in names), path
