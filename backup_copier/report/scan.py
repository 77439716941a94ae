"""The report's reads, page by page within the deadline: what each destination holds, then the sources.

Destinations first: each copy of a backup in the window leaves only its source's id (a few
dozen bytes), in a set per region. Then each kind's source backups, newest first, each folded
into its volume's aggregate (coverage.py) and dropped: one page of backups is in memory at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..backups.listing import OutOfTime, pages
from ..backups.states import AVAILABLE, COPY_CLOCK_SKEW, FAULTY, NOT_YET_STATES
from ..shared.context import Invocation
from ..shared.kinds import KindSpec
from ..shared.outcomes import SERVICE_FAILURES, verdict_for
from .coverage import CopyIndex, Coverage


@dataclass
class Scan:
    coverage: Coverage
    copies_read: int
    complete: bool
    # What ended the scan when a read was refused: (reason code, sentence).
    fatal: tuple[str, str] | None = None


def scan(
    clients: Any,
    invocation: Invocation,
    source_region: str,
    destination_regions: tuple[str, ...],
    compartment_id: str,
    specs: tuple[KindSpec, ...],
    since: datetime,
) -> Scan:
    # Filled region by region; the coverage reads it only once the sources are read.
    indexes: list[CopyIndex] = []
    result = Scan(Coverage(indexes), 0, complete=False)
    doing = ("", "")
    try:
        for region in destination_regions:
            doing = (f"list the copies in {region}", region)
            indexes.append(index_copies(clients, invocation, region, compartment_id, specs, since))
            result.copies_read += indexes[-1].read
        doing = (f"list the source backups in {source_region}", source_region)
        for spec in specs:
            for backup in pages(clients, invocation, source_region, spec, compartment_id, "DESC"):
                if backup.time_created < since:
                    break
                result.coverage.add(spec, backup)
        result.complete = True
    except OutOfTime:
        pass
    except SERVICE_FAILURES as error:
        action, region = doing
        verdict = verdict_for(error, action=action, region=region)
        result.fatal = (verdict.reason_code, verdict.reason)
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
