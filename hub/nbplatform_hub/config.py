"""Build the JupyterHub configuration from :class:`~nbplatform_hub.settings.Settings`.

In the manner of The Littlest JupyterHub, each ``update_*`` function *sets*
(never appends to) one group of traits on the config object ``c``, so applying
them twice gives the same result. :func:`configure` applies them all;
``jupyterhub_config.py`` only calls it.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import replace
from typing import Any

from .profiles import default_profiles_path, load_profiles
from .roles import CUSTOM_SCOPES, ROLE_NAMES, platform_roles, server_role
from .service.mlflow_transport import SOCKET_HOST
from .settings import REPO_ROOT, Settings, ensure_admin_password

PLATFORM_SERVICE = "platform"
CULLER_SERVICE = "idle-culler"
MLFLOW_SERVICE = "mlflow"
SCHEDULER_SERVICE = "scheduler"

#: What an S3-compatible artifact store needs (``AWS_ACCESS_KEY_ID``,
#: ``AWS_SECRET_ACCESS_KEY``, ``MLFLOW_S3_ENDPOINT_URL``...): passed from the hub's
#: environment to the MLflow server alone, never to users' servers or kernels.
ARTIFACT_STORE_VARIABLES = ("AWS_", "MLFLOW_S3_")


def update_paths(c: Any, settings: Settings) -> None:
    """Keep every file the hub writes under ``NBP_HOME/hub``; its database may lie elsewhere."""
    hub_dir = settings.hub_dir
    c.JupyterHub.db_url = settings.hub_database_url
    c.JupyterHub.cookie_secret_file = str(hub_dir / "jupyterhub_cookie_secret")
    c.JupyterHub.pid_file = str(hub_dir / "jupyterhub.pid")
    c.ConfigurableHTTPProxy.pid_file = str(hub_dir / "proxy.pid")


def update_network(c: Any, settings: Settings) -> None:
    """Public proxy on ``NBP_IP:NBP_PORT``; the hub and the proxy API on loopback."""
    c.JupyterHub.bind_url = f"{settings.public_url}/"
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.hub_port = settings.hub_port
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings.proxy_api_port}"
    c.ConfigurableHTTPProxy.command = settings.proxy_command
    c.ConfigurableHTTPProxy.should_start = True
    c.JupyterHub.cleanup_servers = True
    c.JupyterHub.cleanup_proxy = True


def update_auth(c: Any, settings: Settings) -> None:
    """Log in with NativeAuthenticator (default) or a generic OAuth provider."""
    c.Authenticator.admin_users = set(settings.admin_users)
    c.Authenticator.allow_all = True
    if settings.authenticator == "generic-oauth":
        # Client id, secret and URLs come from the OAUTH_* variables that
        # GenericOAuthenticator reads itself; groups come from the provider.
        c.JupyterHub.authenticator_class = "generic-oauth"
        c.GenericOAuthenticator.manage_groups = True
        c.GenericOAuthenticator.auth_state_groups_key = settings.oauth_groups_key
        c.GenericOAuthenticator.admin_groups = {"platform-admin"}
        return
    password, generated = ensure_admin_password(settings)
    if generated:
        print(
            f"\n  First start: the password of {', '.join(settings.admin_users)} is {password}\n"
            f"  (kept in {settings.admin_password_file}, mode 0600; printed only this once)\n",
            flush=True,
        )
    c.JupyterHub.authenticator_class = "nbplatform"
    c.PlatformAuthenticator.admin_password = password
    c.PlatformAuthenticator.default_group = settings.default_group
    c.NativeAuthenticator.open_signup = False
    c.NativeAuthenticator.minimum_password_length = 8
    c.NativeAuthenticator.check_common_password = True
    if settings.admin_token:
        c.JupyterHub.api_tokens = {settings.admin_token: settings.admin_users[0]}


def update_roles(c: Any, settings: Settings) -> None:
    """Custom platform scopes, the three platform roles on their groups, service roles."""
    c.JupyterHub.custom_scopes = CUSTOM_SCOPES
    groups: dict[str, dict[str, Any]] = {name: {"users": []} for name in ROLE_NAMES}
    if settings.authenticator == "native":
        groups["platform-admin"] = {"users": list(settings.admin_users)}
    demo_roles: list[dict[str, Any]] = []
    if demo_seeding(settings):  # the demo's user, and its seeding acting as the first admin
        from . import demo

        groups["data-scientist"] = {"users": [demo.DEMO_USER]}
        demo_roles.append(
            {
                "name": "demo-seeding",
                "description": "Seeds the demo once, as the first admin.",
                "scopes": [f"tokens!user={settings.admin_users[0]}"],
                "services": [demo.SERVICE],
            }
        )
    c.JupyterHub.load_groups = groups
    c.JupyterHub.load_roles = [
        *platform_roles(PLATFORM_SERVICE),
        server_role(PLATFORM_SERVICE),
        {
            "name": "platform-service",
            "description": "The platform service looks up users, their groups and roles.",
            "scopes": ["read:users", "read:groups", "read:roles:users", "read:roles:groups"],
            "services": [PLATFORM_SERVICE],
        },
        {
            "name": "scheduler",
            "description": "The job scheduler mints short-lived tokens for job owners.",
            # Only members of the groups that may own jobs; read:users:groups to
            # check profiles of YAML definitions.
            "scopes": [
                "tokens!group=data-scientist",
                "tokens!group=platform-admin",
                "read:users:groups",
            ],
            "services": [SCHEDULER_SERVICE],
        },
        {
            "name": "idle-culler",
            "description": "Cull idle servers.",
            "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
            "services": [CULLER_SERVICE],
        },
        *demo_roles,
    ]


def platform_environment(settings: Settings) -> dict[str, str]:
    """What every platform process the hub starts (service, scheduler) is told.

    The hub's own environment is not inherited: each process gets the settings
    it reads (``ServiceSettings``, ``JobsSettings``) from here, computed once.
    """
    env = {
        "NBP_HOME": str(settings.home),
        "NBP_ISOLATION": settings.isolation,
        "NBP_SYSTEM_USER_PREFIX": settings.system_user_prefix,
        "NBP_PROFILES": str(settings.profiles_path or default_profiles_path()),
        "NBP_PLATFORM_URL": settings.platform_url,
        "NBP_WEBHOOK_ALLOW": settings.webhook_allow,
        "PATH": os.environ.get("PATH", ""),
    }
    if settings.platform_db_url:
        env["NBP_PLATFORM_DB_URL"] = settings.platform_db_url
    return env


def update_services(c: Any, settings: Settings) -> None:
    """The platform service, the idle culler, MLflow, the scheduler and capabilities' services."""
    from .service.capabilities import capability_environment, hub_services

    common = {**platform_environment(settings), **capability_environment(os.environ)}
    env = {
        **common,
        "NBP_MLFLOW_SOCKET": str(settings.mlflow_socket),
        "NBP_PROTECTED_ALIASES": ",".join(settings.protected_aliases),
        "NBP_PROMOTION_SELF_APPROVAL": "1" if settings.promotion_self_approval else "0",
        "NBP_PROMOTION_REVIEW": "1" if settings.promotion_review else "0",
    }
    c.JupyterHub.services = [
        {
            "name": PLATFORM_SERVICE,
            "display": True,
            "url": f"http://127.0.0.1:{settings.service_port}",
            "command": [settings.python, "-m", "nbplatform_hub.service"],
            "environment": env,
            "oauth_no_confirm": True,
            "oauth_client_allowed_scopes": list(CUSTOM_SCOPES),
        },
        {
            "name": CULLER_SERVICE,
            "command": [
                settings.python,
                "-m",
                "jupyterhub_idle_culler",
                f"--timeout={settings.idle_timeout}",
                f"--cull-every={settings.cull_every}",
            ],
        },
        mlflow_service(settings),
        scheduler_service(settings),
        *demo_services(settings),
        # Capabilities' own processes (Capability.services; the shipped ones need none).
        *hub_services(settings.python, common),
    ]


