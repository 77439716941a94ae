"""The drill's metrics, posted per volume and destination region as the report posts copy_rpo_hours.

- `restore_minutes` (dimensions resourceId, destinationRegion, kind): a drill that passed in this
  pass, minutes from its create request to the pass that saw it AVAILABLE;
- `drill_age_hours` (same dimensions): hours since the volume's last passed drill in the region,
  from its copies' records; a volume never passed there gets the age of its oldest AVAILABLE copy,
  a lower bound (as copy_rpo_hours is for a volume with no copy), so an alarm sees it too;
- `drills_failed` (dimension destinationRegion): the drills this pass found failed, per compartment
  read whole, zero included, so an alarm can tell "none failed" from "no pass ran".
Each stream goes to the volume's own compartment (its copies'), where each team can alarm on it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime

from ..shared.kinds import BackupKind
from ..shared.metrics import DRILL_AGE_HOURS, DRILLS_FAILED, RESTORE_MINUTES, Metric
from .read import ScopeRead
from .rotation import VolumeKey
from .summary import Summary

_SECONDS_PER_HOUR = 3600.0


def drill_metrics(summary: Summary, scope: ScopeRead, now: datetime) -> Iterator[Metric]:
    passed_now: dict[VolumeKey, datetime] = {}
    failed: Counter[tuple[str, str]] = Counter()
    for entry in summary.entries:
        if entry.compartment_id is None:
            continue
        dimensions = {"resourceId": entry.volume, "destinationRegion": entry.region, "kind": entry.kind}
        if entry.state == "passed" and entry.restore_minutes is not None:
            yield Metric(RESTORE_MINUTES, dimensions, entry.restore_minutes, compartment_id=entry.compartment_id)
            passed_now[VolumeKey(entry.region, BackupKind(entry.kind), entry.volume)] = now
        elif entry.state == "failed":
            failed[entry.compartment_id, entry.region] += 1
    for key, copies in sorted(scope.volumes.items()):
        newest = copies.newest
        passed = passed_now.get(key) or copies.last_passed
        since = passed or copies.oldest_available
        if since is None or newest is None:
            continue
        dimensions = {"resourceId": key.volume_id, "destinationRegion": key.region, "kind": key.kind.value}
        hours = round(max(0.0, (now - since).total_seconds()) / _SECONDS_PER_HOUR, 3)
        yield Metric(DRILL_AGE_HOURS, dimensions, hours, compartment_id=newest.compartment_id)
    for compartment_id in scope.compartments:
        for region in summary.destination_regions:
            dimensions = {"destinationRegion": region}
            yield Metric(DRILLS_FAILED, dimensions, failed[compartment_id, region], compartment_id=compartment_id)
