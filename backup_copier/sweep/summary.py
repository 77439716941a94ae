"""What one sweep found and did, rendered as the answer and the log line.

`scanned` and `skipped` count source backups; `alreadyCopied`, `copied`, `planned`,
`failed` and `remaining` count (backup, destination region) pairs. The lists hold at most
maxCopies (at most 100) entries, because that many copy attempts is all a run makes, so a
sweep of thousands of backups still answers in a few kilobytes.

The metrics are counted per compartment read whole (Tally) and posted into it, zero included,
as the report's are: a run split over a fan-out's children posts exactly the streams of one
unsplit run, and an alarm on a compartment reads that compartment, whichever run read it. Copies
whose mark could not be written (made now, or made earlier and not mended now) are counted too,
as the event path counts them: copy_mark_failures by destination region, only when there are any.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from ..backups.marker import mark_failure_counts
from ..backups.per_compartment import ScopeProgress, Unread
from ..shared.kinds import BackupKind
from ..shared.metrics import SWEEP_COPIED, SWEEP_FAILED, SWEEP_REMAINING, Metric, MetricsOutcome
from ..shared.result import InvocationResult, Outcome
from ..shared.scope import Scope

StopReason = Literal["copy_limit", "max_copies", "deadline"]
UNREAD = Unread("nothing was copied in a compartment not read whole", narrower="narrow sinceHours or kinds")

_STOP_ADVICE: dict[str, str] = {
    "copy_limit": "the limit of concurrent cross-region copies is reached; the next run continues once copies finish",
    "max_copies": "maxCopies copies were made; the next run continues (or raise maxCopies, up to 100)",
    "deadline": "the function's timeout ended the run; the next run continues where this one stopped",
}


@dataclass
class Tally:
    """One compartment's counts, as its metrics post them: copies made and failed, and pairs still missing."""

    made: int = 0
    failed: int = 0
    remaining: int = 0
    # Copies left without their mark, by destination region.
    mark_failures: Counter[str] = field(default_factory=Counter)


@dataclass
class Summary:
    scope: Scope
    source_region: str
    destination_regions: tuple[str, ...]
    kinds: tuple[BackupKind, ...]
    since_hours: float
    dry_run: bool
    scanned: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    already_copied: int = 0
    copied: list[dict[str, Any]] = field(default_factory=list)
    planned: list[dict[str, str]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    # Copies this function made earlier whose mark it wrote now.
    marked: list[dict[str, str]] = field(default_factory=list)
    # Such copies beyond the MAX_MARKS_PER_RUN one run marks, oldest first: the next run marks them.
    marks_waiting: int = 0
    remaining: Counter[str] = field(default_factory=Counter)
    in_flight: int = 0
    stopped_early: StopReason | None = None
    scan_complete: bool = False
    progress: ScopeProgress = field(default_factory=ScopeProgress)
    metrics: MetricsOutcome = field(default_factory=MetricsOutcome)
    # The compartments read whole, each with its counts: only they post metrics.
    tallies: dict[str, Tally] = field(default_factory=dict)

    def read_whole(self, compartment_id: str) -> None:
        self.tallies.setdefault(compartment_id, Tally())

    def record_copy(self, compartment_id: str, entry: dict[str, Any]) -> None:
        self.copied.append(entry)
        self.tallies[compartment_id].made += 1

    def record_failure(self, compartment_id: str, entry: dict[str, str]) -> None:
        self.failed.append(entry)
        self.tallies[compartment_id].failed += 1

    def record_mark_failure(self, compartment_id: str, region: str) -> None:
        """A copy into `region` whose mark could not be written: it would never expire."""
        self.tallies[compartment_id].mark_failures[region] += 1

    def defer(self, compartment_id: str, why: str, stop: StopReason | None = None, count: int = 1) -> None:
        """Missing copies left for the next run; `stop` names what ended copying, if anything did."""
        self.remaining[why] += count
        self.tallies[compartment_id].remaining += count
        if stop is not None and self.stopped_early is None:
            self.stopped_early = stop

    def counts(self) -> Iterator[Metric]:
        """What an alarm needs to say the sweep is not catching up: copies made, failed and still missing,
        for each compartment read whole, zero included.

        A compartment not read whole posts nothing: its `remaining` would be a lower bound, and a
        zero there would read as "caught up".
        """
        dimensions = {"sourceRegion": self.source_region}
        for compartment_id, tally in self.tallies.items():
            yield Metric(SWEEP_COPIED, dimensions, tally.made, compartment_id=compartment_id)
            yield Metric(SWEEP_FAILED, dimensions, tally.failed, compartment_id=compartment_id)
            yield Metric(SWEEP_REMAINING, dimensions, tally.remaining, compartment_id=compartment_id)
            yield from mark_failure_counts(tally.mark_failures, compartment_id)

    def result(self) -> InvocationResult:
        outcome, code, reason = self._verdict()
        result = InvocationResult(outcome, code, reason, source_region=self.source_region)
        result.mark_failures = sum(sum(tally.mark_failures.values()) for tally in self.tallies.values())
        result.extra = self.to_json()
        return result

    def to_json(self) -> dict[str, Any]:
        return {
            "action": "reconcile",
            **self.scope.to_json(),
            "destinationRegions": list(self.destination_regions),
            "kinds": [kind.value for kind in self.kinds],
            "sinceHours": self.since_hours,
            "dryRun": self.dry_run,
            "scanned": self.scanned,
            "skipped": sum(self.skipped.values()),
            "skippedByReason": dict(sorted(self.skipped.items())),
            "alreadyCopied": self.already_copied,
            "copied": self.copied,
            "planned": self.planned,
            "failed": self.failed,
            "marked": self.marked,
            "marksWaiting": self.marks_waiting,
            "remaining": sum(self.remaining.values()),
            "remainingByReason": dict(sorted(self.remaining.items())),
            "inFlight": self.in_flight,
            "stoppedEarly": self.stopped_early,
            "scanComplete": self.scan_complete,
            **self.progress.to_json(),
            **self.metrics.to_json(),
        }

    def _verdict(self) -> tuple[Outcome, str | None, str | None]:
        if self.failed:
            first = self.failed[0]
            return (
                Outcome.FAILED,
                first["reasonCode"],
                f"{len(self.failed)} copies failed; the next run retries them. First: "
                f"{first['backupId']} to {first['destinationRegion']}: {first['reason']}",
            )
        incomplete = self.progress.incomplete_verdict(UNREAD)
        if incomplete is not None:
            return Outcome.FAILED, *incomplete
        if self.copied:
            return Outcome.COPIED, None, None
        if self.dry_run:
            return Outcome.DRY_RUN, None, None
        if self.stopped_early == "deadline":
            # No copy made before the deadline: a schedule repeating this would never catch up.
            return (
                Outcome.FAILED,
                "DeadlineReached",
                f"the timeout ended the sweep after {self.scanned} backups and before any copy; raise the "
                "function's timeout (fn update function <app> <function> --timeout 300) or narrow sinceHours/kinds",
            )
        if self.remaining:
            why = self.stopped_early or "copy_limit"
            return Outcome.SKIPPED, "CopiesWaiting", f"{sum(self.remaining.values())} copies wait: {_STOP_ADVICE[why]}"
        return Outcome.ALREADY_COPIED, None, None
