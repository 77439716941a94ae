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

from ..backups.per_compartment import ScopeProgress
from ..shared.context import Invocation
from ..shared.kinds import BackupKind, KindSpec
from ..shared.request import ActionRequest, Checked, chosen_specs, optional_regions, validated
from ..shared.result import InvocationResult
from ..shared.scope import Scope, ScopeFields, scope_of
from .coverage import CopyIndex, Coverage
from .scan import ReportPass
from .summary import ReportSummary, Scan

# Thirty days: a daily backup policy's month, far more than any recovery point worth reporting.
DEFAULT_SINCE_HOURS = 720
# A year: a longer window would only read backups that cannot change the answer.
MAX_SINCE_HOURS = 366 * 24


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
        settings = container.settings
        destinations = checked.destination_regions
        summary = ReportSummary(
            scope=self.scope,
            source_region=checked.home_region,
            destination_regions=destinations,
            kinds=tuple(spec.kind for spec in self.specs),
            since_hours=self.since_hours,
            target_hours=settings.rpo_target_hours,
            scan=Scan(Coverage([CopyIndex() for _ in destinations]), ScopeProgress()),
            as_of=datetime.now(UTC),
            whole_scope=self.fan_out_of is None,
        )
        report = ReportPass(
            summary,
            container.clients,
            settings,
            container.metrics,
            self.specs,
            since=datetime.now(UTC) - timedelta(hours=self.since_hours),
            metrics_slot=self.metrics_slot,
        )
        report.run(self.scope, container, checked.home_region, invocation, summary.scan.progress)
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
