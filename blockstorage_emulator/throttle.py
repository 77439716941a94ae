"""Calls a second: the throttling OCI answers with 429 TooManyRequests.

Monitoring documents its limit (50 PostMetricData calls a second per tenancy) and the emulator
always enforces it. Block Storage and Identity publish no number, so their limits are off until
a test switches one on (Emulator.limit_call_rate). The clock is replaceable, so a test can hold
time still and count calls a second on any machine, however slow.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from . import errors


class CallRate:
    """At most `limit` calls in any one second (None: unlimited), counted across regions."""

    def __init__(self, limit: int | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._limit = limit
        self._recent: deque[float] = deque()

    @property
    def limit(self) -> int | None:
        return self._limit

    @limit.setter
    def limit(self, limit: int | None) -> None:
        if limit is not None and limit < 1:
            raise ValueError("a calls-a-second limit must be at least 1 (or None for no limit)")
        with self._lock:
            self._limit = limit
            self._recent.clear()

    def count(self) -> None:
        """Count one call, or raise TooManyRequests if it is one too many this second."""
        now = self.clock()
        with self._lock:
            if self._limit is None:
                return
            while self._recent and now - self._recent[0] >= 1.0:
                self._recent.popleft()
            if len(self._recent) >= self._limit:
                raise errors.TooManyRequests()
            self._recent.append(now)

    def reset(self) -> None:
        with self._lock:
            self._recent.clear()
