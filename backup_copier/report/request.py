"""The recovery-point report: {"action": "report", "compartmentId": ...}.

Answers the operator's real question, "if the source region vanished now, how much would each
volume lose?": for every volume with backups in the window and every destination region, the
age of the newest backup that has an AVAILABLE copy there. It changes nothing in OCI; it reads
the compartment page by page and posts the figures to OCI Monitoring, where alarms live.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict

from ..shared import runtime
from ..shared.context import Invocation
from ..shared.kinds import BackupKind, KindSpec
from ..shared.metrics import MetricsOutcome, publish
from ..shared.request import Request, chosen_specs, compartment_ocid, optional_regions, regions_for, validated
from ..shared.result import InvocationResult
from .publish import report_metrics
from .scan import scan
from .summary import ReportSummary

# Thirty days: a daily backup policy's month, far more than any recovery point worth reporting.
DEFAULT_SINCE_HOURS = 720
# A year: a longer window would only read backups that cannot change the answer.
MAX_SINCE_HOURS = 366 * 24


class ReportBody(BaseModel):
    """The body as sent. Unknown fields are refused: an operator's typo must not be ignored."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    action: Literal["report"]
    compartment_id: str = Field(alias="compartmentId")
    since_hours: float = Field(default=DEFAULT_SINCE_HOURS, gt=0, le=MAX_SINCE_HOURS, alias="sinceHours")
    # Enum values arrive as JSON strings; strict mode would accept only enum instances.
    kinds: list[Annotated[BackupKind, Strict(False)]] | None = Field(default=None, min_length=1)
    destination_regions: list[str] | None = Field(default=None, alias="destinationRegions")


@dataclass
class ReportRequest(Request):
    compartment_id: str
    since_hours: float
    specs: tuple[KindSpec, ...]
    destination_regions: tuple[str, ...] | None
    event_id: str | None = None

    def execute(self, invocation: Invocation) -> InvocationResult:
        container = runtime.container()
        settings, clients = container.settings, container.clients
        source_region, destinations = regions_for(
            clients.home_region,
            self.destination_regions,
            settings.destination_regions,
            "is the region the report reads from; copies live in other regions",
        )
        since = datetime.now(UTC) - timedelta(hours=self.since_hours)
        read = scan(clients, invocation, source_region, destinations, self.compartment_id, self.specs, since)
        summary = ReportSummary(
            compartment_id=self.compartment_id,
            source_region=source_region,
            destination_regions=destinations,
            kinds=tuple(spec.kind for spec in self.specs),
            since_hours=self.since_hours,
            target_hours=settings.rpo_target_hours,
            scan=read,
            as_of=datetime.now(UTC),
        )
        if read.complete:
            summary.metrics = publish(
                settings, container.metrics, source_region, invocation, self.compartment_id, report_metrics(summary)
            )
        else:
            summary.metrics = MetricsOutcome(
                reason_code="ScanIncomplete",
                reason="the scan did not finish, so no metric was posted: a partial count would tell an alarm "
                "that volumes are fine when they were only not read",
            )
        return summary.result()


def parse(document: dict[str, Any]) -> ReportRequest:
    body = validated(ReportBody, document)
    destinations = optional_regions(body.destination_regions, "destinationRegions")
    return ReportRequest(
        compartment_id=compartment_ocid(body.compartment_id),
        since_hours=body.since_hours,
        specs=chosen_specs(body.kinds),
        destination_regions=destinations,
    )
