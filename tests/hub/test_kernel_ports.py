"""Each server gets its own block of kernel ports, below the ephemeral range."""

from __future__ import annotations

from nbplatform_hub.kernel_ports import PortBlocks, ephemeral_start


def test_blocks_are_disjoint_and_stay_with_their_server():
    blocks = PortBlocks(first=20000, end=20300, size=100)
    assert blocks.capacity == 3
    a, b = blocks.allocate("ann"), blocks.allocate("bob")
    assert (a, b) == ((20000, 20099), (20100, 20199))
    assert blocks.allocate("ann") == a  # the same server asks again
    assert blocks.allocate("cy") == (20200, 20299)
    assert blocks.allocate("dee") is None  # all taken: the server picks ports as usual
    blocks.release("bob")
    assert blocks.allocate("dee") == b


def test_a_block_is_claimed_back_after_a_restart_unless_taken():
    blocks = PortBlocks(first=20000, end=20300, size=100)
    assert blocks.claim("ann", (20100, 20199)) == (20100, 20199)
    assert blocks.claim("bob", (20100, 20199)) is None
    assert blocks.claim("bob", (20150, 20249)) is None  # not the start of a block
    assert blocks.allocate("bob") == (20000, 20099)


def test_blocks_end_below_the_ephemeral_range(tmp_path):
    limits = tmp_path / "range"
    limits.write_text("32768\t60999\n")
    assert ephemeral_start(limits) == 32768
    assert ephemeral_start(tmp_path / "missing") == 32768
    blocks = PortBlocks(first=20000, end=ephemeral_start(limits), size=100)
    last = [blocks.allocate(str(i)) for i in range(blocks.capacity)][-1]
    assert last is not None and last[1] < 32768
