"""Changes to the platform's feature registry: apply definitions, delete a view.

Both run under the repository's write lock. An apply first makes the empty
table of a push-fed view whose batch file is missing in the feature data folder
(:mod:`.empty_tables`, taken back if the apply fails), then checks every object
(:mod:`.definitions`) and has Feast plan the change (its validation and schema
inference) before anything is written; if Feast fails while writing, the
store's cached registry is dropped, so nothing half-applied is ever committed
later.
"""

from __future__ import annotations

import contextlib
from typing import Any

from nbplatform.errors import InvalidParameterError, NotFoundError

from .definitions import (
    Definition,
    check_owners,
    check_service,
    check_source,
    check_view,
)
from .empty_tables import make_missing, take_back
from .repo import FeatureRepo
from .settings import PROJECT

_TRANSITIONS = {"CREATE": "created", "UPDATE": "updated", "UNCHANGED": "unchanged"}
_KIND_OF_TYPE = {
    "ENTITY": "entity",
    "DATA_SOURCE": "data_source",
    "FEATURE_VIEW": "feature_view",
    "FEATURE_SERVICE": "feature_service",
}


def _current(store: Any) -> dict[tuple[str, str], Any]:
    registry = store.registry
    current: dict[tuple[str, str], Any] = {}
    for entity in registry.list_entities(PROJECT, allow_cache=False):
        current[("entity", entity.name)] = entity
    for source in registry.list_data_sources(PROJECT, allow_cache=False):
        current[("data_source", source.name)] = source
    for view in registry.list_feature_views(PROJECT, allow_cache=False):
        current[("feature_view", view.name)] = view
    for service in registry.list_feature_services(PROJECT, allow_cache=False):
        current[("feature_service", service.name)] = service
    return current


def _contents(definitions: list[Definition]) -> Any:
    from feast.repo_contents import RepoContents

    by_kind: dict[str, list[Any]] = {k: [] for k in _KIND_OF_TYPE.values()}
    for definition in definitions:
        by_kind[definition.kind].append(definition.obj)
    return RepoContents(
        projects=[],
        data_sources=by_kind["data_source"],
        feature_views=by_kind["feature_view"],
        on_demand_feature_views=[],
        stream_feature_views=[],
        label_views=[],
        entities=by_kind["entity"],
        feature_services=by_kind["feature_service"],
        permissions=[],
    )


def apply_definitions(
    repo: FeatureRepo,
    definitions: list[Definition],
    caller: str,
    admin: bool,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Check ``definitions`` and, unless ``dry_run``, apply them.

    Returns:
        ``{"created": [...], "updated": [...], "unchanged": [...], "dry_run"}``,
        each a list of ``{"kind", "name"}``.

    Raises:
        InvalidParameterError: An object fails a check (the message names its
            file and name); nothing was written.
        PermissionDeniedError: The caller changes another user's object.
    """
    settings = repo.settings
    with repo.write_lock:
        store = repo.store
        store.registry.refresh(PROJECT)
        current = _current(store)
        check_owners(definitions, current, caller, admin)
        entities = {n: o for (k, n), o in current.items() if k == "entity"}
        entities.update({d.name: d.obj for d in definitions if d.kind == "entity"})
        made = make_missing(definitions, entities, settings.data_dir)
        try:
            transitions = _check_and_apply(repo, store, definitions, current, entities, dry_run)
        except BaseException:
            take_back(made)  # a failed apply writes nothing
            raise
        if dry_run:
            take_back(made)
    result: dict[str, Any] = {"created": [], "updated": [], "unchanged": [], "dry_run": dry_run}
    for definition in definitions:
        state = transitions.get((definition.kind, definition.name), "updated")
        result[state].append({"kind": definition.kind, "name": definition.name})
    return result


def _check_and_apply(
    repo: FeatureRepo,
    store: Any,
    definitions: list[Definition],
    current: dict[tuple[str, str], Any],
    entities: dict[str, Any],
    dry_run: bool,
) -> dict[tuple[str, str], str]:
    """Check every object, have Feast plan the change and, unless ``dry_run``, apply it.

    Returns:
        Each object's transition (:func:`_plan`).
    """
    settings = repo.settings
    for definition in definitions:
        if definition.kind == "data_source":
            check_source(definition.obj, definition.where(), settings.data_dir, settings.data_roots)
        elif definition.kind == "feature_view":
            check_view(definition, entities, settings.data_dir, settings.data_roots)
    views = {n: o for (k, n), o in current.items() if k == "feature_view"}
    views.update({d.name: d.obj for d in definitions if d.kind == "feature_view"})
    for definition in definitions:
        if definition.kind == "feature_service":
            check_service(definition, views)
    transitions = _plan(store, definitions)
    if not dry_run:
        try:
            store.apply([d.obj for d in definitions], partial=True)
        except Exception as e:
            repo.reset()
            raise InvalidParameterError(f"apply: Feast refused the definitions: {e}") from e
    return transitions


def _plan(store: Any, definitions: list[Definition]) -> dict[tuple[str, str], str]:
    """Feast's plan of the change: its validation and inference, then what changes."""
    from feast.diff.registry_diff import diff_between

    contents = _contents(definitions)
    by_name = {(d.kind, d.name): d for d in definitions}
    try:
        store._validate_all_feature_views(contents.feature_views, [], [], [])
        store._make_inferences(
            contents.data_sources,
            contents.entities,
            contents.feature_views,
            [],
            [],
            contents.feature_services,
            [],
        )
    except Exception as e:
        raise InvalidParameterError(f"apply: Feast refused the definitions: {e}") from e
    diff = diff_between(store.registry, PROJECT, contents)
    transitions: dict[tuple[str, str], str] = {}
    for change in diff.feast_object_diffs:
        kind = _KIND_OF_TYPE.get(change.feast_object_type.name)
        state = _TRANSITIONS.get(change.transition_type.name)
        if kind and state and (kind, change.name) in by_name:
            transitions[(kind, change.name)] = state
    return transitions


def delete_view(repo: FeatureRepo, name: str) -> None:
    """Delete the feature view ``name`` (its online rows too).

    Raises:
        NotFoundError: No such view.
    """
    with repo.write_lock:
        store = repo.store
        store.registry.refresh(PROJECT)
        try:
            view = store.registry.get_feature_view(name, PROJECT, allow_cache=False)
        except Exception as e:
            raise NotFoundError(f"No feature view named {name!r}.") from e
        # Drop its online table only (the online store's teardown would remove them all).
        with contextlib.suppress(Exception):  # the table may never have been made
            store._get_provider().update_infra(
                project=PROJECT,
                tables_to_delete=[view],
                tables_to_keep=[],
                entities_to_delete=[],
                entities_to_keep=[],
                partial=True,
            )
        store.registry.delete_feature_view(name, PROJECT, commit=True)
