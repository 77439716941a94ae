"""The report's reads, page by page within the deadline: what each destination holds, then the sources.

Each compartment is read by a worker (backups/per_compartment.py), and its per-volume
aggregates join the scope's once it is read whole. Within a compartment, destinations first:
each copy of a backup in the window leaves only its source's id (a few dozen bytes), in a set
per region. Then each kind's source backups, newest first, each folded
into its volume's aggregate (coverage.py) and dropped: one page of backups is in memory at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..backups.listing import pages
from ..backups.per_compartment import ScopeProgress, Step, read_each
from ..backups.states import AVAILABLE, COPY_CLOCK_SKEW, FAULTY, NOT_YET_STATES
from ..shared.context import Invocation
from ..shared.kinds import KindSpec
from ..shared.workers import Workers
from .coverage import CopyIndex, Coverage


@dataclass
class Scan:
    coverage: Coverage
    progress: ScopeProgress
    copies_read: int = 0

    @property
    def complete(self) -> bool:
        return self.progress.complete


def scan(
    clients: Any,
    workers: Workers,
    invocation: Invocation,
    source_region: str,
    destination_regions: tuple[str, ...],
    compartments: list[str],
    progress: ScopeProgress,
    specs: tuple[KindSpec, ...],
    since: datetime,
) -> Scan:
    """Every compartment read in the worker pool, each folded into the scope's coverage once read whole."""
    result = Scan(Coverage([CopyIndex() for _ in destination_regions]), progress)

    def read(compartment_id: str, step: Step) -> tuple[Coverage, int]:
        indexes = []
        for region in destination_regions:
            step.doing(f"list the copies in {region}", region)
            indexes.append(index_copies(clients, invocation, region, compartment_id, specs, since))
        coverage = Coverage(indexes, compartment_id)
        step.doing(f"list the source backups in {source_region}", source_region)
        for spec in specs:
            for backup in pages(clients, invocation, source_region, spec, compartment_id, "DESC"):
                if backup.time_created < since:
                    break
                coverage.add(spec, backup)
        # The copy indexes served their purpose; only the per-volume aggregates travel on.
        coverage.indexes = []
        return coverage, sum(index.read for index in indexes)

    for _, (coverage, copies_read) in read_each(compartments, read, workers, invocation, progress):
        result.coverage.absorb(coverage)
        result.copies_read += copies_read
    return result


def index_copies(
    clients: Any,
    invocation: Invocation,
    region: str,
    compartment_id: str,
    specs: tuple[KindSpec, ...],
    since: datetime,
) -> CopyIndex:
    """The copies in `region` of backups made since `since`, by their sources' ids.

    Newest first, so the read ends at the first copy too old to be of a backup in the window
    (a copy is made after its source). The volume group list cannot filter on the source; none
    is filtered, and a copy is known by its source_*_backup_id field.
    """
    index = CopyIndex()
    oldest_possible = since - COPY_CLOCK_SKEW
    for spec in specs:
        for copy in pages(clients, invocation, region, spec, compartment_id, "DESC"):
            if copy.time_created < oldest_possible:
                break
            index.read += 1
            source_id = getattr(copy, spec.source_attribute, None)
            if not source_id:
                continue
            if copy.lifecycle_state == AVAILABLE:
                index.available.add(source_id)
            elif copy.lifecycle_state in NOT_YET_STATES:
                index.in_flight.add(source_id)
            elif copy.lifecycle_state == FAULTY:
                index.faulty[source_id] += 1
    return index
