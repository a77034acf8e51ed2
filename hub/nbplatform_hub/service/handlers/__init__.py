"""REST resources of the platform service, one module each.

Every resource module has a ``routes`` list of ``(path relative to the service
prefix, handler class)``. The host's own modules and each installed capability's
(:mod:`..capabilities`) are mounted by the application, and the OpenAPI test
checks each is documented.
"""

from __future__ import annotations

from types import ModuleType


def resource_modules() -> list[ModuleType]:
    """Import and return every resource module: the host's, then each capability's."""
    from ..capabilities import resource_modules as modules

    return modules()
