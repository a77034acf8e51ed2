"""A platform server's kernels listen only on the server's block of ports."""

from __future__ import annotations

import socket

import pytest

from nbplatform_lab.kernels import PORT_NAMES, PortBlockKernelManager


def free_block(size: int) -> tuple[int, int]:
    """A run of ``size`` free ports below the ephemeral range."""
    for first in range(24000, 32000, size):
        probes = []
        try:
            for port in range(first, first + size):
                s = socket.socket()
                s.bind(("127.0.0.1", port))
                probes.append(s)
        except OSError:
            continue
        finally:
            for s in probes:
                s.close()
        return first, first + size - 1
    raise RuntimeError("no free block")


@pytest.fixture(autouse=True)
def no_reservations():
    PortBlockKernelManager._reserved.clear()
    yield
    PortBlockKernelManager._reserved.clear()


def test_ports_come_from_the_block_and_skip_busy_ones():
    first, last = free_block(10)
    busy = socket.socket()
    busy.bind(("127.0.0.1", first))
    busy.listen()
    try:
        km = PortBlockKernelManager(port_range=f"{first}-{last}")
        assert km.cache_ports is False
        ports = [km.take_port() for _ in PORT_NAMES]
        assert first not in ports and len(set(ports)) == 5
        assert all(first < p <= last for p in ports)
        # Another kernel of the server does not get the reserved ones.
        other = PortBlockKernelManager(port_range=f"{first}-{last}")
        more = [other.take_port() for _ in range(4)]
        assert not set(more) & set(ports) and all(first < p <= last for p in more)
        with pytest.raises(RuntimeError, match="All ports of this server's kernel block"):
            other.take_port()
    finally:
        busy.close()


def test_without_a_range_ports_are_chosen_as_usual():
    km = PortBlockKernelManager()
    assert km.cache_ports is True


def test_a_malformed_range_is_refused():
    with pytest.raises(ValueError, match="not 'first-last'"):
        PortBlockKernelManager(port_range="20000")


async def test_a_kernel_starts_on_the_block():
    first, last = free_block(5)
    km = PortBlockKernelManager(port_range=f"{first}-{last}", kernel_name="python3")
    await km.start_kernel()
    try:
        client = km.client()
        client.start_channels()
        await client.wait_for_ready(timeout=60)
        info = km.get_connection_info()
        assert sorted(info[name] for name in PORT_NAMES) == list(range(first, last + 1))
        client.stop_channels()
    finally:
        await km.shutdown_kernel(now=True)
