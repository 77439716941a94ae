"""The sweep's reads: source backups oldest first, and what each destination already holds.

Everything is read page by page. The source side holds one page per kind at a time,
merged into one oldest-first stream; the destination side keeps only the ids of backups
that already have a copy, for copies made inside the window, a few dozen bytes each.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from oci import exceptions as oci_exceptions

from ..backups.listing import pages
from ..backups.marks import read_mark
from ..backups.states import COPY_CLOCK_SKEW, NOT_YET_STATES, PRESENT_STATES
from ..shared.context import Invocation
from ..shared.errors import InvalidRequest
from ..shared.kinds import BackupKind, KindSpec
from ..shared.ocids import parse_ocid
from ..shared.retries import is_retryable

CREATING = "CREATING"
# Errors that, in a sweep, mean "not now" rather than "try again in a moment": waiting out
# the copy limit or a backup that changed state would spend the run on one copy, while
# the next run finds the work again anyway.
_FINAL_IN_SWEEP = frozenset({(400, "LimitExceeded"), (409, "IncorrectState")})


def retryable_in_sweep(error: BaseException) -> bool:
    if isinstance(error, oci_exceptions.ServiceError) and (error.status, error.code) in _FINAL_IN_SWEEP:
        return False
    return is_retryable(error)


@dataclass(frozen=True)
class Listed:
    spec: KindSpec
    backup: Any


def source_backups(
    clients: Any, invocation: Invocation, region: str, compartment_id: str, specs: tuple[KindSpec, ...]
) -> Iterator[Listed]:
    """Every backup of the kinds in the compartment, oldest first across kinds.

    Each kind's list is asked for in ascending creation order and the streams are merged
    lazily, so order costs no memory: copies made in this order keep incremental copies
    incremental.
    """
    streams = [_listed(spec, pages(clients, invocation, region, spec, compartment_id, "ASC")) for spec in specs]
    return heapq.merge(*streams, key=lambda listed: (listed.backup.time_created, listed.backup.id))


def _listed(spec: KindSpec, backups: Iterator[Any]) -> Iterator[Listed]:
    for backup in backups:
        yield Listed(spec, backup)


@dataclass
class DestinationIndex:
    """What one destination region holds for the sweep's source region."""

    copied: dict[BackupKind, set[str]] = field(default_factory=dict)
    # Copies present but without a valid mark: those the source's record names are this
    # function's, and the sweep marks them.
    unmarked: set[str] = field(default_factory=set)
    # Copies from the source region still being made, of the kinds the limit counts.
    limited_in_flight: int = 0
    busy_boot_volumes: set[str] = field(default_factory=set)
    # Source backups whose boot volume has a copy in flight, when the copy does not name it.
    busy_boot_sources: set[str] = field(default_factory=set)

    def has_copy(self, listed: Listed) -> bool:
        return listed.backup.id in self.copied.get(listed.spec.kind, ())


def index_destination(
    clients: Any,
    invocation: Invocation,
    region: str,
    source_region: str,
    compartment_id: str,
    specs: tuple[KindSpec, ...],
    since: datetime,
) -> DestinationIndex:
    index = DestinationIndex()
    oldest_possible = since - COPY_CLOCK_SKEW
    for spec in specs:
        present = index.copied.setdefault(spec.kind, set())
        # Newest first, so the scan ends at the first copy too old to be of a backup in the
        # window (a copy is always made after its source).
        for copy in pages(clients, invocation, region, spec, compartment_id, "DESC"):
            if copy.time_created < oldest_possible:
                break
            source_id = getattr(copy, spec.source_attribute, None)
            if source_id and copy.lifecycle_state in PRESENT_STATES:
                present.add(source_id)
                if read_mark(copy, spec).mark is None:
                    index.unmarked.add(copy.id)
            # The volume group list cannot filter on the state: its copies in flight are
            # counted here, within the window (older ones still copying are found by the
            # service's own LimitExceeded, which stops the sweep the same way).
            if spec.kind is BackupKind.VOLUME_GROUP and copy.lifecycle_state in NOT_YET_STATES:
                index.limited_in_flight += _from_region(source_id, source_region)
    for spec in specs:
        if spec.kind is BackupKind.VOLUME_GROUP:
            continue
        for copy in pages(clients, invocation, region, spec, compartment_id, "DESC", lifecycle_state=CREATING):
            source_id = getattr(copy, spec.source_attribute, None)
            if not source_id or not _from_region(source_id, source_region):
                continue
            if getattr(copy, "volume_group_backup_id", None):
                continue  # part of a volume group's copy, which the limit counts once
            if spec.kind is BackupKind.VOLUME:
                index.limited_in_flight += 1
            elif getattr(copy, "boot_volume_id", None):
                index.busy_boot_volumes.add(copy.boot_volume_id)
            else:
                index.busy_boot_sources.add(source_id)
    return index


def _from_region(backup_id: str | None, region: str) -> int:
    """1 if the backup lives in `region` (or its OCID does not say), else 0."""
    if not backup_id:
        return 0
    try:
        found = parse_ocid(backup_id, field="sourceBackupId", types={backup_id.split(".")[1]}, regional=True).region
    except (InvalidRequest, IndexError):
        return 1
    return int(found in (None, region))
