"""``api/features/registry``: the feature registry as Feast's protobuf, for the stock SDK.

Kernels' stock Feast SDK reads the registry through
``nbplatform.feast_registry.PlatformRegistryStore``, which fetches this resource
with the caller's hub token. Feast's own remote registry speaks gRPC, which the
hub's proxy and this HTTP service cannot carry; the protobuf is the same.
"""

from __future__ import annotations

from .common import READ, FeaturesAPIHandler

__all__ = ["routes"]


class RegistryHandler(FeaturesAPIHandler):
    """``GET`` returns the serialized ``RegistryProto`` (``application/octet-stream``)."""

    async def get(self) -> None:
        """Send the registry."""
        self.require_scope(READ)
        proto = await self.blocking(self.features.repo.registry_proto)
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("Cache-Control", "no-store")
        self.finish(proto.SerializeToString())


routes = [(r"api/features/registry", RegistryHandler)]
