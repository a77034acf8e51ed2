"""A block of kernel ports per server, outside the range the OS hands out.

Every kernel listens on five loopback TCP ports. jupyter_client picks them by
binding port 0 and closing the socket, and the kernel binds them a moment
later; a server in another process can be handed the same free port in
between, and its client then talks to the wrong kernel ("Invalid Signature",
a lost websocket). With fifty servers starting kernels at once this happened.

So the hub gives each server its own block of ports below the OS's ephemeral
range (``/proc/sys/net/ipv4/ip_local_port_range``), which ``bind(0)`` never
returns; the server's kernel manager (``nbplatform_lab.kernels``) takes its
kernels' ports from that block only. Two servers never share a block, and no
other process is handed a port in it by chance.
"""

from __future__ import annotations

import threading
from pathlib import Path

#: Where blocks start; below are the platform's own fixed ports.
FIRST_PORT = 20000
#: Ports per server: twenty kernels of five ports each.
BLOCK_SIZE = 100
EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")


def ephemeral_start(path: Path = EPHEMERAL) -> int:
    """The first port the OS hands out for ``bind(0)`` (32768 when it cannot be read)."""
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


class PortBlocks:
    """Blocks of ``size`` ports in ``[first, end)``, one per server key.

    Args:
        first: The first port of the first block.
        end: One past the last usable port (the ephemeral range's start).
        size: Ports per block.
    """

    def __init__(self, first: int = FIRST_PORT, end: int | None = None, size: int = BLOCK_SIZE):
        end = ephemeral_start() if end is None else end
        self.size = size
        self._starts = list(range(first, end - size + 1, size))
        self._held: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def capacity(self) -> int:
        """How many servers can hold a block at once."""
        return len(self._starts)

    def allocate(self, key: str) -> tuple[int, int] | None:
        """The block of ``key`` (the same one again if it holds one), or ``None`` if all are taken.

        Returns:
            ``(first, last)`` ports, inclusive.
        """
        with self._lock:
            if key not in self._held:
                taken = set(self._held.values())
                free = next((start for start in self._starts if start not in taken), None)
                if free is None:
                    return None
                self._held[key] = free
            start = self._held[key]
            return start, start + self.size - 1

    def claim(self, key: str, block: tuple[int, int]) -> tuple[int, int] | None:
        """Take ``block`` again for ``key`` after a hub restart (``None`` if someone holds it)."""
        start = int(block[0])
        with self._lock:
            if start not in self._starts or any(
                s == start and k != key for k, s in self._held.items()
            ):
                return None
            self._held[key] = start
            return start, start + self.size - 1

    def release(self, key: str) -> None:
        """Give ``key``'s block back (nothing if it holds none)."""
        with self._lock:
            self._held.pop(key, None)


_blocks: PortBlocks | None = None


def port_blocks() -> PortBlocks:
    """The hub's port blocks (made on first use)."""
    global _blocks
    if _blocks is None:
        _blocks = PortBlocks()
    return _blocks
