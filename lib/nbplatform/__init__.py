"""nbplatform: the platform library imported in notebooks (``import nbplatform as nbp``).

Importing it is cheap: submodules and their heavy dependencies (MLflow, Feast,
Evidently, SHAP, torch) load on first use, e.g. ``nbp.config`` or
``nbp.registry`` the first time they are touched. ``pip install nbplatform``
is the REST client and the ``nbplatform jobs`` command; the heavy parts are
extras (``nbplatform[ml]``, ``[features]``, ``[drift]``, ``[dask]``, ``[kernel]``,
``[all]``), and using one without it says which to install.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import NbplatformError

__version__ = "0.1.0"

_SUBMODULES = (
    "client",
    "compute",
    "config",
    "display",
    "drift",
    "errors",
    "explain",
    "features",
    "jobs",
    "kernel",
    "registry",
    "lineage",
    "widgets",
)

if TYPE_CHECKING:  # pragma: no cover
    from . import (  # noqa: F401
        client,
        compute,
        config,
        display,
        drift,
        errors,
        explain,
        features,
        jobs,
        kernel,
        lineage,
        registry,
        widgets,
    )
    from .display import Me


def __getattr__(name: str) -> Any:
    """Import submodules on first access (PEP 562)."""
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'nbplatform' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_SUBMODULES])


def me() -> Me:
    """Return who the platform thinks you are: name, groups, roles and scopes.

    Returns:
        The platform service's ``api/me`` answer: a dict that shows as a table.
    """
    from .client import PlatformClient
    from .display import Me

    return Me(PlatformClient().me())


__all__ = ["NbplatformError", "__version__", "me"]
