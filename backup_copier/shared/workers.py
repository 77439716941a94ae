"""The container's worker threads, which read the compartments of a scope at once.

Reading a tenancy is waiting: each list call spends tens of milliseconds at the service and
microseconds here, so MAX_CONCURRENCY threads read that many compartments in the time of one.
The pool lives as long as the container, like the clients: its threads keep their own
clients (clients.py) from one warm invocation to the next.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from .memory import share_allocator_arenas


class Workers:
    """MAX_CONCURRENCY threads, started on first use: the event path never starts one."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                share_allocator_arenas()
                self._executor = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="compartment-reader")
            return self._executor
