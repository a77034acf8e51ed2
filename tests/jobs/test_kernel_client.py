"""The job runs' kernel client: a message whose wake-up was missed is still read.

Real ZMQ sockets on loopback: a message arrives while the channel waits, and its
edge is taken (the socket's ``EVENTS`` read, as another reader would) before the
event loop runs. jupyter_client's own channel then waits forever; the patient one
reads the message at its next poll.
"""

from __future__ import annotations

import asyncio
import time

import pytest
import zmq
import zmq.asyncio
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.session import Session

from nbplatform_jobs.execute import _encrypted_kernel_manager
from nbplatform_jobs.kernel_client import PatientChannel, PatientKernelClient


async def wait_after_a_missed_edge(channel_class: type, wait: float) -> dict | None:
    """What ``get_msg()`` of ``channel_class`` returns within ``wait`` s (``None``: nothing)."""
    context = zmq.asyncio.Context()
    receiver = context.socket(zmq.PAIR)
    port = receiver.bind_to_random_port("tcp://127.0.0.1")
    sender = context.socket(zmq.PAIR)
    sender.connect(f"tcp://127.0.0.1:{port}")
    session = Session()
    try:
        waiting = asyncio.ensure_future(channel_class(receiver, session).get_msg())
        await asyncio.sleep(0.2)  # the channel waits on the socket
        session.send(sender, "execute_reply", {"status": "ok"})
        deadline = time.monotonic() + 10
        # Blocking, so the loop does not run: the message arrives and its edge is taken.
        while not receiver.getsockopt(zmq.EVENTS) & zmq.POLLIN:
            assert time.monotonic() < deadline, "the message never arrived"
            time.sleep(0.01)
        try:
            return await asyncio.wait_for(waiting, wait)
        except TimeoutError:
            return None
    finally:
        sender.close(linger=0)
        receiver.close(linger=0)
        context.term()


def test_jupyter_clients_channel_misses_such_a_message():
    # The situation the patient channel is for: without it, the wait never ends.
    assert asyncio.run(wait_after_a_missed_edge(AsyncZMQSocketChannel, 3)) is None


def test_the_patient_channel_reads_it_at_its_next_poll():
    msg = asyncio.run(wait_after_a_missed_edge(PatientChannel, 30))
    assert msg is not None and msg["msg_type"] == "execute_reply"


def test_a_wait_with_a_timeout_still_times_out():
    async def go():
        context = zmq.asyncio.Context()
        socket = context.socket(zmq.PAIR)
        socket.bind_to_random_port("tcp://127.0.0.1")
        try:
            with pytest.raises(Exception) as raised:
                await PatientChannel(socket, Session()).get_msg(timeout=0.2)
            return raised.type.__name__
        finally:
            socket.close(linger=0)
            context.term()

    assert asyncio.run(go()) == "Empty"


def test_job_runs_kernel_manager_makes_patient_clients():
    client = _encrypted_kernel_manager()().client()
    assert isinstance(client, PatientKernelClient)
    assert client.shell_channel_class is PatientChannel
    assert client.iopub_channel_class is PatientChannel
