"""Imported first by the warm executors' fork server: it dies with the scheduler.

A ``forkserver`` server notices that its parent is gone only between requests,
so a scheduler killed while the server imports papermill (seconds of CPU) would
leave it running on. On Linux this asks for ``SIGKILL`` when the parent dies
(``PR_SET_PDEATHSIG``; children forked from the server, i.e. running executors,
are not affected: they are settled by the next scheduler). Elsewhere it does nothing.
"""

from __future__ import annotations

import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent or parent == 1:  # the parent died before the request
        os._exit(0)


_die_with_parent()
