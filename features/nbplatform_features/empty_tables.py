"""The first, empty table of a push-fed view, made by the apply that defines it.

A feature view fed by a push source keeps its history in the push source's
batch file. Users cannot write the platform's feature data folder
(``NBP_HOME/features/data``), so when that file is missing and lies in that
folder, an apply makes it: an empty parquet table with the view's columns (its
entities' join keys, the timestamp and created columns, its features), and
rows arrive through the push source. Files in an admin's other data roots are
never made. Whatever :func:`make_missing` made is taken back with
:func:`take_back` when the apply fails (or is a dry run), so a failed apply
writes nothing.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbplatform.errors import InvalidParameterError

from .definitions import Definition


@dataclass
class Made:
    """The files and folders an apply made (to take back if it fails)."""

    files: list[Path] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)


def _arrow_type(dtype: Any, where: str, column: str) -> Any:
    """The pyarrow type of a Feast type (or value type)."""
    import pyarrow as pa

    name = getattr(dtype, "name", None) or str(dtype)
    name = str(name).upper().removeprefix("VALUETYPE.")
    types = {
        "FLOAT32": pa.float32(),
        "FLOAT": pa.float32(),
        "FLOAT64": pa.float64(),
        "DOUBLE": pa.float64(),
        "INT32": pa.int32(),
        "INT64": pa.int64(),
        "STRING": pa.string(),
        "BOOL": pa.bool_(),
        "BYTES": pa.binary(),
        "UNIX_TIMESTAMP": pa.timestamp("ns", tz="UTC"),
        "UNIXTIMESTAMP": pa.timestamp("ns", tz="UTC"),
    }
    if name not in types:
        raise InvalidParameterError(
            f"{where}: the column {column!r} is a {name}, which an empty table cannot be made "
            "with; ask a platform admin to put the data in the feature data folder."
        )
    return types[name]


def _missing_file(view: Any, data_dir: Path) -> Path | None:
    """The push source's batch file of ``view`` when it is missing in ``data_dir``."""
    from feast import FileSource, PushSource

    source = view.stream_source if isinstance(view.stream_source, PushSource) else None
    if source is None and isinstance(view.batch_source, PushSource):
        source = view.batch_source
    batch = getattr(source, "batch_source", None)
    if source is None or not isinstance(batch, FileSource):
        return None
    uri = batch.path
    if "://" in uri and not uri.startswith("file://"):
        return None
    path = Path(uri.removeprefix("file://"))
    path = path if path.is_absolute() else data_dir / path
    real, top = Path(os.path.realpath(path)), Path(os.path.realpath(data_dir))
    if top not in real.parents or path.exists() or path.is_symlink():
        return None
    return path


def _schema(view: Any, entities: Mapping[str, Any], where: str) -> Any:
    """The columns of ``view``'s push-fed table."""
    import pyarrow as pa

    batch = (view.stream_source or view.batch_source).batch_source
    when = pa.timestamp("ns", tz="UTC")
    columns: dict[str, Any] = {}
    for name in view.entities:
        entity = entities.get(name)
        if entity is None or name == "__dummy":
            continue
        if str(getattr(entity.value_type, "name", entity.value_type)).upper() == "UNKNOWN":
            raise InvalidParameterError(
                f"{where}: the entity {name!r} has no value_type, so the empty table of this "
                f"push-fed view cannot have its {entity.join_key!r} column; give the Entity a "
                "value_type (e.g. ValueType.INT64)."
            )
        columns[entity.join_key] = _arrow_type(entity.value_type, where, entity.join_key)
    if batch.timestamp_field:
        columns[batch.timestamp_field] = when
    for feature in view.features:
        columns[feature.name] = _arrow_type(feature.dtype, where, feature.name)
    if batch.created_timestamp_column:
        columns[batch.created_timestamp_column] = when
    return pa.schema(list(columns.items()))


def make_missing(
    definitions: list[Definition], entities: Mapping[str, Any], data_dir: Path
) -> Made:
    """Make the empty tables of the push-fed views whose batch file is missing.

    Raises:
        InvalidParameterError: A column's type has no empty-table form (naming the
            view's file and name); what was made before is taken back.
    """
    import pyarrow.parquet as pq

    made = Made()
    try:
        for definition in definitions:
            if definition.kind != "feature_view":
                continue
            path = _missing_file(definition.obj, data_dir)
            if path is None:
                continue
            schema = _schema(definition.obj, entities, definition.where())
            missing = []
            for folder in [path.parent, *path.parent.parents]:
                if folder.exists() or folder == data_dir:
                    break
                missing.append(folder)
            for folder in reversed(missing):
                folder.mkdir(mode=0o750)
                made.folders.append(folder)
            pq.write_table(schema.empty_table(), path)
            made.files.append(path)
    except Exception:
        take_back(made)
        raise
    return made


def take_back(made: Made) -> None:
    """Remove what :func:`make_missing` made (files, then the folders it made)."""
    for path in made.files:
        path.unlink(missing_ok=True)
    for folder in reversed(made.folders):
        with contextlib.suppress(OSError):  # something else is in it now
            folder.rmdir()
    made.files.clear()
    made.folders.clear()
