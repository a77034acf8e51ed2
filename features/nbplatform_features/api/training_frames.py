"""``api/features/training-frames``: a point-in-time training frame, Arrow in and Arrow out.

The body is the entity frame as an Arrow IPC stream, which may be far larger
than the 1 MiB JSON bodies of other resources: this resource reads up to
``NBP_FEATURES_MAX_FRAME_BYTES`` (1 GiB by default) and only Arrow.
"""

from __future__ import annotations

import json
from typing import Any

from nbplatform.errors import InvalidParameterError

from ..frames import check_references, training_frame
from .common import READ, FeaturesAPIHandler

__all__ = ["routes"]

#: The media type of an Arrow IPC stream.
ARROW_STREAM = "application/vnd.apache.arrow.stream"
#: The response header describing the frame (JSON).
FRAME_HEADER = "Nbplatform-Training-Frame"


class BodyTooLarge(InvalidParameterError):
    """The entity frame is larger than this service accepts."""


class TrainingFrameHandler(FeaturesAPIHandler):
    """``POST`` builds a training frame for the entity frame in the body."""

    _content_problem: InvalidParameterError | None = None

    def check_declared_body(self) -> None:  # type: ignore[override]
        """Accept only an Arrow stream, up to the configured size.

        Raises:
            InvalidParameterError: Another content type, or a size over the limit.
        """
        self._body_bytes = bytearray()
        limit = self.features.settings.max_frame_bytes
        declared = self.request.headers.get("Content-Length")
        if declared is not None:
            if not declared.strip().isdigit() or not declared.isascii():
                raise InvalidParameterError("Content-Length: not a number of bytes.")
            if int(declared) > limit:
                self.body_refused = f"body of {declared} bytes over {limit}"
                raise BodyTooLarge(
                    f"body: {declared} bytes is larger than the {limit} bytes this resource "
                    "accepts (NBP_FEATURES_MAX_FRAME_BYTES); send fewer entity rows at once."
                )
        kind = self.request.headers.get("Content-Type", "").partition(";")[0].strip().lower()
        if kind != ARROW_STREAM:
            # Said after the query arguments are checked (post), so each names itself.
            self._content_problem = InvalidParameterError(
                f"body: send the entity frame as an Arrow IPC stream (Content-Type: "
                f"{ARROW_STREAM}), not {kind[:100] or 'no Content-Type'!r}."
            )

    def data_received(self, chunk: bytes) -> None:  # type: ignore[override]
        """Keep the body up to the configured size; past it, drop it and answer 400."""
        if self._body_bytes is None:
            return
        if len(self._body_bytes) + len(chunk) > self.features.settings.max_frame_bytes:
            self._body_bytes = None
            self.body_refused = "body over the frame limit"
            self._body_error = BodyTooLarge(
                "body: larger than NBP_FEATURES_MAX_FRAME_BYTES; send fewer entity rows at once."
            )
            return
        self._body_bytes += chunk

    async def post(self) -> None:
        """Answer the frame as an Arrow stream, described in the ``FRAME_HEADER`` header."""
        self.require_scope(READ)
        features = self.get_query_arguments("features")
        service = self.get_query_argument("feature_service", None) or None
        full = self._flag("full_feature_names")
        if self._content_problem is not None:  # after the arguments' decoding named them
            raise self._content_problem
        check_references(features, service)
        self.audit_resource = (
            "features/training-frames: "
            + (f"service {service}" if service else ", ".join(features))[:900]
        )
        body = bytes(self._body_bytes or b"")
        frame, description = await self.blocking(
            training_frame, self.features.repo, body, features, service, full
        )
        self.audit_detail = (
            f"{description['rows']} rows, entities {description['entity_hash'][:16]}"
        )
        self.set_header("Content-Type", ARROW_STREAM)
        self.set_header(FRAME_HEADER, json.dumps(description, separators=(",", ":")))
        self.finish(frame)

    def _flag(self, name: str) -> bool:
        raw = self.get_query_argument(name, "false").lower()
        if raw not in ("true", "false", "1", "0"):
            raise InvalidParameterError(f"{name}: {raw[:20]!r} is not true or false.")
        return raw in ("true", "1")


routes: list[tuple[str, Any]] = [(r"api/features/training-frames", TrainingFrameHandler)]
