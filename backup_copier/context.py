"""Per-invocation context: who called, how long is left, and the attempts made so far."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .deadline import Deadline
from .retries import AttemptLog, DeadlineRetryStrategy

_REQUEST_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass
class Invocation:
    """One call of the function; shared by every SDK call it makes."""

    call_id: str | None
    deadline: Deadline
    attempts: AttemptLog

    @property
    def retry_strategy(self) -> DeadlineRetryStrategy:
        return DeadlineRetryStrategy(self.deadline, self.attempts)

    @property
    def opc_request_id(self) -> str | None:
        """The Fn call id, so a copy request can be traced from Oracle's side to this call."""
        if not self.call_id:
            return None
        return _REQUEST_ID_UNSAFE.sub("", self.call_id)[:64] or None
