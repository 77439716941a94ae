"""The report's metrics: one recovery point per (volume, destination region), and two counts per region.

`copy_rpo_hours` (dimensions resourceId, destinationRegion, kind) is rpoHours, a lower bound for
an uncovered volume, posted into the volume's own compartment; `volumes_breaching` and
`volumes_uncovered` (dimension destinationRegion) count each compartment's volumes, posted into
that compartment. Streams of different compartments never overlap, so runs over different
compartments (a fanned-out run's children) can post at once without overwriting each other,
and an alarm over the tenancy with --metric-compartment-id-in-subtree sees every one.

The counts are posted for every compartment read whole, zero included, so an absence alarm on
them means the report stopped running (or stopped reading that compartment), not that every
volume is fine; and a run split over a fan-out's children posts exactly the streams of one
unsplit run. Only compartments read whole post anything: a partial count would tell an alarm
that volumes are fine when they were only not read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from ..shared.metrics import RPO_HOURS, VOLUMES_BREACHING, VOLUMES_UNCOVERED, Metric
from .coverage import Status
from .summary import ReportSummary


def report_metrics(summary: ReportSummary) -> Iterator[Metric]:
    """A generator: shared/metrics.py holds each stream as a small tuple until its batch is sent."""
    regions = summary.destination_regions
    counts: dict[str, list[Counter[Status]]] = {
        compartment_id: [Counter() for _ in regions] for compartment_id in summary.compartments_read()
    }
    for volume in summary.scan.coverage.volumes.values():
        per_region = counts.setdefault(volume.compartment_id, [Counter() for _ in regions])
        for position, region in enumerate(regions):
            view = volume.region(position, summary.as_of, summary.target_hours)
            per_region[position][view.status] += 1
            dimensions = {"resourceId": volume.resource_id, "destinationRegion": region, "kind": volume.kind.value}
            yield Metric(RPO_HOURS, dimensions, round(view.rpo_hours, 3), compartment_id=volume.compartment_id)
    for compartment_id, per_region in sorted(counts.items()):
        for region, count in zip(regions, per_region, strict=True):
            dimensions = {"destinationRegion": region}
            yield Metric(VOLUMES_BREACHING, dimensions, count[Status.BREACHING], compartment_id=compartment_id)
            yield Metric(VOLUMES_UNCOVERED, dimensions, count[Status.UNCOVERED], compartment_id=compartment_id)
