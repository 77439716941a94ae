"""The sweep's reads of one compartment: what each destination holds, then the sources oldest first.

Everything is read page by page. The source side holds one page per kind at a time,
merged into one oldest-first stream; the destination side keeps only the ids of backups
that already have a copy, for copies made inside the window, a few dozen bytes each.
read_compartment() runs in a worker (backups/per_compartment.py) and hands back what the
compartment needs: counts, the copies in flight, and the copies missing, which loop.py
makes for the whole scope, oldest first, under one copy limit. A missing copy that would
expire on arrival is left out once the compartment is read whole (backups/arrival.py):
only then is each volume's newest backup known, kept as a top KEEP_LAST_COPIES per volume.
"""

from __future__ import annotations

import functools
import heapq
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from oci import exceptions as oci_exceptions

from ..backups.arrival import EXPIRES_ON_ARRIVAL, NewestBackups, expires_on_arrival
from ..backups.listing import pages
from ..backups.marks import carries_mark_keys, recorded_copy
from ..backups.per_compartment import Step
from ..backups.states import COPY_CLOCK_SKEW, NOT_YET_STATES, PRESENT_STATES
from ..shared.context import Invocation
from ..shared.errors import InvalidRequest
from ..shared.kinds import BackupKind, KindSpec
from ..shared.ocids import parse_ocid
from ..shared.retention import RetentionRule
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
    # Copies present that carry none of the mark's keys: those the source's record names are
    # this function's, whose marking failed, and the sweep marks them (marks.may_repair, checked
    # again on a fresh read before the write). A copy with any key is left alone.
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
                if not carries_mark_keys(copy):
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


@dataclass(frozen=True)
class Missing:
    """A source backup without a copy in one destination region."""

    listed: Listed
    region: str
    # Among its volume's newest KEEP_LAST_COPIES in the compartment (backups/arrival.py).
    among_newest: bool | None = None

    @property
    def order(self) -> tuple[datetime, str, str]:
        """Oldest first across the scope: copies made in this order keep incremental copies incremental."""
        return (self.listed.backup.time_created, self.listed.backup.id, self.region)

    @property
    def boot_volume(self) -> str | None:
        if self.listed.spec.kind is not BackupKind.BOOT_VOLUME:
            return None
        return getattr(self.listed.backup, "boot_volume_id", None)


@dataclass
class CompartmentFindings:
    """What one compartment holds, as the sweep needs it; its destination indexes stay behind."""

    scanned: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    already_copied: int = 0
    limited_in_flight: int = 0
    busy_boot_volumes: set[str] = field(default_factory=set)
    missing: list[Missing] = field(default_factory=list)
    # (listed, region, copy id): copies this function made whose mark is still to be written.
    unmarked_ours: list[tuple[Listed, str, str]] = field(default_factory=list)


def read_compartment(
    clients: Any,
    invocation: Invocation,
    step: Step,
    compartment_id: str,
    source_region: str,
    destination_regions: tuple[str, ...],
    specs: tuple[KindSpec, ...],
    since: datetime,
    reason_to_skip: Callable[[Listed], str | None],
    keep_last: int,
    retention_for: Callable[[str], RetentionRule],
) -> CompartmentFindings:
    found = CompartmentFindings()
    newest = NewestBackups(keep_last)
    missing: list[Missing] = []
    indexes: dict[str, DestinationIndex] = {}
    busy_boot_sources: set[str] = set()
    for region in destination_regions:
        step.doing("list the copies already made", region)
        index = indexes[region] = index_destination(
            clients, invocation, region, source_region, compartment_id, specs, since
        )
        found.limited_in_flight += index.limited_in_flight
        found.busy_boot_volumes |= index.busy_boot_volumes
        busy_boot_sources |= index.busy_boot_sources
    step.doing("list the source backups", source_region)
    for listed in source_backups(clients, invocation, source_region, compartment_id, specs):
        found.scanned += 1
        # Ranked whatever the window or the filters say: keep-last counts every backup of the volume.
        newest.see(listed.spec, listed.backup)
        boot_volume = Missing(listed, "").boot_volume
        if boot_volume and listed.backup.id in busy_boot_sources:
            found.busy_boot_volumes.add(boot_volume)
        skip = reason_to_skip(listed)
        if skip:
            found.skipped[skip] += 1
            continue
        for region in destination_regions:
            if indexes[region].has_copy(listed):
                found.already_copied += 1
                copy_id = recorded_copy(listed.backup, region)
                if copy_id is not None and copy_id in indexes[region].unmarked:
                    found.unmarked_ours.append((listed, region, copy_id))
            else:
                missing.append(Missing(listed, region))
    found.missing = _worth_copying(missing, newest, retention_for, found.skipped)
    return found


def _worth_copying(
    missing: list[Missing],
    newest: NewestBackups,
    retention_for: Callable[[str], RetentionRule],
    skipped: Counter[str],
) -> list[Missing]:
    """The missing copies that would not expire on arrival, decided once the compartment was
    read whole (only then is a volume's newest backup known); the others are counted, per
    (backup, region), under ExpiresOnArrival."""
    now = datetime.now(UTC)
    worth: list[Missing] = []
    for item in missing:
        ranked = functools.partial(newest.holds, item.listed.spec, item.listed.backup)
        if expires_on_arrival(item.listed.backup, retention_for(item.region), now, ranked):
            skipped[EXPIRES_ON_ARRIVAL] += 1
        else:
            worth.append(replace(item, among_newest=ranked()))
    return worth
