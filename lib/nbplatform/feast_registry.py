"""Feast on the platform's side of the library: the read-only registry, and reading definitions.

:class:`PlatformRegistryStore` is a Feast ``RegistryStore`` that reads the
platform's registry from its REST API (``GET api/features/registry``) with your
hub token, so the stock Feast SDK and CLI (``feast feature-views list``,
``FeatureStore.get_online_features``) work on the platform's feature store
through the ``feature_store.yaml`` of :func:`nbplatform.features.client_config`.
It never writes: definitions change with ``nbplatform features apply``.

:func:`collect_definitions` imports a folder of Feast definitions, as
``feast apply`` does, and says which file each object comes from; it is what
:func:`nbplatform.features.apply` sends. This module imports Feast; Feast
imports it (from the yaml), and so does ``apply``, never ``import nbplatform``.
"""

from __future__ import annotations

import ast
import importlib
import os
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from feast.infra.registry.registry_store import RegistryStore
from feast.protos.feast.core.Registry_pb2 import Registry as RegistryProto

from . import config as _config
from .errors import InvalidParameterError, NbplatformError

#: Feast's registry schema version, set on the empty registry of a new platform.
REGISTRY_SCHEMA_VERSION = "1"

READ_ONLY = (
    "The platform's feature registry is read-only here: it is changed with "
    "`nbplatform features apply PATH` (or nbp.features.apply), which checks "
    "ownership and data paths; `feast apply` and `feast teardown` do not work on it."
)


class PlatformRegistryStore(RegistryStore):
    """Read the platform's Feast registry over its REST API (read-only).

    ``registry_config.path`` is the registry's URL
    (``<platform>/api/features/registry``); the token comes from the variable named
    by ``registry_config.token_env_var`` (else ``NBP_TOKEN`` / ``JUPYTERHUB_API_TOKEN``).

    Args:
        registry_config: Feast's registry config of the ``feature_store.yaml``.
        repo_path: The feature repo's folder (unused: nothing is local).
    """

    def __init__(self, registry_config: Any, repo_path: Path | None) -> None:
        self._url = str(registry_config.path)
        self._token_env_var = getattr(registry_config, "token_env_var", None)
        self._session: Any = None

    def _token(self) -> str | None:
        if self._token_env_var and os.environ.get(self._token_env_var):
            return os.environ[self._token_env_var]
        return _config.load().token

    def get_registry_proto(self) -> RegistryProto:
        """Return the platform's registry (an empty one before the first apply).

        Feast's ``Registry`` answers a ``FileNotFoundError`` by writing a new empty
        registry, which this store cannot do, so an empty answer is an empty proto.

        Raises:
            NbplatformError: The platform refused (no or a bad token, no
                ``features:read``, no features capability) or is not reachable.
        """
        import requests

        from .client import send

        if self._session is None:
            self._session = requests.Session()
        token = self._token()
        headers = {"Authorization": f"token {token}"} if token else {}
        try:
            response = send(self._session, "GET", self._url, headers=headers, timeout=30)
        except NbplatformError as e:
            message = f"Reading the feature registry at {self._url}: {e.message}"
            raise type(e)(message, e.error_code) from e
        proto = RegistryProto()
        if response.content:
            proto.ParseFromString(response.content)
        else:
            proto.registry_schema_version = REGISTRY_SCHEMA_VERSION
        return proto

    def update_registry_proto(self, registry_proto: RegistryProto) -> None:
        """Refuse: the platform's registry changes only through ``nbplatform features apply``."""
        raise PermissionError(READ_ONLY)

    def teardown(self) -> None:
        """Refuse, as :meth:`update_registry_proto`."""
        raise PermissionError(READ_ONLY)


# Reading a folder of definitions ----------------------------------------------------
@dataclass
class Definition:
    """A Feast object of a definitions folder.

    Attributes:
        kind: ``entity``, ``data_source``, ``feature_view``, ``feature_service``,
            ``on_demand_feature_view`` or ``stream_feature_view``.
        name: Its name.
        file: The file defining it, relative to the folder (POSIX).
        proto: ``obj.to_proto().SerializeToString()``.
        obj: The object.
    """

    kind: str
    name: str
    file: str
    proto: bytes
    obj: Any


#: Module names imported by earlier calls, which a new call may import again.
_imported: set[str] = set()


def _kind(obj: Any) -> str | None:
    from feast import Entity, FeatureService, FeatureView, OnDemandFeatureView, StreamFeatureView
    from feast.data_source import DataSource

    for cls, kind in (
        (OnDemandFeatureView, "on_demand_feature_view"),
        (StreamFeatureView, "stream_feature_view"),
        (FeatureView, "feature_view"),  # BatchFeatureView too
        (Entity, "entity"),
        (FeatureService, "feature_service"),
        (DataSource, "data_source"),
    ):
        if isinstance(obj, cls):
            return kind
    return None


def _files(root: Path) -> list[Path]:
    """The definition files, as ``feast apply`` finds them, minus hidden folders."""
    from feast.repo_operations import get_repo_files

    return [f for f in get_repo_files(root) if _visible(root, f)]


def _visible(root: Path, path: Path) -> bool:
    """Whether ``path`` lies in ``root`` outside hidden folders (``.venv``, ``.git``...)."""
    return path.is_relative_to(root) and not any(
        part.startswith(".") for part in path.relative_to(root).parts
    )


