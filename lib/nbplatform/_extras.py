"""Heavy dependencies of the library: imported on first use, from an extra.

``pip install nbplatform`` is the REST client and the ``nbplatform`` command;
MLflow, torch, Feast, Evidently, SHAP and Dask come with extras
(``nbplatform[ml]``, ``[features]``, ``[drift]``, ``[dask]``, ``[all]``).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import ConfigurationError


def require(module: str, extra: str, user: str, package: str | None = None) -> ModuleType:
    """Import ``module``, or say which extra brings it.

    Args:
        module: The module to import (``mlflow``, ``pandas``...).
        extra: The extra of ``nbplatform`` that installs it (``ml``...).
        user: Who needs it, for the message (``nbp.registry``).
        package: Its name in the message (``module`` when omitted).

    Returns:
        The module.

    Raises:
        ConfigurationError: ``module`` is not installed, naming the ``pip install``
            that brings it. An installed module failing to import raises as is.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name is None or e.name.split(".")[0] != module.split(".")[0]:
            raise
        raise ConfigurationError(
            f"{user} needs {package or module}: pip install 'nbplatform[{extra}]'"
        ) from e
