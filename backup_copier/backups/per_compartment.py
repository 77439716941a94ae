"""Reading every compartment of a scope in the worker pool, each one whole or not at all.

Every action over a scope (scope_pass.py) gives a function that reads one compartment (its
destinations and its sources) and returns a small summary of it. Here they run
MAX_CONCURRENCY at a time; each result reaches the caller, in the caller's thread, only once
the compartment was read to the end, so nothing is ever acted on from a partial picture:
- a compartment whose listing was refused (404, 403) or kept failing, or answered a page
  that is not a list, is `failed`, with the sentence that says what to do, and the others go on;
- a compartment not read before the scan's deadline is `remaining`, for the next run;
- so is every compartment not started once resident memory passed the memory guard's mark
  (shared/memory.py): what was read is still acted on and answered, rather than the function
  being stopped by the platform with no answer at all.

Throttling in one compartment does not starve the others: each call's retries sleep in the
worker that made it, and every other worker goes on reading. An unexpected error (a bug, an odd
record) in one compartment fails that compartment, named with where it happened, not the run.
When the run stops reading, for whatever reason, every worker stops at its next page and the
reader waits for them: no request leaves the function after its answer, and the next warm
invocation never queues behind the last one's workers.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import CancelledError, Future, as_completed, wait
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..shared.context import Invocation
from ..shared.errors import ListPageUnreadable
from ..shared.memory import MemoryGuard, resident_bytes
from ..shared.outcomes import SERVICE_FAILURES, verdict_for
from ..shared.tracebacks import where
from ..shared.workers import Workers
from .lean_listing import MalformedItems
from .listing import OutOfTime, check_time, stopping_when

Result = TypeVar("Result")
# The answer names this many failed or remaining compartments; the counts are always whole.
MAX_COMPARTMENTS_LISTED = 20
# Why a compartment was not read: the reading's deadline came, or the memory guard stopped it.
DEADLINE = "DeadlineReached"
MEMORY_LIMIT = "MemoryLimit"


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


@dataclass(frozen=True)
class Unread:
    """What an action says of the compartments it did not read whole, in its own words."""

    # What did not happen in them: "nothing was copied in a compartment not read whole".
    left_undone: str
    # The last way out of a timeout, after the timeout and MAX_CONCURRENCY: "narrow sinceHours or kinds".
    narrower: str = "split the scope with compartmentIds"


# The words of a run that is not one action's (a coordinator's listing of the scope).
UNREAD = Unread("nothing was done in a compartment not read whole")


@dataclass
class ScopeProgress:
    """Which compartments of the scope were read, which could not be, and which were not started, and why.

    Also the items its listings met that were not records (MalformedItems), from the
    compartments read whole: counted and named in every answer, never acted on.
    """

    # The scope in order, so that the answer lists failures the same way whatever the
    # number of workers or the order they finished in.
    order: dict[str, int] = field(default_factory=dict)
    scanned: int = 0
    failed: list[CompartmentFailure] = field(default_factory=list)
    remaining: list[str] = field(default_factory=list)
    # Why each remaining compartment was not read: DEADLINE or MEMORY_LIMIT.
    remaining_why: Counter[str] = field(default_factory=Counter)
    # The memory guard's measure when it stopped the reading (MemoryGuard.describe), for the sentence.
    memory: str | None = None
    malformed: MalformedItems = field(default_factory=MalformedItems)

    @property
    def complete(self) -> bool:
        return not self.failed and not self.remaining

    def fail(self, compartment_id: str, reason_code: str, reason: str) -> None:
        # Counted in the scope even when it was never handed to a reader (its parent's listing
        # of children failed), so every sentence's total is the whole scope.
        self.order.setdefault(compartment_id, len(self.order))
        self.failed.append(CompartmentFailure(compartment_id, reason_code, reason))

    def leave(self, compartment_id: str, why: str = DEADLINE) -> None:
        """Not read, for `why` (the deadline, or the memory guard): left whole for the next run."""
        self.order.setdefault(compartment_id, len(self.order))
        self.remaining.append(compartment_id)
        self.remaining_why[why] += 1

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
                "byReason": dict(sorted(self.remaining_why.items())),
            },
            "malformedItems": self.malformed.to_json(),
        }

    def incomplete_verdict(self, unread: Unread = UNREAD) -> tuple[str, str] | None:
        """(reason code, sentence) when some compartments were not read whole; None when all were.

        The one place that says it, for every action: the memory guard's stop first (every run
        would meet it again), then the first compartment that could not be read, then the timeout.
        """
        total = len(self.order)
        out_of_memory = self.remaining_why[MEMORY_LIMIT]
        timed_out = self.remaining_why[DEADLINE]
        first = self.first_failure()
        if out_of_memory:
            failed = f"; {len(self.failed)} could not be read (compartmentsFailed)" if self.failed else ""
            timeout = f"; {timed_out} were not reached before the timeout" if timed_out else ""
            return (
                MEMORY_LIMIT,
                f"{out_of_memory} of {total} compartments were not started (compartmentsRemaining): "
                f"{self.memory or 'resident memory reached the high-water mark'}, and a function past its memory is "
                f"stopped with no answer at all. The other {self.scanned} were done{failed}{timeout}, and "
                f"{unread.left_undone}. Raise the function's memory (fn update function <app> <function> --memory "
                "256, docs/tenancy-wide.md has what each action needs), lower MAX_CONCURRENCY, or turn on FAN_OUT",
            )
        if first is not None:
            if total == 1:
                return first.reason_code, _then(first.reason, unread.left_undone)
            also = f", and {timed_out} were not reached before the timeout" if timed_out else ""
            return (
                first.reason_code,
                _then(
                    f"{len(self.failed)} of {total} compartments could not be read{also}, so the run is incomplete; "
                    f"the other {self.scanned} were done. First, {first.compartment_id}: {first.reason}",
                    unread.left_undone,
                ),
            )
        if timed_out:
            return (
                DEADLINE,
                f"the timeout came before {timed_out} of {total} compartments were read (compartmentsRemaining), "
                f"so the run is incomplete; the other {self.scanned} were done, and {unread.left_undone}. Raise the "
                "function's timeout (fn update function <app> <function> --timeout 300), raise MAX_CONCURRENCY, or "
                f"{unread.narrower}",
            )
        return None

    def _position(self, failure: CompartmentFailure) -> int:
        return self.order.get(failure.compartment_id, len(self.order))


def _then(sentence: str, words: str) -> str:
    """`words` as a sentence of their own after `sentence`."""
    stop = "" if sentence.endswith(".") else "."
    return f"{sentence}{stop} {words[:1].upper()}{words[1:]}."


class _Unreadable(Exception):
    def __init__(self, reason_code: str, reason: str) -> None:
        super().__init__(reason)
        self.reason_code = reason_code
        self.reason = reason


class _NotStarted(Exception):
    """The memory guard stopped the reading before this compartment: left whole for the next run."""

    def __init__(self, measured: str) -> None:
        super().__init__(measured)
        self.measured = measured


def read_each(
    compartments: Iterable[str],
    read: Callable[[str, Step], Result],
    workers: Workers,
    invocation: Invocation,
    progress: ScopeProgress,
    guard: MemoryGuard | None = None,
) -> Iterator[tuple[str, Result]]:
    """(compartment, what `read` returned) for each compartment read whole, as they finish.

    `invocation` carries the scan's deadline: a compartment not started by then, or whose
    read it cut short, is remaining. With a `guard`, no compartment starts once resident memory
    is above its high-water mark (and none after it, even should memory fall back: the run
    answers once, with one reason): each is remaining too, for MEMORY_LIMIT. A compartment whose
    read raised anything else is failed, named: the service's refusal with its sentence, a page
    that is not a list with its request id, a bug with where it happened.
    """
    ended = threading.Event()
    memory_full = threading.Event()

    def task(compartment_id: str) -> Result:
        with stopping_when(ended):
            check_time(invocation)
            if guard is not None:
                _check_memory(guard, memory_full)
            step = Step()
            try:
                return read(compartment_id, step)
            except OutOfTime:
                raise
            except SERVICE_FAILURES as error:
                action = f"{step.action} of compartment {compartment_id}"
                verdict = verdict_for(error, action=action, region=step.region)
                raise _Unreadable(verdict.reason_code or "ServiceError", verdict.reason or "") from None
            except ListPageUnreadable as unreadable:
                raise _Unreadable(unreadable.code, unreadable.message) from None
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
            except _NotStarted as not_started:
                progress.leave(compartment_id, MEMORY_LIMIT)
                progress.memory = progress.memory or not_started.measured
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


def _check_memory(guard: MemoryGuard, memory_full: threading.Event) -> None:
    """Raise _NotStarted once resident memory reached the guard's mark: then, and ever after in this run."""
    if memory_full.is_set():
        raise _NotStarted("")
    resident = resident_bytes()
    if guard.is_above(resident):
        memory_full.set()
        raise _NotStarted(guard.describe(resident))
