"""Feature definitions sent to ``api/features/apply``: decoded, checked, then applied.

A client (``nbplatform features apply``) parses a definitions folder in its own
process and sends each object as Feast's serialized protobuf, with the file it
came from. The platform never runs a definition's Python: it decodes the
protobufs, checks every object (names, sources inside the data roots, columns
present, entities and views that exist, ownership), and only when all pass
applies exactly the objects it checked. On any error nothing is written, and
the message names the file and the object.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbplatform.errors import InvalidParameterError, PermissionDeniedError

#: Kinds a request may carry, in the order they are checked.
KINDS = ("entity", "data_source", "feature_view", "feature_service")
#: Kinds refused with their reason.
REFUSED_KINDS = {
    "on_demand_feature_view": "on-demand feature views run their Python on the platform's "
    "side, which the platform does not do; compute the column in the source data or "
    "in the notebook instead",
    "stream_feature_view": "stream feature views are not served by this platform; use a "
    "feature view with a push source",
}
#: Names of entities, views, services and sources.
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,127}$")
#: The most objects one apply may carry.
MAX_OBJECTS = 1000


@dataclass
class Definition:
    """One decoded object of a request.

    Attributes:
        kind: One of :data:`KINDS`.
        name: Its name (the protobuf's, checked against the request's).
        file: The definitions file it came from (for messages).
        obj: The Feast object.
    """

    kind: str
    name: str
    file: str
    obj: Any

    def where(self) -> str:
        """``<file>: <kind> '<name>'``, the start of every message about it."""
        return f"{self.file}: {self.kind} {self.name!r}"


def _proto_classes() -> dict[str, tuple[Any, Any]]:
    from feast import Entity, FeatureService, FeatureView
    from feast.data_source import DataSource
    from feast.protos.feast.core.DataSource_pb2 import DataSource as DataSourceProto
    from feast.protos.feast.core.Entity_pb2 import Entity as EntityProto
    from feast.protos.feast.core.FeatureService_pb2 import FeatureService as FeatureServiceProto
    from feast.protos.feast.core.FeatureView_pb2 import FeatureView as FeatureViewProto

    return {
        "entity": (EntityProto, Entity),
        "data_source": (DataSourceProto, DataSource),
        "feature_view": (FeatureViewProto, FeatureView),
        "feature_service": (FeatureServiceProto, FeatureService),
    }


def decode(objects: Sequence[Mapping[str, Any]]) -> list[Definition]:
    """Decode a request's objects (``{"kind", "name", "file", "proto"}``).

    Raises:
        InvalidParameterError: A kind that is refused or unknown, a proto that
            does not decode, or a name that differs from the proto's.
    """
    if not objects:
        raise InvalidParameterError("objects: send at least one definition.")
    if len(objects) > MAX_OBJECTS:
        raise InvalidParameterError(f"objects: at most {MAX_OBJECTS} definitions per apply.")
    classes = _proto_classes()
    decoded: list[Definition] = []
    seen: dict[tuple[str, str], str] = {}
    for item in objects:
        kind, name, file = item["kind"], item["name"], item["file"]
        where = f"{file}: {kind} {name!r}"
        if kind in REFUSED_KINDS:
            raise InvalidParameterError(f"{where}: refused: {REFUSED_KINDS[kind]}.")
        if kind not in classes:
            raise InvalidParameterError(f"{where}: unknown kind; send one of {', '.join(KINDS)}.")
        if not NAME.match(name):
            raise InvalidParameterError(
                f"{where}: a name is a letter or '_' followed by at most 127 letters, "
                "digits, '_', '.' or '-'."
            )
        proto_class, feast_class = classes[kind]
        try:
            raw = base64.b64decode(item["proto"], validate=True)
            proto = proto_class.FromString(raw)
            obj = feast_class.from_proto(proto)
        except (binascii.Error, ValueError, TypeError, KeyError, AttributeError) as e:
            raise InvalidParameterError(f"{where}: the definition does not decode ({e}).") from e
        except Exception as e:  # protobuf's DecodeError and Feast's own errors
            raise InvalidParameterError(f"{where}: the definition does not decode ({e}).") from e
        if obj.name != name:
            raise InvalidParameterError(
                f"{where}: the definition is named {obj.name!r}; send the name it has."
            )
        if (kind, name) in seen:
            raise InvalidParameterError(
                f"{where}: defined twice (also in {seen[(kind, name)]}); keep one."
            )
        seen[(kind, name)] = file
        decoded.append(Definition(kind, name, file, obj))
    return sorted(decoded, key=lambda d: KINDS.index(d.kind))


def _inside(path: Path, roots: Iterable[Path]) -> bool:
    real = Path(os.path.realpath(path))
    for root in roots:
        top = Path(os.path.realpath(root))
        if real == top or top in real.parents:
            return True
    return False


def check_source(source: Any, where: str, data_dir: Path, roots: Sequence[Path]) -> None:
    """Check a data source (and a push source's batch source); make file paths absolute.

    A relative file path is taken relative to ``data_dir``. The path must stay
    inside one of ``roots`` once symbolic links are followed.

    Raises:
        InvalidParameterError: Naming ``where`` and the path.
    """
    from feast import FileSource, PushSource

    if isinstance(source, PushSource):
        if source.batch_source is None:
            raise InvalidParameterError(f"{where}: a push source needs a batch_source.")
        check_source(source.batch_source, where, data_dir, roots)
        return
    if not isinstance(source, FileSource):
        raise InvalidParameterError(
            f"{where}: the source {source.name!r} is a {type(source).__name__}; the platform's "
            "offline store reads file sources (parquet) and push sources."
        )
    uri = source.path
    if "://" in uri and not uri.startswith("file://"):
        raise InvalidParameterError(
            f"{where}: the source path {uri!r} is not a local file; put the data under "
            f"{data_dir} or a folder in NBP_FEATURES_DATA_ROOTS."
        )
    path = Path(uri.removeprefix("file://"))
    if not path.is_absolute():
        path = data_dir / path
    if not _inside(path, roots):
        shown = ", ".join(str(r) for r in roots)
        raise InvalidParameterError(
            f"{where}: the source path {uri!r} is outside the folders file sources may read "
            f"({shown})."
        )
    if not path.exists():
        raise InvalidParameterError(f"{where}: the source path {str(path)!r} does not exist.")
    source.file_options.uri = str(path)


def source_columns(source: Any) -> set[str]:
    """The column names of a file source's parquet data."""
    import pyarrow.dataset as ds
    from feast import PushSource

    if isinstance(source, PushSource):
        source = source.batch_source
    return set(ds.dataset(source.path, format="parquet").schema.names)


def check_view(
    view: Definition, entities: Mapping[str, Any], data_dir: Path, roots: Sequence[Path]
) -> None:
    """Check a feature view: its source, its entities and that its columns exist.

    Raises:
        InvalidParameterError: Naming the view's file and name.
    """
    where = view.where()
    fv = view.obj
    check_source(fv.batch_source, where, data_dir, roots)
    if fv.stream_source is not None:
        check_source(fv.stream_source, where, data_dir, roots)
    columns = source_columns(fv.batch_source)
    timestamp = fv.batch_source.timestamp_field
    if timestamp and timestamp not in columns:
        raise InvalidParameterError(
            f"{where}: the source has no timestamp column {timestamp!r} (it has "
            f"{', '.join(sorted(columns))})."
        )
    for name in fv.entities:
        if name == "__dummy":
            continue
        entity = entities.get(name)
        if entity is None:
            raise InvalidParameterError(
                f"{where}: the entity {name!r} is neither in this apply nor in the registry."
            )
        missing = [key for key in [entity.join_key] if key not in columns]
        if missing:
            raise InvalidParameterError(
                f"{where}: the source has no column {missing[0]!r} for the entity {name!r}."
            )
    for feature in fv.schema:
        if feature.name not in columns:
            raise InvalidParameterError(
                f"{where}: the feature {feature.name!r} is not a column of the source "
                f"{fv.batch_source.name!r} (it has {', '.join(sorted(columns))})."
            )


def check_service(service: Definition, views: Mapping[str, Any]) -> None:
    """Check that a feature service names views and features that exist.

    Raises:
        InvalidParameterError: Naming the service's file and name.
    """
    for projection in service.obj.feature_view_projections:
        view = views.get(projection.name)
        if view is None:
            raise InvalidParameterError(
                f"{service.where()}: the feature view {projection.name!r} is neither in this "
                "apply nor in the registry."
            )
        known = {f.name for f in view.features}
        for feature in projection.features:
            if feature.name not in known:
                raise InvalidParameterError(
                    f"{service.where()}: the view {projection.name!r} has no feature "
                    f"{feature.name!r}."
                )


def _embedded_sources(definition: Definition) -> list[Any]:
    """The data sources an object carries inside it (Feast registers them too)."""
    obj = definition.obj
    if definition.kind == "feature_view":
        found = [obj.batch_source, obj.stream_source]
    elif definition.kind == "data_source":
        found = [getattr(obj, "batch_source", None)]
    else:
        return []
    found += [getattr(source, "batch_source", None) for source in list(found)]
    return [source for source in found if source is not None]


def check_owners(
    definitions: Sequence[Definition],
    current: Mapping[tuple[str, str], Any],
    caller: str,
    admin: bool,
) -> None:
    """Make the caller the owner of what they create; refuse changes to others' objects.

    An object keeps the owner it had; a new one is the caller's. Only platform
    admins change an object another user owns. Data sources inside a view or a
    push source count as objects of their own: Feast registers them with it.

    Raises:
        PermissionDeniedError: Naming the object and its owner.
    """
    for definition in definitions:
        targets = [(definition.kind, definition.name, definition.obj)]
        targets += [("data_source", s.name, s) for s in _embedded_sources(definition)]
        for kind, name, obj in targets:
            existing = current.get((kind, name))
            owner = (getattr(existing, "owner", "") or "") if existing is not None else ""
            if owner and owner != caller and not admin:
                label = definition.where() + (
                    f" (its {kind} {name!r})" if obj is not definition.obj else ""
                )
                raise PermissionDeniedError(
                    f"{label}: owned by {owner}; only {owner} or a platform admin may change it."
                )
            obj.owner = owner or caller
