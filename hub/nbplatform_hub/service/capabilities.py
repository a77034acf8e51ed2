"""Capabilities: what plugs into the platform service, through an entry-point group.

The platform service is a host. Its own resources (health, ``api/me``, the audit
log, permissions) are always there; everything else is a *capability* (models,
jobs, and next features and drift) that a package registers in the entry-point
group :data:`ENTRY_POINT_GROUP`::

    [project.entry-points."nbplatform.capabilities"]
    jobs = "nbplatform_jobs.capability:capability"

The entry point names a :class:`Capability`: the modules of its REST resources
(each with a ``routes`` list of ``(path, handler class)``), the folder of its
Alembic migrations (its own version table, in the platform database) and a
``setup`` called once when the service starts, after the migrations. The service
migrates the host's tables and then each capability's, once, at start
(:func:`migrate`), never per request.

A capability imports the host only through :mod:`nbplatform_hub.host`; the host
never imports a capability by name.
"""

from __future__ import annotations

import fcntl
import importlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

from sqlalchemy import Engine

from nbplatform.errors import ConfigurationError

log = logging.getLogger("nbplatform.service")

#: The entry-point group capabilities register in.
ENTRY_POINT_GROUP = "nbplatform.capabilities"

#: The host's own resources, mounted before any capability's.
HOST_RESOURCES: tuple[str, ...] = (
    "nbplatform_hub.service.handlers.health",
    "nbplatform_hub.service.handlers.me",
    "nbplatform_hub.service.handlers.audit",
    "nbplatform_hub.service.handlers.permissions",
)


@dataclass(frozen=True)
class Capability:
    """One capability of the platform service.

    Attributes:
        name: Short name (``jobs``); also the key of its state on the context.
        resources: Dotted names of its resource modules, each with ``routes``.
        migrations: Its Alembic script folder, or ``None`` when it has no tables.
            The folder's ``env.py`` names its own version table.
        setup: Called once at service start with the service context, after the
            migrations; what it returns is kept as ``context.state[name]``.
        scopes: The platform scopes its resources check (documentation, and the
            check that each is a scope of :mod:`nbplatform_hub.roles`).
        services: ``(python, environment) -> [service, ...]``: processes the hub
            runs for it (``c.JupyterHub.services`` entries), given the platform's
            interpreter and the environment every platform process gets.
        env_prefixes: Prefixes of the environment variables its settings read
            (``NBP_FEATURES_``); the hub passes them to the platform service.
    """

    name: str
    resources: tuple[str, ...]
    migrations: Path | None = None
    setup: Callable[[Any], Any] | None = None
    scopes: tuple[str, ...] = field(default_factory=tuple)
    services: Callable[[str, Mapping[str, str]], list[dict[str, Any]]] | None = None
    env_prefixes: tuple[str, ...] = field(default_factory=tuple)

    def modules(self) -> list[ModuleType]:
        """Import and return the capability's resource modules."""
        return [importlib.import_module(name) for name in self.resources]


def _models() -> Capability:
    from ..roles import MODELS_APPROVE, MODELS_READ, MODELS_WRITE

    return Capability(
        name="models",
        resources=(
            "nbplatform_hub.service.handlers.models",
            "nbplatform_hub.service.handlers.promotions",
            "nbplatform_hub.service.handlers.replays",
            "nbplatform_hub.service.handlers.mlflow_gateway",
        ),
        # Its tables (promotions, ownership) are in the host's chain: they came first.
        scopes=(MODELS_READ, MODELS_WRITE, MODELS_APPROVE),
    )


#: The model registry, gateway and promotions (registered by ``nbplatform-hub``).
MODELS = _models()


def load_capabilities(group: str = ENTRY_POINT_GROUP) -> list[Capability]:
    """Every installed capability, sorted by name.

    Raises:
        ConfigurationError: An entry point does not name a :class:`Capability`,
            or two capabilities share a name.
    """
    found: dict[str, Capability] = {}
    for point in entry_points(group=group):
        capability = point.load()
        if not isinstance(capability, Capability):
            raise ConfigurationError(
                f"The entry point {point.name} = {point.value} in {group} is not a Capability."
            )
        if capability.name in found:
            raise ConfigurationError(f"Two capabilities are named {capability.name!r}.")
        found[capability.name] = capability
    return [found[name] for name in sorted(found)]


def resource_modules(capabilities: Iterable[Capability] | None = None) -> list[ModuleType]:
    """The host's resource modules, then each capability's."""
    modules = [importlib.import_module(name) for name in HOST_RESOURCES]
    for capability in load_capabilities() if capabilities is None else capabilities:
        modules += capability.modules()
    return modules


def upgrade(engine: Engine, scripts: Path, home: Path, revision: str = "head") -> None:
    """Run one Alembic chain to ``revision``, one process at a time on this machine.

    The platform service and the scheduler both migrate at start; a lock file
    under ``NBP_HOME/platform`` keeps them from migrating at once.

    Args:
        engine: The platform database.
        scripts: The chain's Alembic script folder.
        home: ``NBP_HOME``.
        revision: Target revision.
    """
    from alembic import command

    from .db import alembic_config

    config = alembic_config(engine, scripts)
    lock_path = home / "platform" / "migrate.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            command.upgrade(config, revision)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def migrate(engine: Engine, home: Path, capabilities: Iterable[Capability]) -> None:
    """Migrate the host's tables, then each capability's (at service start)."""
    from .db import MIGRATIONS

    upgrade(engine, MIGRATIONS, home)
    for capability in capabilities:
        if capability.migrations is not None:
            upgrade(engine, capability.migrations, home)


def hub_services(python: str, environment: Mapping[str, str]) -> list[dict[str, Any]]:
    """The hub services every installed capability asks for (:attr:`Capability.services`)."""
    services: list[dict[str, Any]] = []
    for capability in load_capabilities():
        if capability.services is not None:
            services += capability.services(python, environment)
    return services


def capability_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables of ``environ`` that installed capabilities' settings read."""
    prefixes = tuple(p for c in load_capabilities() for p in c.env_prefixes)
    if not prefixes:
        return {}
    return {name: value for name, value in environ.items() if name.startswith(prefixes)}


def start(context: Any, capabilities: Iterable[Capability]) -> None:
    """Call each capability's ``setup`` once, keeping what it returns on the context."""
    for capability in capabilities:
        state = capability.setup(context) if capability.setup else None
        context.state[capability.name] = state
        log.info("capability %s: %d resource modules", capability.name, len(capability.resources))
