"""The notebooks the platform ships as job templates (materialize features, check drift).

A command that schedules one copies it into your workspace unless a file is
already there, so you may edit it freely; the job then runs your copy.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .errors import InvalidParameterError


def template(name: str) -> Path:
    """The packaged template ``templates/<name>``."""
    from importlib.resources import files

    return Path(str(files("nbplatform").joinpath(f"templates/{name}")))


def workspace() -> Path:
    """Your workspace: ``NBP_HOME/users/<you>`` when it is here, else your home."""
    home, user = os.environ.get("NBP_HOME"), os.environ.get("JUPYTERHUB_USER")
    if home and user and (Path(home) / "users" / user).is_dir():
        return Path(home) / "users" / user
    return Path.home()


def place_notebook(notebook: str, root: Path, source: Path) -> tuple[str, bool]:
    """Copy ``source`` to ``notebook`` (relative to ``root``) unless a file is there.

    Returns:
        The notebook's path relative to ``root`` (POSIX), and whether it was copied.

    Raises:
        InvalidParameterError: ``notebook`` is outside ``root`` or not an ``.ipynb`` file.
    """
    path = Path(notebook).expanduser()
    if path.is_absolute():
        if not path.resolve().is_relative_to(root.resolve()):
            raise InvalidParameterError(f"notebook: {notebook} is not inside your workspace {root}")
        path = path.resolve().relative_to(root.resolve())
    if path.suffix != ".ipynb" or ".." in path.parts:
        raise InvalidParameterError(
            f"notebook: {notebook} must be a .ipynb file inside your workspace"
        )
    target = root / path
    if target.exists():
        return path.as_posix(), False
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return path.as_posix(), True
