"""Drift monitoring's state in the platform service: settings and threads."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from .settings import DriftSettings

log = logging.getLogger("nbplatform.drift")


@dataclass
class DriftState:
    """What the drift handlers share (``context.state["drift"]``).

    Attributes:
        settings: Read once at start.
        executor: Threads for database work and notices (which block).
        notices: Notices being delivered (kept until done; tests wait on them).
    """

    settings: DriftSettings
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(4, thread_name_prefix="drift")
    )
    notices: set[Future[Any]] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def in_background(self, function: Any, *args: Any) -> Future[Any]:
        """Run ``function(*args)`` on the threads, logging a failure; not awaited."""
        future = self.executor.submit(function, *args)
        with self._lock:
            self.notices.add(future)

        def done(f: Future[Any]) -> None:
            with self._lock:
                self.notices.discard(f)
            if f.exception() is not None:
                log.error("drift notices failed", exc_info=f.exception())

        future.add_done_callback(done)
        return future
