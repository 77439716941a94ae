"""The per-compartment reader's own promises (issue 22, finding 8; issue 23), with real worker threads.

A bug in one compartment fails that compartment, named, not the run; however the reading
ends, every worker stops at its next page and the reader waits for it, so that no request
leaves the function after its answer; and above the memory guard's mark no compartment starts. The read functions here stand in for a pass's reads:
they page with check_time(), exactly as backups/listing.py's paged() does before each request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from backup_copier.backups.listing import OutOfTime, check_time
from backup_copier.backups.per_compartment import MEMORY_LIMIT, ScopeProgress, Step, Unread, read_each
from backup_copier.shared.context import Invocation
from backup_copier.shared.deadline import SAFETY_MARGIN_SECONDS, Deadline
from backup_copier.shared.errors import ListPageUnreadable
from backup_copier.shared.memory import MIB, MemoryGuard
from backup_copier.shared.retries import AttemptLog
from backup_copier.shared.workers import Workers

COMPARTMENTS = [f"ocid1.compartment.oc1..aaaa{index:04d}" for index in range(8)]


def _invocation(seconds: float = 60.0) -> Invocation:
    return Invocation("01J0000000000000000000TEST", Deadline(seconds + SAFETY_MARGIN_SECONDS), AttemptLog())


class _Pager:
    """Counts the pages each compartment's reader fetched and how many readers are running."""

    def __init__(self, invocation: Invocation, pages: int, page_seconds: float = 0.01) -> None:
        self.invocation = invocation
        self.pages = pages
        self.page_seconds = page_seconds
        self.fetched = 0
        self.running = 0
        self.lock = threading.Lock()

    def read(self, compartment_id: str, step: Step) -> int:
        step.doing("list the copies", "us-ashburn-1")
        with self.lock:
            self.running += 1
        try:
            for _ in range(self.pages):
                check_time(self.invocation)  # before each request, as paged() does
                time.sleep(self.page_seconds)
                with self.lock:
                    self.fetched += 1
            return self.pages
        finally:
            with self.lock:
                self.running -= 1


def _failing_in(bad: str, pager: _Pager) -> Callable[[str, Step], int]:
    def read(compartment_id: str, step: Step) -> int:
        if compartment_id == bad:
            step.doing("list the source backups", "us-phoenix-1")
            raise KeyError("an odd record")
        return pager.read(compartment_id, step)

    return read


def test_a_bug_in_one_compartment_fails_that_compartment_named_and_the_others_are_read() -> None:
    invocation = _invocation()
    pager = _Pager(invocation, pages=2)
    progress = ScopeProgress()

    read = dict(read_each(COMPARTMENTS, _failing_in(COMPARTMENTS[2], pager), Workers(4), invocation, progress))

    assert sorted(read) == sorted(c for c in COMPARTMENTS if c != COMPARTMENTS[2])
    [failure] = progress.failed
    assert failure.compartment_id == COMPARTMENTS[2] and failure.reason_code == "InternalError"
    assert failure.reason.startswith(f"list the source backups of compartment {COMPARTMENTS[2]}: unexpected KeyError")
    assert "an odd record" not in failure.reason  # the message may quote data: it stays out of the log
    code, sentence = progress.incomplete_verdict() or ("", "")
    assert code == "InternalError"
    assert "1 of 8 compartments could not be read, so the run is incomplete; the other 7 were done" in sentence


def test_a_caller_that_stops_early_leaves_no_worker_reading() -> None:
    """The caller takes the first compartment read and closes the reader: the workers reading
    the others stop at their next page, and close() returns only once none is running."""
    invocation = _invocation()
    slow = _Pager(invocation, pages=1000, page_seconds=0.001)
    quick = _Pager(invocation, pages=1)
    progress = ScopeProgress()

    def read(compartment_id: str, step: Step) -> int:
        return (quick if compartment_id == COMPARTMENTS[0] else slow).read(compartment_id, step)

    reading = read_each(COMPARTMENTS, read, Workers(4), invocation, progress)
    first, _ = next(reading)
    reading.close()

    assert first == COMPARTMENTS[0]
    assert slow.running == 0, "a worker was still reading after the reader closed"
    assert slow.fetched < 3 * 1000  # stopped long before the others were read whole


def test_the_caller_failing_in_its_fold_stops_the_workers() -> None:
    invocation = _invocation()
    pager = _Pager(invocation, pages=1000, page_seconds=0.001)
    quick = _Pager(invocation, pages=1)
    progress = ScopeProgress()

    def read(compartment_id: str, step: Step) -> int:
        return (quick if compartment_id == COMPARTMENTS[0] else pager).read(compartment_id, step)

    try:
        for _compartment, _pages in read_each(COMPARTMENTS, read, Workers(4), invocation, progress):
            raise RuntimeError("a bug in the caller's fold")
    except RuntimeError:
        pass
    else:
        raise AssertionError("the fold's error must propagate")

    assert pager.running == 0, "a worker was still reading after the reader returned"
    assert pager.fetched < 3 * 1000


def test_the_deadline_stops_every_worker_at_its_next_page() -> None:
    invocation = _invocation(seconds=1.5)  # STEP_SECONDS is 1: about half a second of reading
    pager = _Pager(invocation, pages=100_000, page_seconds=0.005)
    progress = ScopeProgress()

    read = dict(read_each(COMPARTMENTS, pager.read, Workers(4), invocation, progress))

    assert read == {}
    assert pager.running == 0
    assert sorted(progress.remaining) == sorted(COMPARTMENTS)
    code, sentence = progress.incomplete_verdict() or ("", "")
    assert code == "DeadlineReached" and "before 8 of 8 compartments were read" in sentence


