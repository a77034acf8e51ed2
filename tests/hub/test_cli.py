from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import yaml
from click.testing import CliRunner

from nbplatform_hub.cli import main


def test_render_k8s_prints_helm_values():
    result = CliRunner().invoke(main, ["render-k8s"])
    assert result.exit_code == 0, result.output
    values = yaml.safe_load(result.output)
    slugs = [p["slug"] for p in values["singleuser"]["profileList"]]
    assert slugs == ["cpu-small", "cpu-large", "gpu"]
    assert "platform-admin" in values["hub"]["loadRoles"]
    assert (
        "custom:nbplatform:models:approve" in values["hub"]["config"]["JupyterHub"]["custom_scopes"]
    )


def test_render_k8s_writes_a_file(tmp_path):
    out = tmp_path / "values.yaml"
    result = CliRunner().invoke(main, ["render-k8s", "-o", str(out), "--image", "me/img:1"])
    assert result.exit_code == 0, result.output
    assert "me/img" in out.read_text()


def test_render_k8s_bad_profiles_is_one_clear_line(tmp_path):
    bad = tmp_path / "p.yaml"
    bad.write_text("profiles:\n  - slug: Bad Slug\n")
    result = CliRunner().invoke(main, ["render-k8s", "--profiles", str(bad)])
    assert result.exit_code == 2
    assert str(bad) in result.output and "profiles[0]" in result.output


def test_version():
    result = CliRunner().invoke(main, ["--version"])
    assert "nbplatform, version 0.1.0" in result.output


def test_python_dash_m_has_every_command_of_the_console_script():
    module = subprocess.run(
        [sys.executable, "-m", "nbplatform_hub.cli", "jobs", "--help"],
        capture_output=True,
        text=True,
    )
    script = CliRunner().invoke(main, ["jobs", "--help"], prog_name="nbplatform")
    assert module.returncode == 0, module.stderr
    usage = "python -m nbplatform_hub.cli jobs"
    assert script.exit_code == 0 and usage in module.stdout
    assert module.stdout.replace(usage, "nbplatform jobs") == script.output


def test_the_library_command_gets_the_hub_commands_from_entry_points():
    import nbplatform.cli

    assert main is nbplatform.cli.main
    names = {ep.name for ep in entry_points(group=nbplatform.cli.COMMANDS_GROUP)}
    assert {"up", "render-k8s"} <= names
    # A fresh process that never imports nbplatform_hub itself, like the console script.
    listing = subprocess.run(
        [sys.executable, "-m", "nbplatform.cli", "--help"], capture_output=True, text=True
    )
    assert listing.returncode == 0, listing.stderr
    commands = listing.stdout.split("Commands:")[1].split()
    assert {"jobs", "render-k8s", "up"} <= set(commands)
    up = subprocess.run(
        [sys.executable, "-m", "nbplatform.cli", "up", "--help"], capture_output=True, text=True
    )
    assert up.returncode == 0 and "jupyterhub_config.py" in up.stdout, up.stderr
