"""Reading every compartment of a scope in the worker pool, each one whole or not at all.

The sweep, the expiry pass and the report each give a function that reads one compartment
(its destinations and its sources) and returns a small summary of it. Here they run
MAX_CONCURRENCY at a time; each result reaches the caller, in the caller's thread, only once
the compartment was read to the end, so nothing is ever acted on from a partial picture:
- a compartment whose listing was refused (404, 403) or kept failing is `failed`, with the
  sentence that says what to do, and the others go on;
- a compartment not read before the scan's deadline is `remaining`, for the next run.

Throttling in one compartment does not starve the others: each call's retries sleep in the
worker that made it, and every other worker goes on reading. An unexpected error (a bug, an odd
record) in one compartment fails that compartment, named with where it happened, not the run.
When the run stops reading, for whatever reason, every worker stops at its next page and the
reader waits for them: no request leaves the function after its answer, and the next warm
invocation never queues behind the last one's workers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import CancelledError, Future, as_completed, wait
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..shared.context import Invocation
from ..shared.outcomes import SERVICE_FAILURES, verdict_for
from ..shared.tracebacks import where
from ..shared.workers import Workers
from .listing import OutOfTime, check_time, stopping_when

Result = TypeVar("Result")
# The answer names this many failed or remaining compartments; the counts are always whole.
MAX_COMPARTMENTS_LISTED = 20


@dataclass
class Step:
    """What a worker is doing in its compartment, for the sentence if it fails."""

    action: str = ""
    region: str = ""

    def doing(self, action: str, region: str) -> None:
        self.action, self.region = action, region


@dataclass(frozen=True)
class CompartmentFailure:
    compartment_id: str
    reason_code: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"compartmentId": self.compartment_id, "reasonCode": self.reason_code, "reason": self.reason}


@dataclass
class ScopeProgress:
    """Which compartments of the scope were read, which could not be, and which were not reached."""

    # The scope in order, so that the answer lists failures the same way whatever the
    # number of workers or the order they finished in.
    order: dict[str, int] = field(default_factory=dict)
    scanned: int = 0
    failed: list[CompartmentFailure] = field(default_factory=list)
    remaining: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.failed and not self.remaining

    def fail(self, compartment_id: str, reason_code: str, reason: str) -> None:
        # Counted in the scope even when it was never handed to a reader (its parent's listing
        # of children failed), so every sentence's total is the whole scope.
        self.order.setdefault(compartment_id, len(self.order))
        self.failed.append(CompartmentFailure(compartment_id, reason_code, reason))

    def leave(self, compartment_id: str) -> None:
        """Not read before the deadline: left whole for the next run."""
        self.order.setdefault(compartment_id, len(self.order))
        self.remaining.append(compartment_id)

    def first_failure(self) -> CompartmentFailure | None:
        return min(self.failed, key=self._position) if self.failed else None

    def to_json(self) -> dict[str, Any]:
        failed = sorted(self.failed, key=self._position)[:MAX_COMPARTMENTS_LISTED]
        remaining = sorted(self.remaining, key=lambda ocid: self.order.get(ocid, len(self.order)))
        return {
            "compartmentsScanned": self.scanned,
            "compartmentsFailed": [failure.to_json() for failure in failed],
            "compartmentsFailedCount": len(self.failed),
            "compartmentsRemaining": {
                "count": len(self.remaining),
                "compartmentIds": remaining[:MAX_COMPARTMENTS_LISTED],
            },
        }

    def incomplete_verdict(self) -> tuple[str, str] | None:
        """(reason code, sentence) when some compartments were not read whole; None when all were."""
        first = self.first_failure()
        total = len(self.order)
        if first is not None:
            if total == 1:
                return first.reason_code, first.reason
            also = f", and {len(self.remaining)} were not reached before the timeout" if self.remaining else ""
            return (
                first.reason_code,
                f"{len(self.failed)} of {total} compartments could not be read{also}, so the run is incomplete; "
                f"the other {self.scanned} were done. First, {first.compartment_id}: {first.reason}",
            )
        if self.remaining:
            return (
                "DeadlineReached",
                f"the timeout came before {len(self.remaining)} of {total} compartments were read "
                f"(compartmentsRemaining), so the run is incomplete; the other {self.scanned} were done, nothing in "
                "the rest. Raise the function's timeout (up to 300 s), raise MAX_CONCURRENCY, or split the scope "
                "with compartmentIds",
            )
        return None

    def _position(self, failure: CompartmentFailure) -> int:
        return self.order.get(failure.compartment_id, len(self.order))


def scan_invocation(invocation: Invocation, share: float) -> Invocation:
    """The invocation with `share` of its time left for reading: the rest is kept for acting on it."""
    return invocation.within(invocation.deadline.remaining() * share)


class _Unreadable(Exception):
    def __init__(self, reason_code: str, reason: str) -> None:
        super().__init__(reason)
        self.reason_code = reason_code
        self.reason = reason


def read_each(
    compartments: Iterable[str],
    read: Callable[[str, Step], Result],
    workers: Workers,
    invocation: Invocation,
    progress: ScopeProgress,
) -> Iterator[tuple[str, Result]]:
    """(compartment, what `read` returned) for each compartment read whole, as they finish.

    `invocation` carries the scan's deadline: a compartment not started by then, or whose
    read it cut short, is remaining. A compartment whose read raised anything else is failed,
    named: the service's refusal with its sentence, a bug with where it happened.
    """
    ended = threading.Event()

    def task(compartment_id: str) -> Result:
        with stopping_when(ended):
            check_time(invocation)
            step = Step()
            try:
                return read(compartment_id, step)
            except OutOfTime:
                raise
            except SERVICE_FAILURES as error:
                action = f"{step.action} of compartment {compartment_id}"
                verdict = verdict_for(error, action=action, region=step.region)
                raise _Unreadable(verdict.reason_code or "ServiceError", verdict.reason or "") from None
            except Exception as error:  # a bug or an odd record: this compartment fails, not the run
                doing = f"{step.action} of compartment {compartment_id}" if step.action else f"read {compartment_id}"
                raise _Unreadable(
                    "InternalError",
                    f"{doing}: unexpected {where(error)}; nothing in this compartment was acted on, the others were "
                    "read as usual. Report it with this line (the function's log has the invocation)",
                ) from None

    executor = workers.executor()
    futures: dict[Future[Result], str] = {}
    for compartment_id in compartments:
        progress.order.setdefault(compartment_id, len(progress.order))
        futures[executor.submit(task, compartment_id)] = compartment_id
    try:
        for future in as_completed(futures):
            # Dropped as soon as it is read: a finished future holds its result, and a thousand
            # compartments' results held to the end would be the whole scope in memory.
            compartment_id = futures.pop(future)
            try:
                result = future.result()
            except (OutOfTime, CancelledError):
                progress.leave(compartment_id)
                continue
            except _Unreadable as unreadable:
                progress.fail(compartment_id, unreadable.reason_code, unreadable.reason)
                continue
            progress.scanned += 1
            yield compartment_id, result
    finally:
        # However the reading ends (all read, the caller stopped early, or a bug in the caller's
        # fold): no worker starts another compartment, those reading stop at their next page, and
        # this waits for them, so that no request leaves after the answer.
        ended.set()
        for future in futures:
            future.cancel()
        wait(futures)