def test_out_of_time_raised_by_a_read_leaves_the_compartment_for_the_next_run() -> None:
    invocation = _invocation()
    progress = ScopeProgress()

    def read(compartment_id: str, step: Step) -> int:
        raise OutOfTime()

    assert list(read_each(COMPARTMENTS[:2], read, Workers(2), invocation, progress)) == []
    assert progress.failed == [] and sorted(progress.remaining) == COMPARTMENTS[:2]


class _TripsAfter(MemoryGuard):
    """A guard whose mark is reached once `reads` compartments were let start: the pass's behaviour
    at the mark, whatever this process's own memory."""

    def __init__(self, reads: int) -> None:
        super().__init__(128 * MIB)
        object.__setattr__(self, "checks", [])
        object.__setattr__(self, "reads", reads)

    def is_above(self, resident: int | None) -> bool:
        self.checks.append(resident)
        return len(self.checks) > self.reads


def test_above_the_memory_mark_no_compartment_starts_and_those_read_are_handed_over() -> None:
    invocation = _invocation()
    pager = _Pager(invocation, pages=2)
    progress = ScopeProgress()

    guard = _TripsAfter(reads=3)
    read = dict(read_each(COMPARTMENTS, pager.read, Workers(1), invocation, progress, guard))

    # One worker: the first three in scope order were read whole; the fourth met the mark, and
    # none started after it.
    assert sorted(read) == COMPARTMENTS[:3] and pager.fetched == 3 * 2
    assert all(resident and resident > 0 for resident in guard.checks)  # the process's own, from /proc
    assert sorted(progress.remaining) == COMPARTMENTS[3:]
    assert progress.remaining_why == {MEMORY_LIMIT: 5}
    assert progress.to_json()["compartmentsRemaining"]["byReason"] == {MEMORY_LIMIT: 5}
    code, sentence = progress.incomplete_verdict() or ("", "")
    assert code == MEMORY_LIMIT
    assert sentence.startswith("5 of 8 compartments were not started (compartmentsRemaining): resident memory ")
    assert "at or above 85% of the function's 128 MB" in sentence
    assert "The other 3 were done" in sentence
    assert sentence.endswith(
        "Raise the function's memory (fn update function <app> <function> --memory 256, "
        "docs/tenancy-wide.md has what each action needs), lower MAX_CONCURRENCY, or turn on FAN_OUT"
    )


def test_below_the_memory_mark_every_compartment_is_read() -> None:
    invocation = _invocation()
    progress = ScopeProgress()
    guard = MemoryGuard.from_environment({"FN_MEMORY": str(1024 * 1024)})

    read = dict(read_each(COMPARTMENTS, _Pager(invocation, pages=1).read, Workers(4), invocation, progress, guard))

    assert sorted(read) == sorted(COMPARTMENTS) and progress.complete


def test_a_page_that_is_not_a_list_fails_that_compartment_with_its_own_sentence() -> None:
    invocation = _invocation()
    pager = _Pager(invocation, pages=1)
    progress = ScopeProgress()
    said = "ListVolumeBackups in us-phoenix-1 for compartment X answered page 2 with something that is not a list"

    def read(compartment_id: str, step: Step) -> int:
        if compartment_id == COMPARTMENTS[1]:
            raise ListPageUnreadable(said)
        return pager.read(compartment_id, step)

    found = dict(read_each(COMPARTMENTS, read, Workers(4), invocation, progress))

    assert len(found) == 7
    [failure] = progress.failed
    assert (failure.compartment_id, failure.reason_code, failure.reason) == (
        COMPARTMENTS[1],
        "ListPageUnreadable",
        said,
    )


def test_one_sentence_per_way_a_scope_is_not_read_whole_in_the_actions_words() -> None:
    unread = Unread("nothing was deleted in a compartment not listed whole", narrower="name fewer destinationRegions")
    progress = ScopeProgress()
    progress.order = {ocid: index for index, ocid in enumerate(COMPARTMENTS[:4])}
    progress.scanned = 2
    progress.leave(COMPARTMENTS[3])
    progress.fail(COMPARTMENTS[2], "NotAuthorizedOrNotFound", "refused.")

    code, sentence = progress.incomplete_verdict(unread) or ("", "")

    assert code == "NotAuthorizedOrNotFound"
    assert sentence == (
        "1 of 4 compartments could not be read, and 1 were not reached before the timeout, so the run is incomplete; "
        f"the other 2 were done. First, {COMPARTMENTS[2]}: refused. Nothing was deleted in a compartment not listed "
        "whole."
    )
    progress.failed.clear()
    code, sentence = progress.incomplete_verdict(unread) or ("", "")
    assert code == "DeadlineReached" and sentence.endswith("raise MAX_CONCURRENCY, or name fewer destinationRegions")

    alone = ScopeProgress()
    alone.fail(COMPARTMENTS[0], "NotAuthorizedOrNotFound", "refused")
    assert alone.incomplete_verdict(unread) == (
        "NotAuthorizedOrNotFound",
        "refused. Nothing was deleted in a compartment not listed whole.",
    )
