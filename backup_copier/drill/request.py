"""The restore drill: `{"action": "drill", "compartmentId": ..., "subtree": true, "maxRestores": 2}`.

Proves on a schedule that the copies restore in their regions, and measures how long it takes
(docs/drills.md). A restore takes minutes and an invocation at most 300 s, so a drill spans passes,
and each pass (every 15 minutes suits it) does two things:
1. it finishes the drills in flight (finish.py): each one this function created and marked, read
   fresh and judged (verdict.py), and deleted once it passed or failed (teardown.py), its verdict
   written on the copy it restored;
2. it starts new ones (restore.py), up to maxRestores in flight at once across the scope, for the
   volumes whose last drill is oldest, never-drilled first (rotation.py).
State lives in OCI (tags on what the drill restores and on its copy), never in the container: any
pass may run in a fresh one. The body names no OCID to delete: a drill deletes only what it proves
it created (marks.py).

A drill is never fanned out (FAN_OUT=on runs it in place): maxRestores is at most 10 drills in
flight across the whole scope, which a split over children would turn into shares of 0 and
rotations per batch, and a drill reads only the destination regions, a small part of what the
report reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ConfigDict, Field

from ..backups.listing import OutOfTime, check_time
from ..backups.scope_pass import CompartmentRead, ScopePass
from ..shared.context import Invocation
from ..shared.metrics import MetricsOutcome, publish
from ..shared.own_function import own_function_id
from ..shared.request import ActionRequest, Checked, optional_regions, validated
from ..shared.result import InvocationResult
from ..shared.runtime import Container
from ..shared.scope import Scope, ScopeFields, scope_of
from . import marks
from .finish import Finisher
from .publish import drill_metrics
from .read import ScopeRead, read_compartment
from .restore import Restorer
from .rotation import next_turns
from .summary import Entry, Summary
from .teardown import Teardown

DEFAULT_MAX_RESTORES = 2
MAX_RESTORES = 10
_NEEDS_ITSELF = "a drill cannot mark what it restores as this function's (nor prove it later)"


class DrillBody(ScopeFields):
    """The body as sent. Unknown fields are refused: an operator's typo must not be ignored."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    action: Literal["drill"]
    destination_regions: list[str] | None = Field(default=None, alias="destinationRegions")
    dry_run: bool | None = Field(default=None, alias="dryRun")
    max_restores: int = Field(default=DEFAULT_MAX_RESTORES, ge=1, le=MAX_RESTORES, alias="maxRestores")


@dataclass
class DrillRequest(ActionRequest):
    scope: Scope
    destination_regions: tuple[str, ...] | None
    dry_run: bool | None
    max_restores: int
    event_id: str | None = None

    home_region_problem = "is the region the function runs in; a drill restores the copies in other regions"

    def check(self, container: Container) -> Checked:
        checked = super().check(container)
        own_function_id(needed=_NEEDS_ITSELF)
        return checked

    def run(self, invocation: Invocation, checked: Checked) -> InvocationResult:
        container = checked.container
        settings = container.settings
        summary = Summary(
            scope=self.scope,
            destination_regions=checked.destination_regions,
            dry_run=settings.dry_run if self.dry_run is None else self.dry_run,
            max_restores=self.max_restores,
            timeout_minutes=settings.drill_timeout_minutes,
        )
        drill = DrillPass(summary, container, checked.home_region, own_function_id(needed=_NEEDS_ITSELF))
        drill.run(self.scope, container, checked.home_region, invocation, summary.progress)
        return summary.result()


@dataclass
class DrillPass(ScopePass[ScopeRead]):
    """Read each compartment's marked copies and drill resources; then finish, start, and post the figures."""

    summary: Summary
    container: Container
    home_region: str
    function_id: str
    scope_read: ScopeRead = field(default_factory=ScopeRead)

    # Reading takes at most this share of the time left; the rest judges, deletes and restores.
    read_share = 0.6

    def read(self, compartment: CompartmentRead) -> ScopeRead:
        regions = self.summary.destination_regions
        return read_compartment(self.container.clients, compartment, regions, self.function_id)

    def fold(self, compartment_id: str, found: ScopeRead) -> None:
        self.scope_read.absorb(compartment_id, found)

    def act(self, invocation: Invocation) -> None:
        summary, scope, container = self.summary, self.scope_read, self.container
        summary.others = scope.others
        now = marks.utc_now()
        teardown = Teardown(container.clients, container.compute, invocation)
        finisher = Finisher(
            container.clients,
            teardown,
            invocation,
            self.function_id,
            summary.timeout_minutes,
            summary.dry_run,
            now,
            summary,
            scope.records,
        )
        finisher.finish(scope.drills)
        if summary.progress.complete and not summary.stopped_early:
            self._start(invocation, finisher)
        summary.metrics = self._publish(invocation)

    def _start(self, invocation: Invocation, finisher: Finisher) -> None:
        """New drills in turn order, as many as maxRestores leaves room for."""
        summary = self.summary
        chosen, summary.waiting = next_turns(
            self.scope_read.volumes, finisher.busy, summary.max_restores - finisher.holding
        )
        container = self.container
        restorer = Restorer(container.settings, container.clients, container.identity, invocation, self.function_id)
        for index, (key, copy) in enumerate(chosen):
            if summary.dry_run:
                entry = Entry(key.volume_id, key.kind.value, key.region, copy.id, None, "wouldStart")
                entry.size_in_gbs = copy.size_in_gbs
                summary.add(entry)
                continue
            try:
                check_time(invocation)
            except OutOfTime:
                summary.stopped_early = True
                summary.waiting += len(chosen) - index
                return
            summary.add(restorer.start(key, copy, marks.utc_now()))

    def _publish(self, invocation: Invocation) -> MetricsOutcome:
        summary = self.summary
        if summary.dry_run:
            return MetricsOutcome(reason_code="DryRun", reason="a dry run posts no metric")
        if not summary.progress.scanned:
            return MetricsOutcome(
                reason_code="ScanIncomplete", reason="no compartment was read whole, so no metric was posted"
            )
        return publish(
            self.container.settings,
            self.container.metrics,
            self.home_region,
            invocation,
            summary.scope.compartment_ids[0],
            drill_metrics(summary, self.scope_read, marks.utc_now()),
        )


def parse(document: dict[str, Any]) -> DrillRequest:
    body = validated(DrillBody, document)
    return DrillRequest(
        scope=scope_of(body),
        destination_regions=optional_regions(body.destination_regions, "destinationRegions"),
        dry_run=body.dry_run,
        max_restores=body.max_restores,
    )
