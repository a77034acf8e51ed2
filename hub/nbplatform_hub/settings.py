"""Settings of one platform installation, read from ``NBP_*`` environment variables.

Every path the platform writes to lies under ``NBP_HOME``; deleting that folder
resets the platform.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from nbplatform.errors import ConfigurationError

from .isolation import check_prefix

#: The repository (or source tree) root: ``hub/nbplatform_hub/../..``.
REPO_ROOT = Path(__file__).resolve().parent.parent.parent


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a whole number.") from None


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigurationError(f"{name}={raw!r} is not a yes or no: use 1 or 0.")


def _list(env: Mapping[str, str], name: str, default: str) -> list[str]:
    raw = env.get(name, default)
    return [item.strip() for item in raw.split(",") if item.strip()]


@dataclass(frozen=True)
class Settings:
    """Where the platform keeps its state and how it is reached.

    Attributes:
        home: ``NBP_HOME``, the folder holding all state.
        ip: ``NBP_IP``, the address the public proxy listens on.
        port: ``NBP_PORT``, the public port.
        hub_port: ``NBP_HUB_PORT``, the hub's own port (loopback).
        proxy_api_port: ``NBP_PROXY_API_PORT``, the proxy's REST API port (loopback).
        service_port: ``NBP_SERVICE_PORT``, the platform service's port (loopback).
        admin_users: ``NBP_ADMIN_USERS``, comma-separated first admins.
        admin_password: ``NBP_ADMIN_PASSWORD``; generated on first start when unset.
        admin_token: ``NBP_ADMIN_TOKEN``, accepted as an API token of the first admin.
        profiles_path: ``NBP_PROFILES``, the profiles YAML file.
        default_group: ``NBP_DEFAULT_GROUP``, the platform group of new users.
        idle_timeout: ``NBP_IDLE_TIMEOUT``, seconds of inactivity before a server is culled.
        cull_every: ``NBP_CULL_EVERY``, seconds between culler passes.
        spawn_timeout: ``NBP_SPAWN_TIMEOUT``, seconds a new server may take to start
            and to answer over HTTP (JupyterHub's ``start_timeout`` and ``http_timeout``).
        memory_enforcement: ``NBP_MEMORY_ENFORCEMENT``: auto, cgroup, watchdog or none.
        authenticator: ``NBP_AUTHENTICATOR``: ``native`` or ``generic-oauth``.
        mlflow_backend_uri: ``NBP_MLFLOW_BACKEND_URI``, MLflow's backend store
            (SQLite under ``NBP_HOME/mlflow`` when unset; PostgreSQL at scale).
        mlflow_artifacts: ``NBP_MLFLOW_ARTIFACTS``, where MLflow keeps artifacts
            (a folder under ``NBP_HOME/mlflow`` when unset; ``s3://...`` at scale).
        protected_aliases: ``NBP_PROTECTED_ALIASES``, comma-separated model aliases
            only platform-admins may move (``champion`` by default).
        promotion_self_approval: ``NBP_PROMOTION_SELF_APPROVAL=1``: whoever asked
            for a promotion may approve it (one-person teams); off by default, so
            a second person decides, and no protected alias moves without a request.
        promotion_review: ``NBP_PROMOTION_REVIEW``: a promotion request runs the
            review notebook as a job of the requester's (on by default; ``0`` turns
            it off, e.g. where no jobs capability runs).
        demo: ``NBP_DEMO`` (on unless ``0``): the first start on a fresh home seeds
            the demo (see :mod:`nbplatform_hub.demo`).
        isolation: ``NBP_ISOLATION``: ``auto`` (one system user per platform user
            when the hub runs as root), ``on`` (refuse to start without) or ``off``;
            ``nbplatform up`` resolves ``auto`` to ``on`` or ``off`` for every process
            it starts (see :mod:`nbplatform_hub.isolation`).
        require_isolation: ``NBP_REQUIRE_ISOLATION=1``: refuse to start without isolation.
        system_user_prefix: ``NBP_SYSTEM_USER_PREFIX``, the start of each platform
            user's system user name (``jupyter-``).
        platform_db_url: ``NBP_PLATFORM_DB_URL``, the platform database (SQLite
            under ``NBP_HOME/platform`` when unset; PostgreSQL at scale).
        hub_db_url: ``NBP_HUB_DB_URL``, JupyterHub's own database of users, groups
            and tokens (SQLite under ``NBP_HOME/hub`` when unset; PostgreSQL at scale).
        webhook_allow: ``NBP_WEBHOOK_ALLOW``, internal webhook destinations an
            admin allows (see :mod:`nbplatform_hub.service.notices`).
        oauth_groups_key: ``NBP_OAUTH_GROUPS_KEY``, where the OAuth provider's
            answer lists the user's groups (``oauth_user.groups``).
        python: The interpreter that runs the hub, services and servers.
    """

    home: Path
    ip: str = "127.0.0.1"
    port: int = 8000
    hub_port: int = 8081
    proxy_api_port: int = 8001
    service_port: int = 8090
    admin_users: list[str] = field(default_factory=lambda: ["admin"])
    admin_password: str | None = None
    admin_token: str | None = None
    profiles_path: Path | None = None
    default_group: str = "data-scientist"
    idle_timeout: int = 3600
    cull_every: int = 300
    spawn_timeout: int = 120
    memory_enforcement: str = "auto"
    authenticator: str = "native"
    mlflow_backend_uri: str | None = None
    mlflow_artifacts: str | None = None
    protected_aliases: list[str] = field(default_factory=lambda: ["champion"])
    promotion_self_approval: bool = False
    promotion_review: bool = True
    demo: bool = True
    isolation: str = "auto"
    require_isolation: bool = False
    system_user_prefix: str = "jupyter-"
    platform_db_url: str | None = None
    hub_db_url: str | None = None
    webhook_allow: str = ""
    oauth_groups_key: str = "oauth_user.groups"
    python: str = sys.executable

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, root: Path | None = None) -> Settings:
        """Read settings from the environment.

        Args:
            env: The environment (``os.environ`` when omitted).
            root: Folder that a relative ``NBP_HOME`` and the default ``./var`` are
                relative to (the current directory when omitted).

        Returns:
            The settings.

        Raises:
            ConfigurationError: A variable has a value that cannot be used.
        """
        env = os.environ if env is None else env
        root = Path.cwd() if root is None else root
        home = Path(env.get("NBP_HOME") or "var")
        if not home.is_absolute():
            home = root / home
        profiles = env.get("NBP_PROFILES")
        enforcement = env.get("NBP_MEMORY_ENFORCEMENT", "auto").strip() or "auto"
        if enforcement not in {"auto", "cgroup", "watchdog", "none"}:
            raise ConfigurationError(
                f"NBP_MEMORY_ENFORCEMENT={enforcement!r} is not one of "
                "auto, cgroup, watchdog, none."
            )
        authenticator = env.get("NBP_AUTHENTICATOR", "native").strip() or "native"
        if authenticator not in {"native", "generic-oauth"}:
            raise ConfigurationError(
                f"NBP_AUTHENTICATOR={authenticator!r} is not one of native, generic-oauth."
            )
        admins = _list(env, "NBP_ADMIN_USERS", "admin")
        if not admins:
            raise ConfigurationError("NBP_ADMIN_USERS is empty: name at least one admin user.")
        isolation = env.get("NBP_ISOLATION", "auto").strip().lower() or "auto"
        if isolation not in {"auto", "on", "off"}:
            raise ConfigurationError(f"NBP_ISOLATION={isolation!r} is not one of auto, on, off.")
        require = env.get("NBP_REQUIRE_ISOLATION", "").strip().lower()
        if require not in {"", "0", "1", "true", "false", "yes", "no"}:
            raise ConfigurationError(f"NBP_REQUIRE_ISOLATION={require!r} is not 1 or 0.")
        spawn_timeout = _int(env, "NBP_SPAWN_TIMEOUT", 120)
        if spawn_timeout < 1:
            raise ConfigurationError(
                f"NBP_SPAWN_TIMEOUT={spawn_timeout} must be at least 1 (seconds)."
            )
        token = env.get("NBP_ADMIN_TOKEN") or None
        if token is not None and len(token) < 16:
            raise ConfigurationError("NBP_ADMIN_TOKEN is too short: use at least 16 characters.")
        return cls(
            home=home.resolve(),
            ip=env.get("NBP_IP", "127.0.0.1") or "127.0.0.1",
            port=_int(env, "NBP_PORT", 8000),
            hub_port=_int(env, "NBP_HUB_PORT", 8081),
            proxy_api_port=_int(env, "NBP_PROXY_API_PORT", 8001),
            service_port=_int(env, "NBP_SERVICE_PORT", 8090),
            admin_users=admins,
            admin_password=env.get("NBP_ADMIN_PASSWORD") or None,
            admin_token=token,
            profiles_path=Path(profiles).resolve() if profiles else None,
            default_group=env.get("NBP_DEFAULT_GROUP", "data-scientist") or "data-scientist",
            idle_timeout=_int(env, "NBP_IDLE_TIMEOUT", 3600),
            cull_every=_int(env, "NBP_CULL_EVERY", 300),
            spawn_timeout=spawn_timeout,
            memory_enforcement=enforcement,
            authenticator=authenticator,
            mlflow_backend_uri=env.get("NBP_MLFLOW_BACKEND_URI") or None,
            mlflow_artifacts=env.get("NBP_MLFLOW_ARTIFACTS") or None,
            protected_aliases=_list(env, "NBP_PROTECTED_ALIASES", "champion"),
            promotion_self_approval=_flag(env, "NBP_PROMOTION_SELF_APPROVAL"),
            promotion_review=_flag({"NBP_PROMOTION_REVIEW": "1", **env}, "NBP_PROMOTION_REVIEW"),
            demo=_flag({"NBP_DEMO": "1", **env}, "NBP_DEMO"),
            isolation=isolation,
            require_isolation=require in {"1", "true", "yes"},
            system_user_prefix=check_prefix(
                env.get("NBP_SYSTEM_USER_PREFIX", "jupyter-").strip() or "jupyter-"
            ),
            platform_db_url=env.get("NBP_PLATFORM_DB_URL") or None,
            hub_db_url=env.get("NBP_HUB_DB_URL") or None,
            webhook_allow=env.get("NBP_WEBHOOK_ALLOW", ""),
            oauth_groups_key=env.get("NBP_OAUTH_GROUPS_KEY") or "oauth_user.groups",
        )

    # Paths under NBP_HOME -------------------------------------------------
    @property
    def hub_dir(self) -> Path:
        """Hub database, cookie secret and proxy token."""
        return self.home / "hub"

    @property
    def hub_database_url(self) -> str:
        """The hub's database: ``NBP_HUB_DB_URL`` or SQLite in ``NBP_HOME/hub``."""
        return self.hub_db_url or f"sqlite:///{self.hub_dir / 'jupyterhub.sqlite'}"

    @property
    def users_dir(self) -> Path:
        """One workspace folder per user (their server's root folder)."""
        return self.home / "users"

    @property
    def platform_dir(self) -> Path:
        """The platform service's database."""
        return self.home / "platform"

    @property
    def logs_dir(self) -> Path:
        """Logs of the services."""
        return self.home / "logs"

    @property
    def mlflow_dir(self) -> Path:
        """MLflow's default SQLite database and artifact folder."""
        return self.home / "mlflow"

    @property
    def mlflow_store_uri(self) -> str:
        """MLflow's backend store: ``NBP_MLFLOW_BACKEND_URI`` or SQLite in ``NBP_HOME``."""
        return self.mlflow_backend_uri or f"sqlite:///{self.mlflow_dir / 'mlflow.db'}"

    @property
    def mlflow_artifacts_destination(self) -> str:
        """Where MLflow's proxied artifacts go: ``NBP_MLFLOW_ARTIFACTS`` or ``NBP_HOME``."""
        return self.mlflow_artifacts or str(self.mlflow_dir / "artifacts")

    @property
    def run_dir(self) -> Path:
        """Sockets of internal servers (mode 0700: only the hub's user may connect)."""
        return self.home / "run"

    @property
    def mlflow_socket(self) -> Path:
        """The MLflow server's Unix socket (only the platform service connects to it).

        Under ``NBP_HOME/run``; where that path is longer than a socket address may be
        (about 100 bytes), under a 0700 folder in the system's temporary directory,
        named after ``NBP_HOME``.
        """
        path = self.run_dir / "mlflow.sock"
        if len(os.fsencode(path)) <= 100:
            return path
        digest = hashlib.sha256(os.fsencode(self.home)).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"nbplatform-{os.getuid()}-{digest}" / "mlflow.sock"

    @property
    def jobs_dir(self) -> Path:
        """Job runs' folders (input, output, log; ``0700``, the platform's alone)."""
        return self.home / "jobs"

    @property
    def kernels_dir(self) -> Path:
        """Connection files of job runs' kernels (``0711``; each file its owner's, ``0600``)."""
        return self.home / "kernels"

    @property
    def isolated(self) -> bool:
        """Whether each platform user's processes run as their own system user."""
        return self.isolation == "on"

    @property
    def admin_password_file(self) -> Path:
        """Where a generated admin password is kept (mode 0600)."""
        return self.home / "admin-password"

    @property
    def public_url(self) -> str:
        """The URL users open."""
        return f"http://{self.ip}:{self.port}"

    @property
    def platform_url(self) -> str:
        """The platform service's own URL on loopback (servers and kernels call it)."""
        return f"http://127.0.0.1:{self.service_port}/services/platform/"

    @property
    def proxy_executable(self) -> Path:
        """configurable-http-proxy as installed in the repository's ``node_modules``."""
        return (
            REPO_ROOT
            / "node_modules"
            / "configurable-http-proxy"
            / "bin"
            / "configurable-http-proxy"
        )

    @property
    def proxy_command(self) -> list[str]:
        """configurable-http-proxy, run by Node with the platform's strict-path preload.

        ``proxy/strict-paths.mjs`` answers 400 to paths that are not valid
        percent-encoded UTF-8, which the proxy itself would answer with a 500, and
        414 to URLs over 16 KB, read whole (hence the larger header limit) so that
        the answer reaches the client instead of a reset connection.
        """
        preload = Path(__file__).resolve().parent / "proxy" / "strict-paths.mjs"
        return [
            "node",
            "--max-http-header-size=262144",
            "--import",
            preload.as_uri(),
            str(self.proxy_executable),
        ]

    def make_dirs(self) -> None:
        """Create the folders under ``NBP_HOME``, closed to everyone but the hub's user.

        ``NBP_HOME`` is ``0700`` and so is everything in it, except, with isolation
        on, ``NBP_HOME`` itself, ``users/`` and ``kernels/``, which are ``0711``: users'
        processes may pass through to their own workspace (``0700``, theirs) and
        their job kernels' connection files, and list nothing.
        """
        for path in (
            self.home,
            self.hub_dir,
            self.users_dir,
            self.platform_dir,
            self.logs_dir,
            self.mlflow_dir,
            self.run_dir,
            self.jobs_dir,
            self.kernels_dir,
            self.mlflow_socket.parent,
        ):
            path.mkdir(parents=True, exist_ok=True)
        passage = 0o711 if self.isolated else 0o700
        for entry in self.home.iterdir():
            if entry.is_symlink():
                continue
            if entry.is_dir():
                entry.chmod(passage if entry in (self.users_dir, self.kernels_dir) else 0o700)
            else:
                entry.chmod(0o600)
        self.home.chmod(passage)
        self.mlflow_socket.parent.chmod(0o700)


def ensure_admin_password(settings: Settings) -> tuple[str, bool]:
    """Return the first admins' password, generating and storing it on first start.

    ``NBP_ADMIN_PASSWORD`` wins when set. Otherwise a password is read from
    ``NBP_HOME/admin-password`` or, on first start, generated and written there
    with mode 0600.

    Args:
        settings: The platform settings.

    Returns:
        The password and whether it was generated just now (to print it once).
    """
    if settings.admin_password:
        return settings.admin_password, False
    path = settings.admin_password_file
    if path.exists():
        return path.read_text().strip(), False
    password = secrets.token_urlsafe(12)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(password + "\n")
    return password, True
