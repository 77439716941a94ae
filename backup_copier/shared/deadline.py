"""The invocation's time budget, from the Fn-Deadline header.

The platform kills a function at its deadline without a word, so every wait and every
request timeout is cut from what is left, minus a margin to write the answer.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

# Time kept back to render the answer and the log line, and for the fdk to send it.
SAFETY_MARGIN_SECONDS = 2.0
# When the header is missing or unreadable, the fdk's own default applies.
DEFAULT_BUDGET_SECONDS = 30.0


class OutOfTime(Exception):
    """Too little time is left for another step, or the run this step serves has ended.

    Raised by backups/listing.py's check_time; here, beneath everything, so that outcomes.py can
    answer one that escapes a step as the deadline it is (DeadlineReached), never as a bug."""


class Deadline:
    def __init__(self, seconds_left: float) -> None:
        self._clock = time.monotonic
        self.started = self._clock()
        self.expires = self.started + max(0.0, seconds_left - SAFETY_MARGIN_SECONDS)

    @classmethod
    def from_header(cls, value: str | None) -> Deadline:
        """Parse an RFC 3339 Fn-Deadline; an unreadable one falls back to the fdk's default."""
        if not value:
            return cls(DEFAULT_BUDGET_SECONDS)
        try:
            when = datetime.fromisoformat(value.strip())
        except ValueError:
            return cls(DEFAULT_BUDGET_SECONDS)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return cls((when - datetime.now(UTC)).total_seconds())

    def within(self, seconds: float) -> Deadline:
        """A deadline no later than this one, for a step that must not take all the time left."""
        narrowed = Deadline.__new__(Deadline)
        narrowed._clock = self._clock
        narrowed.started = self._clock()
        narrowed.expires = min(self.expires, narrowed.started + seconds)
        return narrowed

    def remaining(self) -> float:
        return max(0.0, self.expires - self._clock())

    def elapsed(self) -> float:
        return self._clock() - self.started

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0
