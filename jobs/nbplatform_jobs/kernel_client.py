"""The kernel client of job runs: its waits for a message look again every second.

nbclient (under papermill) waits for a cell's reply and outputs with
``get_msg(timeout=None)``, one asyncio future per socket woken by the ZMQ
socket's file descriptor. That descriptor signals edges: when an edge is missed
(something read the socket's ``EVENTS`` after the message arrived and before
the loop looked), the future is never woken although the message waits in the
socket. A run then hangs after the kernel has finished the cell, with the
kernel idle and the reply and outputs queued, until its timeout (seen in a test
run: a job's last cell done at 03:06:18, its run still running 20 minutes later,
the shell socket's ``EVENTS`` saying ``POLLIN``).

:class:`PatientChannel` waits in steps of :data:`POLL_SECONDS` instead: each
step ends in a real ``zmq_poll``, which sees a waiting message whatever the
descriptor said. A wait with a timeout is left as it is.
"""

from __future__ import annotations

from queue import Empty
from typing import Any

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from traitlets import Type

__all__ = ["POLL_SECONDS", "PatientChannel", "PatientKernelClient"]

#: How long one step of an unbounded wait lasts.
POLL_SECONDS = 1.0


class PatientChannel(AsyncZMQSocketChannel):
    """A channel whose unbounded ``get_msg`` polls the socket every :data:`POLL_SECONDS`."""

    async def get_msg(self, timeout: float | None = None) -> dict[str, Any]:  # type: ignore[override]
        """The next message; with ``timeout=None``, however long it takes.

        Raises:
            queue.Empty: No message within ``timeout`` seconds (when one is given).
        """
        if timeout is not None:
            return await super().get_msg(timeout)
        while True:
            try:
                return await super().get_msg(POLL_SECONDS)
            except Empty:
                continue


class PatientKernelClient(AsyncKernelClient):
    """papermill's asynchronous kernel client with :class:`PatientChannel` channels."""

    shell_channel_class = Type(PatientChannel)  # type: ignore[assignment]
    iopub_channel_class = Type(PatientChannel)  # type: ignore[assignment]
    stdin_channel_class = Type(PatientChannel)  # type: ignore[assignment]
    control_channel_class = Type(PatientChannel)  # type: ignore[assignment]
