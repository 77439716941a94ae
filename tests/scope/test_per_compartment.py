"""The per-compartment reader's own promises (issue 22, finding 8), with real worker threads.

A bug in one compartment fails that compartment, named, not the run; and however the reading
ends, every worker stops at its next page and the reader waits for it, so that no request
leaves the function after its answer. The read functions here stand in for a pass's reads:
they page with check_time(), exactly as backups/listing.py's paged() does before each request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from backup_copier.backups.listing import OutOfTime, check_time
from backup_copier.backups.per_compartment import ScopeProgress, Step, read_each
from backup_copier.shared.context import Invocation
from backup_copier.shared.deadline import SAFETY_MARGIN_SECONDS, Deadline
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
