"""Check job parameters against the notebook's ``parameters`` cell (papermill inspection)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from nbplatform.errors import InvalidParameterError

# Python types as papermill names them (the default's type or the annotation).
_ACCEPTS: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (int, float),
    "str": (str,),
    "bool": (bool,),
    "list": (list,),
    "dict": (dict,),
}


def notebook_parameters(path: Path) -> dict[str, dict[str, Any]]:
    """Return the parameters papermill finds in the notebook's ``parameters`` cell.

    Same as ``papermill.inspect_notebook``, which refuses notebooks saved without
    kernel metadata.

    Returns:
        Name -> ``{"name", "inferred_type_name", "default", "help"}``.

    Raises:
        InvalidParameterError: The file is not a notebook.
    """
    from papermill.inspection import _infer_parameters
    from papermill.iorw import load_notebook_node

    try:
        nb = load_notebook_node(str(path))
        # Jobs run on their profile's Python kernel whatever the notebook says,
        # so a notebook saved without kernel metadata is read as Python.
        params = _infer_parameters(nb, name="python3", language="python")
    except Exception as e:  # nbformat raises several kinds
        raise InvalidParameterError(f"notebook: {path.name} cannot be read: {e}") from None
    return {p.name: p._asdict() for p in params}


def declared_type(parameter: dict[str, Any]) -> str:
    """The type name of a declared parameter: its annotation, else its default's type.

    Papermill reports annotations (``x: int = 1``) only; for ``x = 1`` the type
    is that of the default, read with :func:`ast.literal_eval`.
    """
    annotated = str(parameter.get("inferred_type_name") or "").strip()
    if annotated and annotated != "None":
        return annotated
    try:
        default = ast.literal_eval(str(parameter.get("default")))
    except (ValueError, SyntaxError):
        return ""
    return "" if default is None else type(default).__name__


def check_parameters(path: Path, parameters: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Refuse parameters the notebook does not declare or of the wrong type.

    The type of a parameter is that of its default (``x = 1`` is an ``int``; a
    float parameter also takes whole numbers); parameters whose default is
    ``None`` or whose type papermill cannot tell take any JSON value.

    Args:
        path: The notebook.
        parameters: Name -> value, as given by the user.

    Returns:
        The notebook's declared parameters.

    Raises:
        InvalidParameterError: Naming the first bad parameter.
    """
    declared = notebook_parameters(path)
    if parameters and not declared:
        raise InvalidParameterError(
            f"parameters: {path.name} has no cell tagged 'parameters', so it takes none; "
            "tag the cell that holds the defaults."
        )
    for name, value in parameters.items():
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise InvalidParameterError(
                f"parameters.{name}: {path.name} has no parameter {name!r} (it has: {known})."
            )
        type_name = declared_type(declared[name])
        accepts = _ACCEPTS.get(type_name)
        if accepts is None or value is None:
            continue
        wrong_bool = isinstance(value, bool) and bool not in accepts
        if wrong_bool or not isinstance(value, accepts):
            raise InvalidParameterError(
                f"parameters.{name}: expected {type_name} (the default is "
                f"{declared[name].get('default')}), got {type(value).__name__} {value!r}."
            )
    return declared


def coerce_parameters(
    declared: dict[str, dict[str, Any]], parameters: dict[str, Any]
) -> dict[str, Any]:
    """``parameters`` with whole numbers given to float parameters made floats.

    ``{"b": 3}`` for ``b = 2.5`` is injected as ``b = 3.0``: the notebook's code
    sees the type its default promised.
    """
    out = dict(parameters)
    for name, value in parameters.items():
        if (
            name in declared
            and declared_type(declared[name]) == "float"
            and isinstance(value, int)
            and not isinstance(value, bool)
        ):
            out[name] = float(value)
    return out
