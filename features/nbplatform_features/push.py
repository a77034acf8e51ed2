"""Push rows to a push source: into the online store, the offline store, or both."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nbplatform.errors import InvalidParameterError, NotFoundError

from .repo import FeatureRepo
from .settings import PROJECT

_MODES = {"online": "ONLINE", "offline": "OFFLINE", "online_and_offline": "ONLINE_AND_OFFLINE"}


def push_rows(repo: FeatureRepo, source_name: str, rows: Sequence[dict[str, Any]], to: str) -> int:
    """Push ``rows`` to the push source ``source_name``; return how many.

    Timestamp columns of the source (its ``timestamp_field`` and created
    column) are parsed from ISO 8601 strings.

    Raises:
        NotFoundError: No such push source.
        InvalidParameterError: Rows that do not fit the source.
    """
    import pandas as pd
    from feast import PushSource
    from feast.data_source import PushMode

    store = repo.store
    store.registry.refresh(PROJECT)
    try:
        source = store.registry.get_data_source(source_name, PROJECT, allow_cache=False)
    except Exception as e:
        raise NotFoundError(f"push_source: no data source named {source_name!r}.") from e
    if not isinstance(source, PushSource):
        raise InvalidParameterError(f"push_source: {source_name!r} is not a push source.")
    frame = pd.DataFrame(list(rows))
    batch = source.batch_source
    for column in (batch.timestamp_field, batch.created_timestamp_column):
        if column and column in frame:
            try:
                frame[column] = pd.to_datetime(frame[column], utc=True)
            except (ValueError, TypeError) as e:
                raise InvalidParameterError(
                    f"rows: the column {column!r} holds a value that is not a time ({e})."
                ) from e
    if batch.timestamp_field and batch.timestamp_field not in frame:
        raise InvalidParameterError(f"rows: every row needs {batch.timestamp_field!r}.")
    with repo.write_lock:
        try:
            store.push(source_name, frame, to=getattr(PushMode, _MODES[to]))
        except (ValueError, KeyError, TypeError) as e:
            raise InvalidParameterError(f"rows: the push source refused them ({e}).") from e
        except Exception as e:
            if type(e).__module__.startswith("feast"):  # e.g. no view reads the source
                raise InvalidParameterError(f"push_source: {e}") from e
            raise
    return len(frame)
