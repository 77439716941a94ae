"""A retry strategy for the OCI SDK that never outlives the invocation's deadline.

The SDK's default strategy may keep retrying for 600 s and its clients wait 60 s for a
read; a function has at most 300 s. This strategy is built per invocation, retries only
what can succeed later, sleeps with full jitter, cuts each attempt's read timeout to the
time left, and counts every attempt for the log line.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from oci import exceptions as oci_exceptions

from .deadline import Deadline

CONNECT_TIMEOUT_SECONDS = 5.0
READ_TIMEOUT_SECONDS = 60.0
BASE_DELAY_SECONDS = 0.25
MAX_DELAY_SECONDS = 8.0
# An attempt with less time than this left cannot finish; stop and say so instead.
MIN_ATTEMPT_SECONDS = 0.5

_RETRYABLE_409 = frozenset({"IncorrectState", "Conflict"})


def is_retryable(error: BaseException) -> bool:
    if isinstance(error, oci_exceptions.ServiceError):
        if error.status == 429 or error.status >= 500:
            return True
        if error.status == 409 and error.code in _RETRYABLE_409:
            return True
        # The copy-concurrency limit clears as other copies finish.
        return error.status == 400 and error.code == "LimitExceeded"
    # Connection resets and timeouts; a copy retried after one is safe because its retry
    # token makes the service answer with the copy it already made.
    return isinstance(error, oci_exceptions.RequestException | oci_exceptions.ConnectTimeout)


def is_retryable_except_409(error: BaseException) -> bool:
    """What a delete (or a restore) retries: as is_retryable, but never a 409. A 409 on a delete means the
    resource is changing state (another run deleting it), or OCI refuses for a reason a retry cannot
    change (an attached volume; a restore of a backup that is not AVAILABLE): read it again, or report
    it, instead of waiting the deadline out."""
    if isinstance(error, oci_exceptions.ServiceError) and error.status == 409:
        return False
    return is_retryable(error)


class RetriesExhausted(Exception):
    """A retryable error persisted until the invocation ran out of time."""

    def __init__(self, last_error: BaseException, attempts: int, seconds: float) -> None:
        super().__init__(f"gave up after {attempts} attempts in {seconds:.1f} s: {last_error}")
        self.last_error = last_error
        self.attempts = attempts
        self.seconds = seconds


@dataclass
class AttemptLog:
    """Attempts and retries across all calls of one invocation, from every worker thread."""

    attempts: int = 0
    retries: int = 0
    # Why it retried, as counts per error ("429 TooManyRequests": 3): bounded, unlike a list.
    retried_errors: Counter[str] = field(default_factory=Counter)
    # Worker threads reading compartments share the log; += on a shared counter can lose a count.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def attempted(self) -> None:
        with self._lock:
            self.attempts += 1

    def retried(self, error: str) -> None:
        with self._lock:
            self.retries += 1
            self.retried_errors[error] += 1


class DeadlineRetryStrategy:
    """Duck-types oci.retry.RetryStrategy: the SDK calls make_retrying_call()."""

    def __init__(
        self,
        deadline: Deadline,
        log: AttemptLog,
        retryable: Callable[[BaseException], bool] = is_retryable,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.deadline = deadline
        self.log = log
        self._retryable = retryable
        self._sleep = sleep

    def add_circuit_breaker_callback(self, callback: Any) -> None:
        """Circuit breakers are off in this function's clients; nothing to register."""

    def make_retrying_call(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            self.log.attempted()
            _bound_timeout(call, self.deadline.remaining())
            try:
                return call(*args, **kwargs)
            except Exception as error:
                if not self._retryable(error):
                    raise
                delay = random.uniform(0, min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS * 2**attempt))
                if self.deadline.remaining() - delay < MIN_ATTEMPT_SECONDS:
                    raise RetriesExhausted(error, attempt, time.monotonic() - started) from error
                self.log.retried(_describe(error))
                self._sleep(delay)


def _bound_timeout(call: Callable[..., Any], seconds_left: float) -> None:
    """Cut the client's read timeout to the time left; clients serve one call at a time."""
    base_client = getattr(call, "__self__", None)
    if base_client is not None and hasattr(base_client, "timeout"):
        read = max(0.1, min(READ_TIMEOUT_SECONDS, seconds_left))
        base_client.timeout = (min(CONNECT_TIMEOUT_SECONDS, read), read)


def _describe(error: BaseException) -> str:
    if isinstance(error, oci_exceptions.ServiceError):
        return f"{error.status} {error.code}"
    return type(error).__name__
