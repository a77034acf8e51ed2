"""REST resources of the platform service, one module each.

Every module listed in :data:`RESOURCE_MODULES` has a ``routes`` list of
``(path relative to the service prefix, handler class)``; the application mounts
them all, and the OpenAPI test checks each is documented.
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: Dotted names of the modules that define the service's REST resources.
RESOURCE_MODULES: tuple[str, ...] = (
    "nbplatform_hub.service.handlers.health",
    "nbplatform_hub.service.handlers.me",
    "nbplatform_jobs.api.jobs",
    "nbplatform_jobs.api.runs",
    "nbplatform_hub.service.handlers.models",
    "nbplatform_hub.service.handlers.promotions",
    "nbplatform_hub.service.handlers.audit",
    "nbplatform_hub.service.handlers.permissions",
    "nbplatform_hub.service.handlers.mlflow_gateway",
)


def resource_modules() -> list[ModuleType]:
    """Import and return every resource module."""
    return [importlib.import_module(name) for name in RESOURCE_MODULES]
