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
    "--hub-image",
    default="nbplatform/hub:latest",
    help="Hub image, also the platform service's, MLflow's and the scheduler's.",
)
@click.option("--namespace", default="nbplatform", show_default=True)
@click.option("--storage-class", default=None, help="StorageClass of the shared volume (RWX).")
@click.option("--storage-size", default="100Gi", show_default=True)
@click.option(
    "--secret",
    default="nbplatform",
    show_default=True,
    help="Secret with hub-db-url, platform-db-url, mlflow-backend-uri, ...",
)
@click.option(
    "--artifacts",
    default=None,
    help="MLflow's artifact store (s3://bucket/prefix); default: the shared volume.",
)
@click.option("--s3-endpoint", default=None, help="An S3-compatible endpoint URL.")
@click.option(
    "--authenticator",
    type=click.Choice(["native", "generic-oauth"]),
    default="native",
    show_default=True,
)
@click.option("--admin-user", "admin_users", multiple=True, help="First admin (repeatable).")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the chart values here instead of standard output.",
)
@click.option(
    "--manifests",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the platform's own objects (kubectl apply -f) here.",
)
def render_k8s(
    profiles_path: Path | None,
    image: str,
    hub_image: str,
    namespace: str,
    storage_class: str | None,
    storage_size: str,
    secret: str,
    artifacts: str | None,
    s3_endpoint: str | None,
    authenticator: str,
    admin_users: tuple[str, ...],
    output: Path | None,
    manifests: Path | None,
) -> None:
    """Render the deployment: Zero to JupyterHub values and the platform's manifests."""
    from .k8s import dump_manifests, dump_values, render_values
    from .k8s_deploy import DeploySettings, platform_values
    from .k8s_manifests import platform_manifests
    from .profiles import default_profiles_path, load_profiles

    path = profiles_path or default_profiles_path()
    try:
        profiles = load_profiles(path)
    except NbplatformError as e:
        _fail(e)
    if artifacts and not artifacts.startswith("s3://"):
        _fail(NbplatformError(f"--artifacts must be an s3:// URL, not {artifacts!r}."))
    deploy = DeploySettings(
        namespace=namespace,
        image=image,
        platform_image=hub_image,
        storage_class=storage_class,
        storage_size=storage_size,
        secret=secret,
        artifacts=artifacts,
        s3_endpoint=s3_endpoint,
        authenticator=authenticator,
        admin_users=admin_users or ("admin",),
    )
    values = render_values(
        profiles, image=image, hub_image=hub_image, extra=platform_values(deploy)
    )
    text = dump_values(values)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text)
        click.echo(f"Wrote {output}")
    if manifests is not None:
        manifests.write_text(dump_manifests(platform_manifests(deploy, path.read_text())))
        click.echo(f"Wrote {manifests}")


# The entry points bring these to the console script; adding them here too makes
# ``python -m nbplatform_hub.cli`` (and an import of ``main`` from here) whole
# without installed metadata.
for _command in (up, render_k8s):
    main.add_command(_command)

if __name__ == "__main__":  # pragma: no cover - the console script calls main too
    main()
