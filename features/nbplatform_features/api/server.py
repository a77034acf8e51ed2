"""``features/server/get-online-features``: the authenticated gateway to Feast's feature server.

Feast's feature server (:mod:`..server`) listens on a Unix socket only the
platform reaches. This gateway serves the one route kernels need, with Feast's
own request and answer shapes, so the stock Feast SDK's remote online store
works through it (``online_store: {type: remote, path:
<platform>/features/server}``; Feast sends the hub token as ``Bearer``).

It decides on exactly what it forwards: the body is parsed strictly, checked
(known feature references or service, entity columns of equal length, bounded
sizes) and re-serialized; the feature server receives those bytes and no
others. Writes (``/push``, ``/materialize``...) are not forwarded: they go
through the audited platform API.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field
from tornado.ioloop import IOLoop

from nbplatform.errors import InvalidParameterError, NotFoundError, UnavailableError
from nbplatform_hub.host import JSONAPIHandler

from ..frames import FEATURE_REF
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
        # Feast's server answers a missing join key with a 500; the caller's mistake is a 400.
        missing = sorted(needed - body.entities.keys())
        if missing:
            raise InvalidParameterError(
                f"entities: missing the join key{'s' if len(missing) > 1 else ''} "
                f"{', '.join(missing)} (these features need {', '.join(sorted(needed))})."
            )

    async def blocking_served(self, state: FeaturesState) -> Served:
        """Re-read what is served, off the event loop (Feast reads the registry file)."""
        return await IOLoop.current().run_in_executor(state.executor, state.served)

    async def post(self) -> None:
        """Forward the checked lookup to the feature server and relay its answer."""
        self.require_scope(READ)
        body = self.json_body(OnlineRequest)
        state = self.context.state["features"]
        self._check(body, state.fresh_served() or await self.blocking_served(state))
        forwarded = json.dumps(body.model_dump(exclude_none=True), separators=(",", ":"))
        try:
            answer = await state.feature_server().post(
                "/get-online-features",
                content=forwarded,
                headers={"Content-Type": "application/json"},
            )
        except httpx.HTTPError as e:
            raise UnavailableError(
                f"The feature server is not reachable on {state.settings.socket}: {e}"
            ) from e
        if answer.status_code >= 400:
            detail = answer.text[:1000]
            if answer.status_code < 500:
                raise InvalidParameterError(f"The feature server refused the lookup: {detail}")
            raise UnavailableError(f"The feature server failed: {detail}")
        self.set_header("Content-Type", "application/json")
        self.finish(answer.content)


routes: list[tuple[str, Any]] = [
    (r"features/server/get-online-features", OnlineFeaturesHandler),
]
