"""The kernel manager of a platform server: kernel ports from the server's own block.

The hub gives each server a block of ports outside the OS's ephemeral range
(``nbplatform_hub.kernel_ports``) and starts it with
``--MappingKernelManager.kernel_manager_class=nbplatform_lab.kernels.PortBlockKernelManager``
and ``--PortBlockKernelManager.port_range=<first>-<last>``. Each kernel's five
ports are then taken from that block: free ones (a bind test), not reserved by
another kernel of this server in the last minute (a kernel binds its ports a
moment after they were chosen). Without a range, ports are chosen as usual.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, ClassVar

from jupyter_server.services.kernels.kernelmanager import ServerKernelManager
from traitlets import Unicode, default, validate

PORT_NAMES = ("shell_port", "iopub_port", "stdin_port", "hb_port", "control_port")
#: Seconds a chosen port stays reserved for the kernel that is to bind it.
RESERVATION_SECONDS = 60.0


def _free(ip: str, port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((ip, port))
        except OSError:
            return False
    return True


class PortBlockKernelManager(ServerKernelManager):
    """A server kernel manager whose kernels listen only on the server's port block."""

    port_range = Unicode(
        "",
        config=True,
        help="Ports this server's kernels may use, 'first-last' (set by the hub's spawner).",
    )

    _reserved: ClassVar[dict[int, float]] = {}
    _reserve_lock: ClassVar[threading.Lock] = threading.Lock()

    @validate("port_range")
    def _check_range(self, proposal: Any) -> str:
        value = proposal["value"].strip()
        if value:
            first, _, last = value.partition("-")
            if not (first.isdigit() and last.isdigit() and 0 < int(first) <= int(last) < 65536):
                raise ValueError(f"port_range {value!r} is not 'first-last'")
        return value

    @default("cache_ports")
    def _default_cache_ports(self) -> bool:
        # The block replaces jupyter_client's process-wide port cache.
        return self.transport == "tcp" and not self.port_range

    def _ports(self) -> range:
        first, _, last = self.port_range.partition("-")
        return range(int(first), int(last) + 1)

    def take_port(self) -> int:
        """A free port of the block, reserved for this kernel.

        Raises:
            RuntimeError: Every port of the block is in use.
        """
        with self._reserve_lock:
            now = time.monotonic()
            for port, since in list(self._reserved.items()):
                if now - since > RESERVATION_SECONDS:
                    del self._reserved[port]
            for port in self._ports():
                if port not in self._reserved and _free(self.ip, port):
                    self._reserved[port] = now
                    return port
        raise RuntimeError(
            f"All ports of this server's kernel block ({self.port_range}) are in use: "
            "shut down a kernel you no longer need."
        )

    async def _async_pre_start_kernel(self, **kw: Any) -> Any:
        if self.port_range and self.transport == "tcp":
            for name in PORT_NAMES:
                if not getattr(self, name):
                    setattr(self, name, self.take_port())
        return await super()._async_pre_start_kernel(**kw)