def _module_name(root: Path, file: Path) -> str:
    return ".".join(file.relative_to(root).with_suffix("").parts)


def _imported_names(file: Path) -> tuple[set[str], bool]:
    """Top-level names a file binds by importing, and whether it star-imports."""
    try:
        tree = ast.parse(file.read_bytes())
    except (SyntaxError, ValueError):
        return set(), False
    names, star = set(), False
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                star |= alias.name == "*"
                names.add(alias.asname or alias.name.split(".")[0])
    return names, star


def _import_error(root: Path, file: Path, e: BaseException) -> InvalidParameterError:
    """``<file>: <Type>: <message> (line n)``, naming the innermost definitions file."""
    where, line = file, None
    if isinstance(e, SyntaxError) and e.filename:
        where, line, message = Path(e.filename), e.lineno, e.msg
    else:
        message = str(e)
        for frame in traceback.extract_tb(e.__traceback__):
            path = Path(frame.filename)
            if path.is_absolute() and _visible(root, path.resolve()):
                where, line = path.resolve(), frame.lineno
    try:
        shown = where.resolve().relative_to(root).as_posix()
    except ValueError:
        shown = where.as_posix()
    at = f" (line {line})" if line else ""
    return InvalidParameterError(f"{shown}: {type(e).__name__}: {message}{at}")


def _load(root: Path, files: list[Path]) -> list[tuple[Path, Any]]:
    """Import each file under its module name (sys.path holding ``root``), fresh each call."""
    names = {_module_name(root, f) for f in files}
    wanted = names | {n.rsplit(".", i)[0] for n in names for i in range(1, n.count(".") + 1)}
    for name in sorted(wanted):
        module = sys.modules.get(name)
        if module is None:
            continue
        location = getattr(module, "__file__", None)
        ours = name in _imported or (
            location is not None and Path(location).resolve().is_relative_to(root)
        )
        if not ours:
            shown = name.replace(".", "/") + ".py"
            raise InvalidParameterError(
                f"{shown}: its module name {name!r} is taken by an installed module "
                f"({location or 'a package'}); rename the file or folder."
            )
        del sys.modules[name]
    importlib.invalidate_caches()
    sys.path.insert(0, str(root))
    bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        modules = []
        for file in files:
            name = _module_name(root, file)
            try:
                modules.append((file, importlib.import_module(name)))
            except (Exception, SystemExit) as e:
                raise _import_error(root, file, e) from e
            finally:
                _imported.update(n for n in wanted if n in sys.modules)
        return modules
    finally:
        sys.dont_write_bytecode = bytecode
        if str(root) in sys.path:
            sys.path.remove(str(root))


def _found(root: Path, modules: list[tuple[Path, Any]]) -> list[tuple[Any, str, str]]:
    """``(object, kind, file)`` of every Feast object, each once, in the file defining it.

    A module attribute not bound by an import wins over an imported one, which wins
    over a source found inside a view.
    """
    best: dict[int, tuple[int, int, Any, str, str]] = {}

    def offer(obj: Any, kind: str, file: str, rank: int) -> None:
        order = len(best)
        current = best.get(id(obj))
        if current is None or rank < current[0]:
            best[id(obj)] = (rank, current[1] if current else order, obj, kind, file)

    for path, module in modules:
        file = path.relative_to(root).as_posix()
        imported, star = _imported_names(path)
        for attr, obj in list(vars(module).items()):
            kind = _kind(obj)
            if kind is None:
                continue
            offer(obj, kind, file, 1 if star or attr in imported else 0)
            for inner in ("batch_source", "stream_source"):
                source = getattr(obj, inner, None)
                if source is not None and _kind(source) == "data_source":
                    offer(source, "data_source", file, 2)
    return [
        (obj, kind, file) for _, _, obj, kind, file in sorted(best.values(), key=lambda e: e[1])
    ]


def collect_definitions(path: Path) -> list[Definition]:
    """Import a folder of Feast definitions and return its objects, each with its file.

    Args:
        path: The folder (its sub-folders too, not hidden ones nor what
            ``.feastignore`` names), or one ``.py`` file.

    Returns:
        Entities, data sources, feature views, feature services (and on-demand or
        stream views, which the platform refuses with its reason), in file order.

    Raises:
        InvalidParameterError: No such folder, no definitions, a file that does
            not import (``<file>: <Type>: <message> (line n)``), or two different
            objects of one kind with one name (naming both files).
    """
    path = Path(path).expanduser().resolve()
    if path.is_file() and path.suffix == ".py":
        root, files = path.parent, [path]
    elif path.is_dir():
        root, files = path, _files(path)
    else:
        raise InvalidParameterError(f"{path}: no such folder of Feast definitions.")
    if not files:
        raise InvalidParameterError(f"{path}: no .py files with Feast definitions.")
    found: dict[tuple[str, str], Definition] = {}
    for obj, kind, file in _found(root, _load(root, files)):
        definition = Definition(kind, obj.name, file, obj.to_proto().SerializeToString(), obj)
        other = found.get((kind, obj.name))
        if other is None:
            found[(kind, obj.name)] = definition
        elif other.proto != definition.proto:
            where = "twice in it" if other.file == file else f"also in {file}"
            raise InvalidParameterError(
                f"{other.file}: {kind} '{obj.name}': defined {where}, differently; "
                "give each a name of its own."
            )
    if not found:
        raise InvalidParameterError(
            f"{path}: found no Feast entities, data sources, feature views or services."
        )
    return list(found.values())
