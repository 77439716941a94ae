"""What one report found, rendered as the answer and the log line.

Totals count volumes by their worst region: `covered` (within RPO_TARGET_HOURS everywhere),
`breaching` (a copy everywhere, but one older than the target) and `uncovered` (no AVAILABLE
copy in some region); they add up to `volumes`. `byRegion` counts the same per region. The
`volumes` list holds the 100 worst, so the answer stays a few tens of kilobytes for any tenancy.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..backups.per_compartment import ScopeProgress, Unread
from ..shared.kinds import BackupKind
from ..shared.metrics import MetricsOutcome
from ..shared.result import InvocationResult, Outcome
from ..shared.scope import Scope
from .coverage import Coverage, Status, VolumeCoverage, moment_of

MAX_VOLUMES_LISTED = 100
UNREAD = Unread("a compartment not read whole posted no metric", narrower="narrow sinceHours or kinds")


@dataclass
class Scan:
    """What the report read: every volume of the compartments read whole, and which were."""

    coverage: Coverage
    progress: ScopeProgress
    copies_read: int = 0

    @property
    def complete(self) -> bool:
        return self.progress.complete


@dataclass
class Tally:
    by_volume: Counter[Status] = field(default_factory=Counter)
    by_region: list[Counter[Status]] = field(default_factory=list)
    worst: list[VolumeCoverage] = field(default_factory=list)


@dataclass
class ReportSummary:
    scope: Scope
    source_region: str
    destination_regions: tuple[str, ...]
    kinds: tuple[BackupKind, ...]
    since_hours: float
    target_hours: float
    scan: Scan
    as_of: datetime
    metrics: MetricsOutcome = field(default_factory=MetricsOutcome)
    # False for a fan-out's child: its batch is part of the operator's scope, and a batch of
    # empty compartments is normal; only the scope the operator named must hold a volume.
    whole_scope: bool = True

    def compartments_read(self) -> list[str]:
        """The compartments read whole, in the scope's order: they, and only they, post their figures."""
        progress = self.scan.progress
        unread = set(progress.remaining) | {failure.compartment_id for failure in progress.failed}
        return [compartment_id for compartment_id in progress.order if compartment_id not in unread]

    def tally(self) -> Tally:
        tally = Tally(by_region=[Counter() for _ in self.destination_regions])

        def ranked() -> Iterator[tuple[tuple[int, float, str], VolumeCoverage]]:
            for volume in self.scan.coverage.volumes.values():
                for position, counts in enumerate(tally.by_region):
                    counts[volume.region(position, self.as_of, self.target_hours).status] += 1
                rank, hours = volume.worst(self.as_of, self.target_hours)
                tally.by_volume[list(Status)[rank]] += 1
                yield (-rank, -hours, volume.resource_id), volume

        # Worst first: uncovered, then breaching, then covered; the staler first within each. Ties
        # go by volume OCID, so the list is the same whichever worker read which compartment first.
        # Ranked as they come: only the worst MAX_VOLUMES_LISTED are ever held, not a key per volume.
        tally.worst = [volume for _, volume in heapq.nsmallest(MAX_VOLUMES_LISTED, ranked(), key=lambda e: e[0])]
        return tally

    def result(self) -> InvocationResult:
        tally = self.tally()
        outcome, code, reason = self._verdict(tally)
        result = InvocationResult(outcome, code, reason, source_region=self.source_region)
        result.extra = self.to_json(tally)
        return result

    def to_json(self, tally: Tally) -> dict[str, Any]:
        volumes = len(self.scan.coverage.volumes)
        return {
            "action": "report",
            **self.scope.to_json(),
            "destinationRegions": list(self.destination_regions),
            "kinds": [kind.value for kind in self.kinds],
            "sinceHours": self.since_hours,
            "rpoTargetHours": self.target_hours,
            "asOf": _time(self.as_of),
            "scanned": self.scan.coverage.scanned,
            "skippedByReason": dict(sorted(self.scan.coverage.skipped.items())),
            "copiesScanned": self.scan.copies_read,
            "scanComplete": self.scan.complete,
            **self.scan.progress.to_json(),
            "totals": {"volumes": volumes, **{status.value: tally.by_volume[status] for status in Status}},
            "byRegion": [
                {"destinationRegion": region, **{status.value: counts[status] for status in Status}}
                for region, counts in zip(self.destination_regions, tally.by_region, strict=True)
            ],
            "volumes": [self._volume(volume) for volume in tally.worst],
            "volumesOmitted": volumes - len(tally.worst),
            **self.metrics.to_json(),
        }

    def _volume(self, volume: VolumeCoverage) -> dict[str, Any]:
        rank, _ = volume.worst(self.as_of, self.target_hours)
        regions = []
        for position, region in enumerate(self.destination_regions):
            view = volume.region(position, self.as_of, self.target_hours)
            regions.append(
                {
                    "destinationRegion": region,
                    "status": view.status.value,
                    "rpoHours": round(view.rpo_hours, 2),
                    "newestCopiedBackupTime": _time(view.newest_copied) if view.newest_copied else None,
                    "inFlight": volume.in_flight_to(position),
                    "faulty": volume.faulty_in(position),
                }
            )
        return {
            "resourceId": volume.resource_id,
            "compartmentId": volume.compartment_id,
            "kind": volume.kind.value,
            "displayName": volume.display_name,
            "status": list(Status)[rank].value,
            "newestBackupId": volume.newest_backup_id,
            "newestBackupTime": _time(moment_of(volume.newest_backup_time)),
            "backups": volume.backups,
            "regions": regions,
        }

    def _verdict(self, tally: Tally) -> tuple[Outcome, str | None, str | None]:
        incomplete = self.scan.progress.incomplete_verdict(UNREAD)
        if incomplete is not None:
            return Outcome.FAILED, *incomplete
        volumes = len(self.scan.coverage.volumes)
        if not volumes and self.whole_scope:
            return Outcome.FAILED, "NoVolumesFound", self._nothing_found()
        uncovered, breaching = tally.by_volume[Status.UNCOVERED], tally.by_volume[Status.BREACHING]
        if not uncovered and not breaching:
            return (
                Outcome.REPORTED,
                None,
                f"all {volumes} volumes have a copy less than {self.target_hours:g} h old in every destination region",
            )
        worst = tally.worst[0]
        rank, hours = worst.worst(self.as_of, self.target_hours)
        return (
            Outcome.AT_RISK,
            "RecoveryPointAtRisk",
            f"{uncovered + breaching} of {volumes} volumes are at risk: {uncovered} uncovered (no AVAILABLE copy in a "
            f"destination region), {breaching} with a newest copy older than {self.target_hours:g} h. Worst: "
            f"{worst.kind.value} {worst.resource_id}, {list(Status)[rank].value}, {hours:.1f} h",
        )

    def _nothing_found(self) -> str:
        """A schedule pointed at the wrong compartment or region must not read as "all is well"."""
        coverage = self.scan.coverage
        scope = self.scope.to_json()
        if scope["compartmentId"]:
            named = f"compartment {scope['compartmentId']}" + (
                " and every compartment below it" if self.scope.subtree else ""
            )
        else:
            named = f"the {scope['compartmentIdsGiven']} compartments of compartmentIds"
        skipped = ", ".join(f"{count} {reason}" for reason, count in sorted(coverage.skipped.items()))
        read = f"{coverage.scanned} backup{'' if coverage.scanned == 1 else 's'} read" + (
            f", none of a volume to report ({skipped})" if skipped else ""
        )
        read_count = self.scan.progress.scanned
        return (
            f"no volume to report: the report read {named} ({read_count} compartment{'' if read_count == 1 else 's'}) in "
            f"{self.source_region}, the region the function runs in, and found no backup of "
            f"{', '.join(kind.value for kind in self.kinds)} made in the last {self.since_hours:g} h ({read}). "
            "A report is scheduled to watch volumes, so an empty one is not a healthy answer. Check the schedule's "
            "compartmentId (the backups' compartment, or the tenancy's OCID with \"subtree\": true), that the function "
            "is deployed in the region the backups are made in, and sinceHours and kinds; then run the check "
            '({"action": "check"}) to prove the function can list backups there'
        )


def _time(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