def mlflow_service(settings: Settings) -> dict[str, Any]:
    """The MLflow tracking server: hub-managed, on a Unix socket, never proxied.

    It has no ``url``, so the hub gives it no route, and it listens on no port:
    uvicorn binds ``NBP_HOME/run/mlflow.sock`` in a folder only the hub's user may
    enter, so local processes (users' kernels) cannot reach it; the platform
    service's authenticated gateway (``/services/platform/mlflow/``) is the only
    way in. Artifacts are served by MLflow itself (``--serve-artifacts``), so
    clients never touch the artifact store; the store's credentials and endpoint
    (:data:`ARTIFACT_STORE_VARIABLES`) are passed to MLflow alone.

    Args:
        settings: The platform settings.

    Returns:
        A ``c.JupyterHub.services`` entry.
    """
    return {
        "name": MLFLOW_SERVICE,
        "command": [
            os.path.join(os.path.dirname(settings.python), "mlflow"),
            "server",
            f"--uvicorn-opts=--uds {shlex.quote(str(settings.mlflow_socket))}",
            "--serve-artifacts",
            "--workers=1",
            f"--allowed-hosts={SOCKET_HOST}",
        ],
        "cwd": str(settings.mlflow_dir),
        "environment": {
            "PATH": os.environ.get("PATH", ""),
            # In the environment, not on the command line: every local user may read
            # /proc/<pid>/cmdline, and a PostgreSQL URI holds a password.
            "MLFLOW_BACKEND_STORE_URI": settings.mlflow_store_uri,
            "MLFLOW_ARTIFACTS_DESTINATION": settings.mlflow_artifacts_destination,
            # MLflow's GenAI job runner (prompt optimisation) starts eight worker
            # processes; the platform does not use it.
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
            # No usage reports from the server or its UI (whose telemetry worker
            # would also be one more script request for the gateway to refuse).
            "MLFLOW_DISABLE_TELEMETRY": "true",
            **{
                name: value
                for name, value in os.environ.items()
                if name.startswith(ARTIFACT_STORE_VARIABLES)
            },
        },
    }


