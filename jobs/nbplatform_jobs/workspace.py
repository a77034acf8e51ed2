"""Notebook paths inside an owner's workspace, refusing every way out of it.

A job may also run a notebook the platform ships (``nbplatform:<name>.ipynb``,
one of :mod:`nbplatform.notebook_templates`'s), e.g. the review of a promotion
request; its kernel still starts in the owner's workspace.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from nbplatform.errors import InvalidParameterError, NotFoundError
from nbplatform.notebook_templates import template

#: How a job names a notebook the platform ships (``nbplatform:review_promotion.ipynb``).
PLATFORM_PREFIX = "nbplatform:"
_PLATFORM_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\.ipynb$")


def is_platform_notebook(notebook: str) -> bool:
    """Whether ``notebook`` names a notebook the platform ships (``nbplatform:<name>``)."""
    return notebook.startswith(PLATFORM_PREFIX)


def platform_notebook(notebook: str) -> Path:
    """The packaged notebook ``nbplatform:<name>.ipynb`` names.

    Raises:
        InvalidParameterError: Not a plain ``<name>.ipynb`` (no folder, no ``..``).
        NotFoundError: The platform ships no such notebook.
    """
    name = notebook.removeprefix(PLATFORM_PREFIX)
    if not _PLATFORM_NAME.fullmatch(name) or ".." in name:
        raise InvalidParameterError(
            f"notebook: {notebook[:200]!r} must name a notebook the platform ships as "
            f"'{PLATFORM_PREFIX}<name>.ipynb' (a plain file name, no folders)."
        )
    path = template(name)
    if not path.is_file():
        raise NotFoundError(f"notebook: the platform ships no notebook {name!r}.")
    return path


def workspace_dir(home: Path, owner: str) -> Path:
    """The owner's workspace: ``NBP_HOME/users/<owner>`` (their server's root)."""
    return home / "users" / owner


def resolve_notebook(home: Path, owner: str, notebook: str) -> Path:
    """Return the real path of ``notebook`` (relative to the owner's workspace).

    Args:
        home: ``NBP_HOME``.
        owner: The job's owner.
        notebook: A path relative to the workspace, e.g. ``notebooks/train.ipynb``,
            or ``nbplatform:<name>.ipynb`` (:func:`platform_notebook`).

    Returns:
        The resolved file path, inside the workspace (or the packaged notebook).

    Raises:
        InvalidParameterError: An absolute path, a ``..`` component, a symlink that
            leads out of the workspace, or not an ``.ipynb`` file.
        NotFoundError: No such notebook.
    """
    if any(ord(c) < 32 or ord(c) == 127 for c in notebook):
        raise InvalidParameterError(
            f"notebook: {notebook[:200]!r} contains a control character (NUL, newline...); "
            "name a notebook inside your workspace."
        )
    if is_platform_notebook(notebook):
        return platform_notebook(notebook)
    pure = PurePosixPath(notebook)
    if not notebook or pure.is_absolute() or notebook.startswith("~"):
        raise InvalidParameterError(
            f"notebook: {notebook!r} must be a path relative to your workspace, "
            "e.g. 'notebooks/train.ipynb'."
        )
    if ".." in pure.parts:
        raise InvalidParameterError(
            f"notebook: {notebook!r} contains '..'; name a notebook inside your workspace."
        )
    if pure.suffix != ".ipynb":
        raise InvalidParameterError(f"notebook: {notebook!r} is not a .ipynb file.")
    root = workspace_dir(home, owner).resolve()
    path = (root / pure).resolve()
    if not path.is_relative_to(root):
        raise InvalidParameterError(
            f"notebook: {notebook!r} leads out of {owner}'s workspace (through a symlink); "
            "jobs may only run notebooks inside it."
        )
    try:
        found = path.is_file()
    except OSError:  # a name too long, a folder that cannot be read
        found = False
    if not found:
        raise NotFoundError(f"notebook: {notebook!r} does not exist in {owner}'s workspace.")
    return path
