"""nbplatform_lab: the JupyterLab sidebar of nbplatform and its Jupyter server extension."""

from __future__ import annotations

from typing import Any

from .app import NbplatformLab

__version__ = "0.1.0"


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Tell JupyterLab where the prebuilt frontend of this package lives."""
    return [{"src": "labextension", "dest": "nbplatform-lab"}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """Tell Jupyter Server which extension app this package provides."""
    return [{"module": "nbplatform_lab", "app": NbplatformLab}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Load the extension in a server that does not use extension points.

    Servers that read :func:`_jupyter_server_extension_points` load
    :class:`NbplatformLab` directly; this is the same for older loaders.
    """
    NbplatformLab._load_jupyter_server_extension(serverapp)


__all__ = ["NbplatformLab", "__version__"]