def demo_seeding(settings: Settings) -> bool:
    """Whether this start seeds the demo (see :mod:`nbplatform_hub.demo`)."""
    from . import demo

    return settings.authenticator == "native" and demo.wanted(settings.home, settings.demo)


def demo_services(settings: Settings) -> list[dict[str, Any]]:
    """The demo's seeding service, on a fresh home unless ``NBP_DEMO=0``.

    It acts as the first admin (``tokens!user=<admin>``, granted in
    :func:`update_roles`) and finds the story in ``NBP_DEMO_NOTEBOOKS``
    (default: the repository's ``notebooks/``).
    """
    if not demo_seeding(settings):
        return []
    from . import demo

    env = {
        "NBP_HOME": str(settings.home),
        "NBP_PLATFORM_URL": settings.platform_url,
        "NBP_DEMO_ADMIN": settings.admin_users[0],
        "NBP_DEMO_NOTEBOOKS": os.environ.get("NBP_DEMO_NOTEBOOKS") or str(REPO_ROOT / "notebooks"),
        "PATH": os.environ.get("PATH", ""),
    }
    return [
        {
            "name": demo.SERVICE,
            "command": [settings.python, "-m", "nbplatform_hub.demo"],
            "environment": env,
        }
    ]


def scheduler_service(settings: Settings) -> dict[str, Any]:
    """The job scheduler (``python -m nbplatform_jobs``): hub-managed, no HTTP route.

    It reads job definitions and queued runs from the platform database, runs
    notebooks with papermill under their owners' short-lived tokens, and is
    restarted by the hub if it dies (runs it interrupted are settled at start).
    ``NBP_JOBS_*``, ``NBP_SMTP_*``, ``NBP_GPUS`` and ``NBP_PLATFORM_DB_URL`` are
    passed through.

    Args:
        settings: The platform settings.

    Returns:
        A ``c.JupyterHub.services`` entry.
    """
    env = platform_environment(settings)
    # The scheduler's own settings (nbplatform_jobs.settings) and GPU discovery.
    for name, value in os.environ.items():
        if name.startswith(("NBP_JOBS_", "NBP_SMTP_", "NBP_GPUS")):
            env[name] = value
    return {
        "name": SCHEDULER_SERVICE,
        "command": [settings.python, "-m", "nbplatform_jobs"],
        "environment": env,
    }


def update_spawner(c: Any, settings: Settings) -> None:
    """Profile spawner: per-user workspace, JupyterLab, the platform's environment."""
    profiles = settings.profiles_path or default_profiles_path()
    c.JupyterHub.spawner_class = "nbplatform"
    c.ProfileSpawner.profiles_path = str(profiles)
    c.ProfileSpawner.platform_url = settings.platform_url
    c.ProfileSpawner.memory_enforcement = settings.memory_enforcement
    # Report activity often enough for the culler to judge within a quarter of its timeout.
    c.ProfileSpawner.activity_interval = max(1, min(300, settings.idle_timeout // 4))
    c.ProfileSpawner.home_dir_template = str(settings.users_dir / "{username}")
    c.ProfileSpawner.isolated = settings.isolated
    c.ProfileSpawner.system_user_prefix = settings.system_user_prefix
    c.Spawner.cmd = [os.path.join(os.path.dirname(settings.python), "jupyterhub-singleuser")]
    c.Spawner.default_url = "/lab"
    c.Spawner.start_timeout = settings.spawn_timeout
    c.Spawner.http_timeout = settings.spawn_timeout
    c.Spawner.environment = {"NBP_HOME": str(settings.home)}
    c.JupyterHub.allow_named_servers = True
    c.JupyterHub.named_server_limit_per_user = 3


def configure(c: Any, settings: Settings | None = None) -> Settings:
    """Apply every ``update_*`` function to ``c``.

    Validates the profiles file first, so that a malformed one stops the hub with a
    message naming the file and the field.

    Args:
        c: The config object of ``jupyterhub_config.py``.
        settings: Settings; read from the environment when omitted.

    Returns:
        The settings that were applied.
    """
    settings = settings or Settings.from_env()
    if settings.isolation == "auto":  # the hub was started without `nbplatform up`
        from .preflight import check_isolation

        decision = check_isolation(settings)
        print(decision.message, flush=True)
        settings = replace(settings, isolation="on" if decision.enabled else "off")
    settings.make_dirs()
    load_profiles(settings.profiles_path or default_profiles_path())
    for update in (
        update_paths,
        update_network,
        update_auth,
        update_roles,
        update_services,
        update_spawner,
    ):
        update(c, settings)
    return settings
