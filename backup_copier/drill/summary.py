"""What one drill pass found and did, rendered as the answer and the log line.

Counts (`started`, `inFlight`, `passed`, `failed`, `deleted`, `leftAttached`) and one entry per
drill the pass touched: the volume, region, copy, what was restored, its state and restoreMinutes.
A failed drill makes the outcome `failed`, its reason naming the drill; so does anything the pass
could not do (a restore refused, a delete that failed, a compartment not read).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..backups.per_compartment import ScopeProgress
from ..shared.metrics import MetricsOutcome
from ..shared.result import InvocationResult, Outcome
from ..shared.scope import Scope

# The answer lists this many drills; the counts are always whole.
MAX_DRILLS_LISTED = 100


@dataclass
class Entry:
    """One drill as the answer names it."""

    volume: str
    kind: str
    region: str
    copy: str
    restored: str | None
    # started, restoring, passed, failed, gone, ending (its verdict was recorded by an earlier pass; it is
    # being deleted), unproven (it cannot be proven a drill: never touched), or in a dry run wouldStart.
    state: str
    restore_minutes: float | None = None
    hydrated: bool | None = None
    size_in_gbs: int | None = None
    deleted: bool = False
    left_attached: bool = False
    # In a dry run: what the pass would have deleted.
    would_delete: bool = False
    # The volume group a member belongs to.
    group: str | None = None
    reason_code: str | None = None
    reason: str | None = None
    # Something the pass could not do for this drill (a delete, a tag write): the outcome is failed.
    problem: bool = False
    # Where its figures are posted: its copy's compartment.
    compartment_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "volume": self.volume,
            "kind": self.kind,
            "region": self.region,
            "copy": self.copy,
            "restored": self.restored,
            "state": self.state,
            "restoreMinutes": self.restore_minutes,
            "hydrated": self.hydrated,
            "sizeInGBs": self.size_in_gbs,
            "deleted": self.deleted,
            "leftAttached": self.left_attached,
        }
        if self.would_delete:
            body["wouldDelete"] = True
        if self.group:
            body["group"] = self.group
        if self.reason_code:
            body["reasonCode"] = self.reason_code
            body["reason"] = self.reason
        return body

    def fail(self, reason_code: str | None, reason: str | None) -> None:
        """Something the pass could not do: said in the entry, and the outcome is failed."""
        self.problem = True
        if self.reason_code is None or self.state != "failed":
            self.reason_code, self.reason = reason_code, reason


@dataclass
class Summary:
    scope: Scope
    destination_regions: tuple[str, ...]
    dry_run: bool
    max_restores: int
    timeout_minutes: int
    entries: list[Entry] = field(default_factory=list)
    # Volumes whose turn is past this pass's slots, in turn order: the next passes start them.
    waiting: int = 0
    others: int = 0
    # Resources that carry this function's drill mark but are no drill of it (a clone, a copied mark): never touched.
    not_drills: int = 0
    # The deadline came before every drill was handled: the rest are the next pass's.
    stopped_early: bool = False
    progress: ScopeProgress = field(default_factory=ScopeProgress)
    metrics: MetricsOutcome = field(default_factory=MetricsOutcome)

    def add(self, entry: Entry) -> Entry:
        self.entries.append(entry)
        return entry

    def count(self, *states: str) -> int:
        return sum(1 for entry in self.entries if entry.state in states)

    def result(self) -> InvocationResult:
        outcome, code, reason = self._verdict()
        result = InvocationResult(outcome, code, reason)
        result.extra = self.to_json()
        return result

    def to_json(self) -> dict[str, Any]:
        in_flight = [e for e in self.entries if e.state in ("started", "restoring") and e.size_in_gbs]
        restored_gbs = sum(entry.size_in_gbs or 0 for entry in in_flight)
        return {
            "action": "drill",
            **self.scope.to_json(),
            "destinationRegions": list(self.destination_regions),
            "dryRun": self.dry_run,
            "maxRestores": self.max_restores,
            "timeoutMinutes": self.timeout_minutes,
            "started": self.count("started"),
            "inFlight": self.count("started", "restoring", "unproven"),
            "passed": self.count("passed"),
            "failed": self.count("failed"),
            "deleted": sum(1 for entry in self.entries if entry.deleted),
            "leftAttached": sum(1 for entry in self.entries if entry.left_attached),
            "drills": [entry.to_json() for entry in self.entries[:MAX_DRILLS_LISTED]],
            "volumesWaiting": self.waiting,
            "markedByOtherFunctions": self.others,
            "notDrills": self.not_drills,
            "stoppedEarly": self.stopped_early,
            "restoredGBs": restored_gbs,
            "cost": (
                f"block volume storage for the {restored_gbs} GB restored by the drills in flight, for as long as "
                "each lasts: until the first pass that sees it AVAILABLE (or past DRILL_TIMEOUT_MINUTES) deletes it"
            ),
            **self.metrics.to_json(),
            **self.progress.to_json(),
        }

    def _verdict(self) -> tuple[Outcome, str | None, str | None]:
        failed = [entry for entry in self.entries if entry.state == "failed"]
        if failed:
            first = failed[0]
            return (
                Outcome.FAILED,
                first.reason_code,
                f"{len(failed)} drills failed. First: {first.kind.replace('_', ' ')} {first.volume} in {first.region} "
                f"(copy {first.copy}, restored {first.restored or 'nothing'}): {first.reason}",
            )
        problems = [entry for entry in self.entries if entry.problem]
        if problems:
            first = problems[0]
            return (
                Outcome.FAILED,
                first.reason_code,
                f"{len(problems)} drills need attention. First: {first.restored or first.copy} in {first.region}: "
                f"{first.reason}",
            )
        incomplete = self.progress.incomplete_verdict()
        if incomplete is not None:
            code, reason = incomplete
            return Outcome.FAILED, code, f"{reason} No drill was started: maxRestores holds only over a whole scope."
        if self.dry_run:
            return Outcome.DRY_RUN, None, None
        return Outcome.DRILLED, None, None
