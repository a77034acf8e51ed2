"""Notebook paths inside an owner's workspace, refusing every way out of it."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from nbplatform.errors import InvalidParameterError, NotFoundError


def workspace_dir(home: Path, owner: str) -> Path:
    """The owner's workspace: ``NBP_HOME/users/<owner>`` (their server's root)."""
    return home / "users" / owner


def resolve_notebook(home: Path, owner: str, notebook: str) -> Path:
    """Return the real path of ``notebook`` (relative to the owner's workspace).

    Args:
        home: ``NBP_HOME``.
        owner: The job's owner.
        notebook: A path relative to the workspace, e.g. ``notebooks/train.ipynb``.

    Returns:
        The resolved file path, inside the workspace.

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
