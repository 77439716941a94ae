"""The recovery-point report: {"action": "report", "compartmentId": ..., "subtree": true}.

Answers the operator's real question, "if the source region vanished now, how much would each
volume lose?": for every volume with backups in the window and every destination region, the
age of the newest backup that has an AVAILABLE copy there. It changes nothing in OCI; it reads
each compartment of its scope (shared/scope.py) page by page, several at once, and posts the
figures to OCI Monitoring, where alarms live.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, Strict

from ..backups.compartments import compartments_in
from ..backups.per_compartment import ScopeProgress, scan_invocation
from ..shared.context import Invocation
from ..shared.kinds import BackupKind, KindSpec
from ..shared.metrics import MetricsOutcome, publish
from ..shared.request import ActionRequest, Checked, chosen_specs, optional_regions, validated
from ..shared.result import InvocationResult
from ..shared.scope import Scope, ScopeFields, scope_of
from .publish import report_metrics
from .scan import scan
from .summary import ReportSummary

# Thirty days: a daily backup policy's month, far more than any recovery point worth reporting.
DEFAULT_SINCE_HOURS = 720
# A year: a longer window would only read backups that cannot change the answer.
MAX_SINCE_HOURS = 366 * 24
# Reading takes at most this share of the time left; the rest posts the metrics (at 20 calls a
# second, 50 streams a call: about 20 s for 20,000 volumes).
SCAN_SHARE = 0.8


class ReportBody(ScopeFields):
    """The body as sent. Unknown fields are refused: an operator's typo must not be ignored."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    action: Literal["report"]
    since_hours: float = Field(default=DEFAULT_SINCE_HOURS, gt=0, le=MAX_SINCE_HOURS, alias="sinceHours")
    # Enum values arrive as JSON strings; strict mode would accept only enum instances.
    kinds: list[Annotated[BackupKind, Strict(False)]] | None = Field(default=None, min_length=1)
    destination_regions: list[str] | None = Field(default=None, alias="destinationRegions")


@dataclass
class ReportRequest(ActionRequest):
    scope: Scope
    since_hours: float
    specs: tuple[KindSpec, ...]
    destination_regions: tuple[str, ...] | None
    event_id: str | None = None

    home_region_problem = "is the region the report reads from; copies live in other regions"

    def run(self, invocation: Invocation, checked: Checked) -> InvocationResult:
        container = checked.container
        settings, clients = container.settings, container.clients
        source_region, destinations = checked.home_region, checked.destination_regions
        since = datetime.now(UTC) - timedelta(hours=self.since_hours)
        progress = ScopeProgress()
        compartments = compartments_in(
            self.scope, container.identity, source_region, container.workers, invocation, progress
        )
        reading = scan_invocation(invocation, SCAN_SHARE)
        read = scan(
            clients, container.workers, reading, source_region, destinations, compartments, progress, self.specs, since
        )
        summary = ReportSummary(
            scope=self.scope,
            source_region=source_region,
            destination_regions=destinations,
            kinds=tuple(spec.kind for spec in self.specs),
            since_hours=self.since_hours,
            target_hours=settings.rpo_target_hours,
            scan=read,
            as_of=datetime.now(UTC),
            whole_scope=self.fan_out_of is None,
        )
        if progress.scanned:
            # Each compartment read whole posts its own figures (publish.py); the others post none.
            summary.metrics = publish(
                settings,
                container.metrics,
                source_region,
                invocation,
                self.scope.root or compartments[0],
                report_metrics(summary),
            )
        else:
            summary.metrics = MetricsOutcome(
                reason_code="ScanIncomplete",
                reason="no compartment was read whole, so no metric was posted: a partial count would tell an alarm "
                "that volumes are fine when they were only not read",
            )
        return summary.result()


def parse(document: dict[str, Any]) -> ReportRequest:
    body = validated(ReportBody, document)
    destinations = optional_regions(body.destination_regions, "destinationRegions")
    return ReportRequest(
        scope=scope_of(body),
        since_hours=body.since_hours,
        specs=chosen_specs(body.kinds),
        destination_regions=destinations,
    )
