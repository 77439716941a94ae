"""What one expiry pass found and did, rendered as the answer and the log line.

`deleted`, `planned` (dry run) and `failed` list copies, at most maxDeletes (at most 1000)
each (a deleted copy whose expiry could not be recorded on its source says so, and
`recordFailures` counts them); `kept` counts copies by the rule that kept them; `remaining` counts due copies left
for the next run. So a pass over thousands of copies still answers in a few kilobytes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from ..backups.per_compartment import ScopeProgress, Unread
from ..shared.result import InvocationResult, Outcome
from ..shared.scope import Scope

StopReason = Literal["max_deletes", "deadline"]
UNREAD = Unread(
    "nothing was deleted in a compartment not listed whole (keep-last needs the whole picture)",
    narrower="name fewer destinationRegions",
)


@dataclass
class Summary:
    scope: Scope
    destination_regions: tuple[str, ...]
    dry_run: bool
    max_deletes: int
    keep_last: int
    deleted: list[dict[str, str]] = field(default_factory=list)
    planned: list[dict[str, str]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    kept: Counter[str] = field(default_factory=Counter)
    remaining: int = 0
    # Copies deleted whose expiry could not be recorded on their source (each `deleted` entry says why).
    record_failures: int = 0
    stopped_early: StopReason | None = None
    scan_complete: bool = False
    progress: ScopeProgress = field(default_factory=ScopeProgress)

    def result(self) -> InvocationResult:
        outcome, code, reason = self._verdict()
        result = InvocationResult(outcome, code, reason)
        result.extra = self.to_json()
        return result

    def to_json(self) -> dict[str, Any]:
        return {
            "action": "expire",
            **self.scope.to_json(),
            "destinationRegions": list(self.destination_regions),
            "dryRun": self.dry_run,
            "maxDeletes": self.max_deletes,
            "keepLastCopies": self.keep_last,
            "deleted": self.deleted,
            "planned": self.planned,
            "failed": self.failed,
            "kept": dict(sorted(self.kept.items())),
            "remaining": self.remaining,
            "recordFailures": self.record_failures,
            "stoppedEarly": self.stopped_early,
            "scanComplete": self.scan_complete,
            **self.progress.to_json(),
        }

    def _verdict(self) -> tuple[Outcome, str | None, str | None]:
        if self.failed:
            first = self.failed[0]
            return (
                Outcome.FAILED,
                first["reasonCode"],
                f"{len(self.failed)} deletions failed; the next run tries them again. First: "
                f"{first['copyId']} in {first['destinationRegion']}: {first['reason']}",
            )
        incomplete = self.progress.incomplete_verdict(UNREAD)
        if incomplete is not None:
            return Outcome.FAILED, *incomplete
        if self.dry_run:
            return Outcome.DRY_RUN, None, None
        if self.deleted:
            return Outcome.EXPIRED, None, None
        if self.remaining and self.stopped_early == "deadline":
            return (
                Outcome.FAILED,
                "DeadlineReached",
                f"the timeout ended the pass before any deletion; {self.remaining} copies are due. Raise the "
                "function's timeout (fn update function <app> <function> --timeout 300)",
            )
        if self.remaining:
            # A fanned-out pass's child whose share of maxDeletes was 0 reads and counts, and deletes nothing.
            return (
                Outcome.SKIPPED,
                "DeletionsWaiting",
                f"{self.remaining} copies are due and wait for the next run: maxDeletes is {self.max_deletes} here "
                "(a fanned-out pass's child gets its share of the coordinator's maxDeletes, which may be 0)",
            )
        return Outcome.SKIPPED, "NothingExpired", "no marked copy is past its expiry"
