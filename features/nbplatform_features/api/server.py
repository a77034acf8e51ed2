"""``features/server/get-online-features``: online lookups in Feast's feature-server API.

The one route of Feast's feature server that kernels need, with Feast's own
request and answer shapes, so the stock Feast SDK's remote online store works
through it (``online_store: {type: remote, path: <platform>/features/server}``;
Feast sends the hub token as ``Bearer``). The platform service answers it
itself (:mod:`..online`: Feast reads the online store in this process).

It decides on exactly what Feast is given: the body is parsed strictly,
checked (known feature references or service, entity columns of equal length,
bounded sizes, every join key the features need) and only the checked values
reach Feast. Feast's other routes (``/push``, ``/materialize``...) do not exist
here: writes go through the audited platform API.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from tornado.ioloop import IOLoop

from nbplatform.errors import InvalidParameterError, NotFoundError
from nbplatform_hub.host import JSONAPIHandler

from ..frames import FEATURE_REF
from ..online import look_up
from ..state import FeaturesState, Served
from .common import READ

__all__ = ["routes"]

#: The most entity rows one lookup may ask for.
MAX_ROWS = 10_000


class OnlineRequest(BaseModel):
    """Feast's ``GetOnlineFeaturesRequest``, bounded."""

    model_config = ConfigDict(extra="forbid")

    entities: dict[str, list[str | int | float | bool | None]] = Field(max_length=64)
    feature_service: str | None = Field(default=None, max_length=128)
    features: list[str] = Field(default_factory=list, max_length=5000)
    full_feature_names: bool = False
    include_feature_view_version_metadata: bool = False


class OnlineFeaturesHandler(JSONAPIHandler):
    """``POST`` looks features up in the online store (Feast's feature-server API)."""

    #: Answered lookups are logged at DEBUG (see ``log_request``): serving is high-rate.
    access_log_level = logging.DEBUG

    def _check(self, body: OnlineRequest, served: Served) -> None:
        if bool(body.features) == bool(body.feature_service):
            raise InvalidParameterError(
                "features: name the features or one feature_service, not both and not neither."
            )
        lengths = {len(values) for values in body.entities.values()}
        if not body.entities or len(lengths) != 1 or 0 in lengths:
            raise InvalidParameterError(
                "entities: give each join key a list of values, all of the same length."
            )
        if lengths.pop() > MAX_ROWS:
            raise InvalidParameterError(f"entities: at most {MAX_ROWS} rows per lookup.")
        nulls = sorted(key for key, values in body.entities.items() if None in values)
        if nulls:
            raise InvalidParameterError(
                f"entities: {', '.join(nulls)} holds a null; every row needs a value of each key."
            )
        if body.feature_service:
            if body.feature_service not in served.services:
                raise NotFoundError(
                    f"feature_service: no feature service {body.feature_service!r}."
                )
            needed = served.service_keys.get(body.feature_service, frozenset())
        else:
            for ref in body.features:
                if not FEATURE_REF.match(ref):
                    raise InvalidParameterError(f"features: {ref[:200]!r} is not 'view:feature'.")
                if ref not in served.features:
                    raise NotFoundError(f"features: no feature {ref!r} in the registry.")
            views = {ref.split(":", 1)[0] for ref in body.features}
            needed = frozenset().union(*(served.keys.get(view, frozenset()) for view in views))
        # Feast fails on a missing join key with a KeyError deep inside; say which one is missing.
        missing = sorted(needed - body.entities.keys())
        if missing:
            raise InvalidParameterError(
                f"entities: missing the join key{'s' if len(missing) > 1 else ''} "
                f"{', '.join(missing)} (these features need {', '.join(sorted(needed))})."
            )

    async def blocking_served(self, state: FeaturesState) -> Served:
        """Re-read what is served, off the event loop (Feast reads the registry file).

        On the lookups' own threads: on the shared ones, a lookup whose check
        falls due for a re-read would wait behind a long materialization.
        """
        return await IOLoop.current().run_in_executor(state.online_executor, state.served)

    async def post(self) -> None:
        """Look the checked rows up (off the event loop) and answer as Feast's server does."""
        self.require_scope(READ)
        body = self.json_body(OnlineRequest)
        state = self.context.state["features"]
        self._check(body, state.fresh_served() or await self.blocking_served(state))
        answer = await IOLoop.current().run_in_executor(
            state.online_executor,
            lambda: look_up(
                state.repo,
                body.entities,
                body.features,
                body.feature_service,
                full_feature_names=body.full_feature_names,
                include_feature_view_version_metadata=body.include_feature_view_version_metadata,
            ),
        )
        self.set_header("Content-Type", "application/json")
        self.finish(answer)


routes: list[tuple[str, Any]] = [
    (r"features/server/get-online-features", OnlineFeaturesHandler),
]
