"""The hub's commands of ``nbplatform``: ``up``, ``render-k8s``.

The ``nbplatform`` command itself, with ``nbplatform jobs ...``, is the library's
(:mod:`nbplatform.cli`); these commands plug into it through the
``nbplatform.commands`` entry points in ``hub/pyproject.toml``.
``python -m nbplatform_hub.cli`` runs the same full command.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import click

from nbplatform.cli import main
from nbplatform.errors import NbplatformError

from . import __version__
from .settings import REPO_ROOT, Settings

__all__ = ["main", "render_k8s", "up"]


def _fail(error: NbplatformError) -> None:
    click.echo(f"nbplatform: {error.message}", err=True)
    sys.exit(2)


@click.command()
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="jupyterhub_config.py to use (default: the repository's).",
)
def up(config_file: Path | None) -> None:
    """Check the machine, then run the platform in the foreground (Ctrl-C stops it)."""
    from .preflight import run_all

    try:
        settings, isolation = run_all(Settings.from_env())
    except NbplatformError as e:
        _fail(e)
    # Every process started from here (hub, proxy, services, servers) knows the
    # decision, and creates files only its own user may read.
    os.environ["NBP_ISOLATION"] = settings.isolation
    os.umask(0o077)
    if config_file is None:
        local = Path.cwd() / "jupyterhub_config.py"
        config_file = local if local.exists() else REPO_ROOT / "jupyterhub_config.py"
    hub = shutil.which("jupyterhub", path=os.path.dirname(sys.executable)) or "jupyterhub"
    click.echo(f"nbplatform {__version__}: state in {settings.home}")
    click.echo(isolation.message)
    click.echo(f"Open {settings.public_url}/ and log in as {', '.join(settings.admin_users)}.")
    sys.stdout.flush()
    os.execv(hub, [hub, "-f", str(config_file)])


@click.command("render-k8s")
@click.option(
    "--profiles",
    "profiles_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Profiles YAML (default: $NBP_PROFILES or hub/profiles.yaml).",
)
@click.option("--image", default="nbplatform/singleuser:latest", help="Single-user image.")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the values here instead of standard output.",
)
def render_k8s(profiles_path: Path | None, image: str, output: Path | None) -> None:
    """Render the profiles as a Zero to JupyterHub Helm values file."""
    from .k8s import dump_values, render_values
    from .profiles import default_profiles_path, load_profiles
    from .roles import CUSTOM_SCOPES, platform_roles, server_role

    try:
        profiles = load_profiles(profiles_path or default_profiles_path())
    except NbplatformError as e:
        _fail(e)
    values = render_values(
        profiles,
        image=image,
        extra={
            "hub": {
                "config": {"JupyterHub": {"custom_scopes": CUSTOM_SCOPES}},
                "loadRoles": {role["name"]: role for role in [*platform_roles(), server_role()]},
            }
        },
    )
    text = dump_values(values)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text)
        click.echo(f"Wrote {output}")


# The entry points bring these to the console script; adding them here too makes
# ``python -m nbplatform_hub.cli`` (and an import of ``main`` from here) whole
# without installed metadata.
for _command in (up, render_k8s):
    main.add_command(_command)

if __name__ == "__main__":  # pragma: no cover - the console script calls main too
    main()
