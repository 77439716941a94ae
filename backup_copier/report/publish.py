"""The report's metrics: one recovery point per (volume, destination region), and two counts per region.

`copy_rpo_hours` (dimensions resourceId, destinationRegion, kind) is rpoHours, a lower bound for
an uncovered volume; `volumes_breaching` and `volumes_uncovered` (dimension destinationRegion)
are the byRegion counts, posted even when zero, so an absence alarm on them means the report
stopped running, not that every volume is fine.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..shared.metrics import RPO_HOURS, VOLUMES_BREACHING, VOLUMES_UNCOVERED, Metric
from .coverage import Status
from .summary import ReportSummary


def report_metrics(summary: ReportSummary) -> Iterator[Metric]:
    """A generator: shared/metrics.py holds each stream as a small tuple until its batch is sent."""
    counts = [{Status.BREACHING: 0, Status.UNCOVERED: 0} for _ in summary.destination_regions]
    for volume in summary.scan.coverage.volumes.values():
        for position, region in enumerate(summary.destination_regions):
            view = volume.region(position, summary.as_of, summary.target_hours)
            if view.status in counts[position]:
                counts[position][view.status] += 1
            dimensions = {"resourceId": volume.resource_id, "destinationRegion": region, "kind": volume.kind.value}
            yield Metric(RPO_HOURS, dimensions, round(view.rpo_hours, 3))
    for region, count in zip(summary.destination_regions, counts, strict=True):
        yield Metric(VOLUMES_BREACHING, {"destinationRegion": region}, count[Status.BREACHING])
        yield Metric(VOLUMES_UNCOVERED, {"destinationRegion": region}, count[Status.UNCOVERED])
