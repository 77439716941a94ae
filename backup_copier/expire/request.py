"""The expiry pass: `{"action": "expire", "compartmentId": ..., "subtree": true, "dryRun": false, "maxDeletes": 50}`.

For each compartment of its scope (shared/scope.py), several at once, and each destination
region, it lists the copies of the three kinds and keeps every copy a rule protects (plan.py).
Then it deletes the marked copies whose expiry has passed, oldest expiry first across the
scope, until maxDeletes or the deadline; the next run goes on from there, and records each
deletion on the copy's source, so that no run copies it there again (backups/expired.py). It
keeps no state of its own: every run recomputes from what exists in OCI.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field

from ..backups.listing import OutOfTime, check_time
from ..backups.oldest_few import OldestFew
from ..backups.scope_pass import CompartmentRead, ScopePass
from ..shared.clients import BlockStorageClients
from ..shared.context import Invocation
from ..shared.kinds import SPECS
from ..shared.request import ActionRequest, Budget, Checked, optional_regions, validated
from ..shared.result import InvocationResult
from ..shared.scope import Scope, ScopeFields, scope_of
from .deletion import Deleter
from .plan import Candidate, RegionPlan
from .summary import Summary

DEFAULT_MAX_DELETES = 50
MAX_DELETES = 1000


class ExpireBody(ScopeFields):
    """The body as sent. Unknown fields are refused: an operator's typo must not be ignored."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    action: Literal["expire"]
    destination_regions: list[str] | None = Field(default=None, alias="destinationRegions")
    dry_run: bool | None = Field(default=None, alias="dryRun")
    # At least 1 in an operator's body (dispatch.py); a fan-out's child may carry a share of 0.
    max_deletes: int = Field(default=DEFAULT_MAX_DELETES, ge=0, le=MAX_DELETES, alias="maxDeletes")


@dataclass
class ExpireRequest(ActionRequest):
    scope: Scope
    destination_regions: tuple[str, ...] | None
    dry_run: bool | None
    max_deletes: int
    event_id: str | None = None

    home_region_problem = "is the region the function runs in; copies live in the other regions"

    @property
    def budget(self) -> Budget:
        return Budget("maxDeletes", self.max_deletes)

    def run(self, invocation: Invocation, checked: Checked) -> InvocationResult:
        container = checked.container
        settings, clients = container.settings, container.clients
        home = checked.home_region
        summary = Summary(
            scope=self.scope,
            destination_regions=checked.destination_regions,
            dry_run=settings.dry_run if self.dry_run is None else self.dry_run,
            max_deletes=self.max_deletes,
            keep_last=settings.keep_last_copies,
        )
        expiry = ExpiryPass(summary, clients, datetime.now(UTC))
        expiry.run(self.scope, container, home, invocation, summary.progress)
        return summary.result()


@dataclass
class ExpiryPass(ScopePass[tuple[list[Candidate], Counter[str]]]):
    """Plan every compartment in the pool, then delete the due copies oldest expiry first.

    A compartment's copies are candidates only once every region's listing of it completed
    (backups/scope_pass.py folds whole compartments only): keep-last needs the whole picture.
    """

    summary: Summary
    clients: BlockStorageClients
    now: datetime
    _due: OldestFew[Candidate] = field(init=False)

    # Listing takes at most this share of the time left; the rest deletes (one read and one delete each).
    read_share = 0.7

    def __post_init__(self) -> None:
        # A run deletes at most maxDeletes; holding twice that leaves room for copies that
        # changed since they were listed or failed, while a first run over thousands of due
        # copies stays small.
        self._due = OldestFew(2 * self.summary.max_deletes, order=_by_expiry)

    def read(self, compartment: CompartmentRead) -> tuple[list[Candidate], Counter[str]]:
        found: list[Candidate] = []
        kept: Counter[str] = Counter()
        for region in self.summary.destination_regions:
            compartment.step.doing("list the copies", region)
            region_plan = RegionPlan(region, self.summary.keep_last, self.now, compartment.compartment_id)
            for spec in SPECS.values():
                for copy in compartment.backups(self.clients, region, spec, "DESC"):
                    region_plan.consider(copy, spec)
            found += region_plan.finish()
            kept.update(region_plan.kept)
        return found, kept

    def fold(self, compartment_id: str, found: tuple[list[Candidate], Counter[str]]) -> None:
        candidates, kept = found
        self.summary.kept.update(kept)
        self._due.extend(candidates)

    def act(self, invocation: Invocation) -> None:
        self.summary.scan_complete = self.summary.progress.complete
        due = self._due.oldest_first()
        count = self._due.seen
        deleter = Deleter(self.clients, invocation, self.now)
        for index, candidate in enumerate(due):
            if len(self.summary.deleted) + len(self.summary.planned) >= self.summary.max_deletes:
                self.summary.stopped_early = "max_deletes"
                self.summary.remaining = count - index
                return
            if self.summary.dry_run:
                self.summary.planned.append(candidate.to_json())
                continue
            try:
                check_time(invocation)
            except OutOfTime:
                self.summary.stopped_early = "deadline"
                self.summary.remaining = count - index
                return
            deletion = deleter.delete(candidate)
            if deletion.verdict in ("deleted", "already_gone"):
                # Both count, so that concurrent passes (a fan-out's two families) converge; the
                # entry says which pass deleted the copy and which found it already going.
                entry: dict[str, Any] = dict(candidate.to_json())
                if deletion.verdict == "already_gone":
                    entry["alreadyGone"] = True
                if deletion.unrecorded is not None:
                    # Deleted all the same; only its source may be copied into the region again.
                    entry["recorded"] = False
                    entry["recordReasonCode"], entry["recordReason"] = deletion.unrecorded
                    self.summary.record_failures += 1
                self.summary.deleted.append(entry)
            elif deletion.verdict == "changed":
                self.summary.kept["ChangedSinceListed"] += 1
            else:
                self.summary.failed.append(
                    {**candidate.to_json(), "reasonCode": deletion.reason_code or "", "reason": deletion.reason or ""}
                )
        # Due copies beyond those held in memory wait for the next run.
        self.summary.remaining = count - len(due)
        if self.summary.remaining and self.summary.stopped_early is None:
            self.summary.stopped_early = "max_deletes"


def _by_expiry(candidate: Candidate) -> tuple[datetime, str]:
    return (candidate.expires, candidate.copy_id)


def parse(document: dict[str, Any]) -> ExpireRequest:
    body = validated(ExpireBody, document)
    return ExpireRequest(
        scope=scope_of(body),
        destination_regions=optional_regions(body.destination_regions, "destinationRegions"),
        dry_run=body.dry_run,
        max_deletes=body.max_deletes,
    )
