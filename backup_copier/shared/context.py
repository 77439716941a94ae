"""Per-invocation context: who called, how long is left, and the attempts made so far."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from .deadline import Deadline
from .retries import AttemptLog, DeadlineRetryStrategy, is_retryable

_REQUEST_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass
class Invocation:
    """One call of the function; shared by every SDK call it makes."""

    call_id: str | None
    deadline: Deadline
    attempts: AttemptLog
    # Which errors are worth another attempt; a sweep narrows it (see reconcile_scan.py).
    retryable: Callable[[BaseException], bool] = is_retryable

    @property
    def retry_strategy(self) -> DeadlineRetryStrategy:
        return DeadlineRetryStrategy(self.deadline, self.attempts, self.retryable)

    def retrying_only(self, retryable: Callable[[BaseException], bool]) -> Invocation:
        """The same call (deadline, attempts, call id) with a narrower idea of what to retry."""
        return replace(self, retryable=retryable)

    def within(self, seconds: float) -> Invocation:
        """The same call with at most `seconds` for its next steps (attempts still counted)."""
        return replace(self, deadline=self.deadline.within(seconds))

    @property
    def opc_request_id(self) -> str | None:
        """The Fn call id, so a copy request can be traced from Oracle's side to this call."""
        if not self.call_id:
            return None
        return _REQUEST_ID_UNSAFE.sub("", self.call_id)[:64] or None
