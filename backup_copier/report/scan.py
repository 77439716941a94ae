"""The report's pass over its scope (backups/scope_pass.py): its read of a compartment, its fold, its act.

Each compartment is read by a worker, and its per-volume aggregates join the scope's once it is
read whole. Within a compartment, destinations first: each copy of a backup in the window
leaves only a digest of its source's id (49 bytes, coverage.py source_key), in a set per region. Then each kind's source
backups, newest first, each folded into its volume's aggregate (coverage.py) and dropped: one
page of lean records is in memory at a time. Once the reading is over, the act posts the
figures of every compartment read whole, and of no other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ..backups.scope_pass import CompartmentRead, ScopePass
from ..backups.states import AVAILABLE, COPY_CLOCK_SKEW, FAULTY, NOT_YET_STATES
from ..shared.clients import BlockStorageClients, MonitoringClients
from ..shared.context import Invocation
from ..shared.kinds import KindSpec
from ..shared.metrics import UNSPLIT, MetricsOutcome, PostingSlot, publish
from ..shared.settings import Settings
from .coverage import CopyIndex, Coverage, source_key
from .publish import report_metrics
from .summary import ReportSummary


@dataclass
class Read:
    """What the report keeps of one compartment: its volumes' aggregates, and how many copies it read."""

    coverage: Coverage
    copies_read: int


@dataclass
class ReportPass(ScopePass[Read]):
    summary: ReportSummary
    clients: BlockStorageClients
    settings: Settings
    metrics: MonitoringClients
    specs: tuple[KindSpec, ...]
    since: datetime
    # A fan-out's child posts in its slot of the function's calls to Monitoring only (shared/metrics.py).
    metrics_slot: PostingSlot = UNSPLIT

    # Reading takes at most this share of the time left; the rest posts the metrics (at 40 calls a
    # second, 50 streams a call: about 10 s for 20,000 volumes, as long for a fan-out's child).
    # Posting cannot start sooner: a volume's streams are final only once every compartment is
    # read, since its backups may sit in two (coverage.py absorb), and so are a compartment's counts.
    read_share = 0.8

    def read(self, compartment: CompartmentRead) -> Read:
        indexes = []
        for region in self.summary.destination_regions:
            compartment.step.doing(f"list the copies in {region}", region)
            indexes.append(self._index_copies(compartment, region))
        coverage = Coverage(indexes, compartment.compartment_id)
        source = self.summary.source_region
        compartment.step.doing(f"list the source backups in {source}", source)
        for spec in self.specs:
            # The report reads no tag: its records are spared them (and the compartment, known here).
            for backup in compartment.backups(self.clients, source, spec, "DESC", tags=False):
                if backup.time_created < self.since:
                    break
                coverage.add(spec, backup)
        # The copy indexes served their purpose; only the per-volume aggregates travel on.
        coverage.indexes = []
        return Read(coverage, sum(index.read for index in indexes))

    def fold(self, compartment_id: str, found: Read) -> None:
        self.summary.scan.coverage.absorb(found.coverage)
        self.summary.scan.copies_read += found.copies_read

    def act(self, invocation: Invocation) -> None:
        summary = self.summary
        summary.as_of = datetime.now(UTC)
        if not summary.scan.progress.scanned:
            summary.metrics = MetricsOutcome(
                reason_code="ScanIncomplete",
                reason="no compartment was read whole, so no metric was posted: a partial count would tell an alarm "
                "that volumes are fine when they were only not read",
            )
            return
        # Each compartment read whole posts its own figures (publish.py); the others post none.
        summary.metrics = publish(
            self.settings,
            self.metrics,
            summary.source_region,
            invocation,
            summary.scope.compartment_ids[0],
            report_metrics(summary),
            self.metrics_slot,
        )

    def _index_copies(self, compartment: CompartmentRead, region: str) -> CopyIndex:
        """The copies in `region` of backups made since `since`, by their sources' ids.

        Newest first, so the read ends at the first copy too old to be of a backup in the window
        (a copy is made after its source). The volume group list cannot filter on the source; none
        is filtered, and a copy is known by its source_*_backup_id field.
        """
        index = CopyIndex()
        oldest_possible = self.since - COPY_CLOCK_SKEW
        for spec in self.specs:
            for copy in compartment.backups(self.clients, region, spec, "DESC", tags=False):
                if copy.time_created < oldest_possible:
                    break
                index.read += 1
                source_id = getattr(copy, spec.source_attribute, None)
                if not source_id:
                    continue
                if copy.lifecycle_state == AVAILABLE:
                    index.available.add(source_key(source_id))
                elif copy.lifecycle_state in NOT_YET_STATES:
                    index.in_flight.add(source_key(source_id))
                elif copy.lifecycle_state == FAULTY:
                    index.faulty[source_key(source_id)] += 1
        return index
