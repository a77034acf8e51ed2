"""Keep a server with a busy kernel from looking idle to jupyterhub-idle-culler.

The culler stops servers whose ``last_activity`` in the hub is old. The
single-user server reports ``web_app.last_activity()`` to the hub, which is the
latest of: API requests, kernel messages, and the values of
``web_app.settings["last_activity_times"]`` (a hook jupyter_server provides for
extensions). A kernel busy in a long computation sends no messages, so without
help its server looks idle and is culled mid-run. :class:`BusyKernelActivity`
stamps ``last_activity_times[ACTIVITY_KEY]`` with the current time whenever, at
a poll, any kernel's ``execution_state`` is ``"busy"``.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from datetime import datetime
from typing import Any

from jupyter_server._tz import utcnow
from tornado.ioloop import PeriodicCallback

#: The key this extension owns in ``web_app.settings["last_activity_times"]``.
ACTIVITY_KEY = "nbplatform_lab_busy_kernels"


def busy_kernel_ids(kernel_manager: Any) -> list[str]:
    """Return the ids of the kernels whose last known state is ``busy``.

    Args:
        kernel_manager: The server's ``MappingKernelManager``.
    """
    busy = []
    for kernel_id in list(kernel_manager.list_kernel_ids()):
        try:
            kernel = kernel_manager.get_kernel(kernel_id)
        except KeyError:  # shut down since it was listed
            continue
        if getattr(kernel, "execution_state", None) == "busy":
            busy.append(kernel_id)
    return busy


def record_busy_kernel_activity(
    kernel_manager: Any, last_activity_times: MutableMapping[str, datetime]
) -> list[str]:
    """Record activity now if any kernel is busy.

    Args:
        kernel_manager: The server's ``MappingKernelManager``.
        last_activity_times: ``web_app.settings["last_activity_times"]``.

    Returns:
        The ids of the busy kernels (empty when nothing was recorded).
    """
    busy = busy_kernel_ids(kernel_manager)
    if busy:
        last_activity_times[ACTIVITY_KEY] = utcnow()
    return busy


class BusyKernelActivity:
    """Poll the kernels every ``interval`` seconds and record activity while one is busy.

    Args:
        kernel_manager: The server's ``MappingKernelManager``.
        last_activity_times: ``web_app.settings["last_activity_times"]``.
        interval: Seconds between polls; 0 disables the poll.
        log: Where to say what is going on.
    """

    def __init__(
        self,
        kernel_manager: Any,
        last_activity_times: MutableMapping[str, datetime],
        interval: float,
        log: logging.Logger,
    ) -> None:
        self.kernel_manager = kernel_manager
        self.last_activity_times = last_activity_times
        self.interval = interval
        self.log = log
        self._callback: PeriodicCallback | None = None

    def poll(self) -> None:
        """Check the kernels once."""
        try:
            busy = record_busy_kernel_activity(self.kernel_manager, self.last_activity_times)
        except Exception:
            self.log.exception("Could not check whether kernels are busy")
            return
        if busy:
            self.log.debug("Busy kernels %s: recorded server activity", ", ".join(busy))

    def start(self) -> None:
        """Start polling on the running event loop (no-op when the interval is 0)."""
        if self.interval <= 0 or self._callback is not None:
            return
        self.log.info("Recording server activity while a kernel is busy, every %ss", self.interval)
        self._callback = PeriodicCallback(self.poll, self.interval * 1000)
        self._callback.start()

    def stop(self) -> None:
        """Stop polling."""
        if self._callback is not None:
            self._callback.stop()
            self._callback = None
