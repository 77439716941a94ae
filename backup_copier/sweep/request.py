"""The catch-up sweep: {"action": "reconcile", "compartmentId": ..., "subtree": true}.

Events can be missed (a rule created after the backups, a function that was down, a copy
that hit the concurrency limit until its deadline), and backup policies do not copy manual
backups. The sweep compares the compartment's backups with the copies in each destination
and copies what is missing, oldest first, across every compartment of its scope
(shared/scope.py). It keeps no state of its own: every run
recomputes the work from what exists in OCI, so a run cut short by its deadline or the
copy limit is resumed by the next one without losing or repeating anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, Strict

from ..shared.context import Invocation
from ..shared.kinds import BackupKind, KindSpec
from ..shared.metrics import MetricsOutcome, publish
from ..shared.request import ActionRequest, Budget, Checked, chosen_specs, optional_regions, validated
from ..shared.result import InvocationResult
from ..shared.scope import Scope, ScopeFields, scope_of
from .loop import Sweep
from .scan import retryable_in_sweep
from .summary import Summary

DEFAULT_SINCE_HOURS = 168
# Five years: far older than any backup a sweep could still usefully copy, small enough
# that a typo of a few extra digits is caught.
MAX_SINCE_HOURS = 5 * 366 * 24
DEFAULT_MAX_COPIES = 10
MAX_COPIES = 100


class ReconcileBody(ScopeFields):
    """The body as sent. Unknown fields are refused: an operator's typo must not be ignored."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    action: Literal["reconcile"]
    since_hours: float = Field(default=DEFAULT_SINCE_HOURS, gt=0, le=MAX_SINCE_HOURS, alias="sinceHours")
    # Enum values arrive as JSON strings; strict mode would accept only enum instances.
    kinds: list[Annotated[BackupKind, Strict(False)]] | None = Field(default=None, min_length=1)
    destination_regions: list[str] | None = Field(default=None, alias="destinationRegions")
    dry_run: bool | None = Field(default=None, alias="dryRun")
    # At least 1 in an operator's body (dispatch.py); a fan-out's child may carry a share of 0.
    max_copies: int = Field(default=DEFAULT_MAX_COPIES, ge=0, le=MAX_COPIES, alias="maxCopies")


@dataclass
class ReconcileRequest(ActionRequest):
    scope: Scope
    since_hours: float
    specs: tuple[KindSpec, ...]
    destination_regions: tuple[str, ...] | None
    dry_run: bool | None
    max_copies: int
    event_id: str | None = None

    home_region_problem = "is the region the sweep reads from; a copy must go to another region"

    @property
    def budget(self) -> Budget:
        return Budget("maxCopies", self.max_copies)

    def run(self, invocation: Invocation, checked: Checked) -> InvocationResult:
        container = checked.container
        settings, clients = container.settings, container.clients
        source_region = checked.home_region
        summary = Summary(
            scope=self.scope,
            source_region=source_region,
            destination_regions=checked.destination_regions,
            kinds=tuple(spec.kind for spec in self.specs),
            since_hours=self.since_hours,
            dry_run=settings.dry_run if self.dry_run is None else self.dry_run,
        )
        sweep = Sweep(
            summary=summary,
            specs=self.specs,
            window_start=datetime.now(UTC) - timedelta(hours=self.since_hours),
            max_copies=self.max_copies,
            settings=settings,
            clients=clients,
        )
        sweep.run(self.scope, container, source_region, invocation.retrying_only(retryable_in_sweep), summary.progress)
        if summary.dry_run:
            summary.metrics = MetricsOutcome(reason_code="DryRun", reason="a dry run posts no metric")
        elif not summary.tallies:
            summary.metrics = MetricsOutcome(
                reason_code="ScanIncomplete",
                reason="no compartment was read whole, so no count was posted: a partial count of the copies still "
                "missing would tell an alarm that the sweep caught up",
            )
        else:
            # Each compartment read whole posts its own counts into itself (summary.py).
            summary.metrics = publish(
                settings,
                container.metrics,
                source_region,
                invocation,
                self.scope.compartment_ids[0],
                summary.counts(),
                self.metrics_slot,
            )
        return summary.result()


def parse(document: dict[str, Any]) -> ReconcileRequest:
    body = validated(ReconcileBody, document)
    destinations = optional_regions(body.destination_regions, "destinationRegions")
    return ReconcileRequest(
        scope=scope_of(body),
        since_hours=body.since_hours,
        specs=chosen_specs(body.kinds),
        destination_regions=destinations,
        dry_run=body.dry_run,
        max_copies=body.max_copies,
    )
