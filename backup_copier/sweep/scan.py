"""The sweep's read of one compartment: what each destination holds, then the sources, one kind after another.

Everything is read page by page, as lean records (backups/scope_pass.py). The destination
side keeps only the ids of backups that already have a copy, for copies made inside the
window, a few dozen bytes each. The source side reads each kind newest first, so a backup's
rank among its volume's newest KEEP_LAST_COPIES is known as it is read (backups/arrival.py): a
missing copy whose earlier copy the expiry pass deleted (backups/expired.py), or that would expire
on arrival, is counted at once, and the others go straight into
the compartment's oldest few (MissingCopies), as many of each sort as one run can make, the
rest counted. What a compartment holds therefore costs the same whether it misses ten copies
or a hundred thousand; loop.py takes every compartment's in, and makes the copies of the whole
scope oldest first, under one copy limit.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from oci import exceptions as oci_exceptions

from ..backups.arrival import EXPIRES_ON_ARRIVAL, NewestBackups, expires_on_arrival
from ..backups.expired import COPY_EXPIRED, copy_expired
from ..backups.marks import carries_mark_keys, recorded_copy
from ..backups.oldest_few import OldestFew
from ..backups.scope_pass import CompartmentRead
from ..backups.states import COPY_CLOCK_SKEW, NOT_YET_STATES, PRESENT_STATES
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
# The kinds whose copies count against the copy limit (loop.py); boot volume backups are
# limited per boot volume instead.
LIMITED_KINDS = frozenset({BackupKind.VOLUME, BackupKind.VOLUME_GROUP})
# Copies whose mark is still to be written that one run marks (two requests each); the rest
# are counted, and the next run marks them.
MAX_MARKS_PER_RUN = 100


def retryable_in_sweep(error: BaseException) -> bool:
    if isinstance(error, oci_exceptions.ServiceError) and (error.status, error.code) in _FINAL_IN_SWEEP:
        return False
    return is_retryable(error)


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

    def has_copy(self, spec: KindSpec, backup: Any) -> bool:
        return backup.id in self.copied.get(spec.kind, ())


def index_destination(
    compartment: CompartmentRead,
    clients: Any,
    region: str,
    source_region: str,
    specs: tuple[KindSpec, ...],
    since: datetime,
) -> DestinationIndex:
    index = DestinationIndex()
    oldest_possible = since - COPY_CLOCK_SKEW
    for spec in specs:
        present = index.copied.setdefault(spec.kind, set())
        # Newest first, so the scan ends at the first copy too old to be of a backup in the
        # window (a copy is always made after its source).
        for copy in compartment.backups(clients, region, spec, "DESC"):
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
        for copy in compartment.backups(clients, region, spec, "DESC", lifecycle_state=CREATING):
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


@dataclass(frozen=True, slots=True)
class InRegion:
    """A source backup (its lean record, which the acting step needs) and one destination region."""

    spec: KindSpec
    backup: Any
    region: str

    @property
    def order(self) -> tuple[datetime, str, str]:
        """Oldest first across the scope: copies made in this order keep incremental copies incremental."""
        return (self.backup.time_created, self.backup.id, self.region)

    @property
    def compartment_id(self) -> str:
        """The compartment it was listed in, whose metrics count what became of it."""
        return str(self.backup.compartment_id)


@dataclass(frozen=True, slots=True)
class Missing(InRegion):
    """A source backup without a copy in the region."""

    # Among its volume's newest KEEP_LAST_COPIES in the compartment (backups/arrival.py).
    among_newest: bool | None = None

    @property
    def limited(self) -> bool:
        return self.spec.kind in LIMITED_KINDS

    @property
    def boot_volume(self) -> str | None:
        return boot_volume_of(self.spec, self.backup)


def boot_volume_of(spec: KindSpec, backup: Any) -> str | None:
    if spec.kind is not BackupKind.BOOT_VOLUME:
        return None
    return getattr(backup, "boot_volume_id", None)


@dataclass(frozen=True, slots=True)
class Repair(InRegion):
    """A copy this function made (its source's record names it) whose mark is still to be written."""

    copy_id: str


def _order(item: InRegion) -> tuple[datetime, str, str]:
    return item.order


def _compartment(item: InRegion) -> Hashable:
    return item.compartment_id


@dataclass
class MissingCopies:
    """The oldest missing copies, as many of each sort as one run can use, and how many others wait.

    A run makes at most maxCopies copies (at most 100); keeping twice that of each sort (the
    kinds the copy limit counts, and boot volume backups, which the limit does not count)
    leaves room for copies found made since the listing, while a first run over a tenancy
    with a hundred thousand missing copies keeps a few hundred in memory. One per compartment
    in its worker, and one for the scope, which takes them in (loop.py).
    """

    keep: int
    _sorts: dict[bool, OldestFew[Missing]] = field(init=False)

    def __post_init__(self) -> None:
        self._sorts = {limited: OldestFew(self.keep, _order, _compartment) for limited in (True, False)}

    def add(self, item: Missing) -> None:
        self._sorts[item.limited].add(item)

    def absorb(self, other: MissingCopies) -> None:
        for limited, few in other._sorts.items():
            self._sorts[limited].absorb(few)

    def oldest_first(self) -> list[Missing]:
        """Both sorts' held copies, oldest first."""
        return sorted(self._sorts[True].oldest_first() + self._sorts[False].oldest_first(), key=_order)

    def dropped(self) -> Counter[tuple[bool, str]]:
        """Copies not held, by (limited, compartment): each compartment counts its own."""
        counts: Counter[tuple[bool, str]] = Counter()
        for limited, few in self._sorts.items():
            for compartment_id, count in few.dropped.items():
                counts[limited, str(compartment_id)] += count
        return counts


def new_repairs() -> OldestFew[Repair]:
    return OldestFew(MAX_MARKS_PER_RUN, _order, _compartment)


@dataclass
class CompartmentFindings:
    """What one compartment holds, as the sweep needs it; its destination indexes stay behind."""

    missing: MissingCopies
    scanned: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    already_copied: int = 0
    limited_in_flight: int = 0
    busy_boot_volumes: set[str] = field(default_factory=set)
    # Copies this function made whose mark is still to be written, the oldest MAX_MARKS_PER_RUN.
    unmarked_ours: OldestFew[Repair] = field(default_factory=new_repairs)


@dataclass(frozen=True)
class SweepReading:
    """What the sweep asks of each compartment: where, which kinds, and its rules."""

    clients: Any
    source_region: str
    destination_regions: tuple[str, ...]
    specs: tuple[KindSpec, ...]
    since: datetime
    reason_to_skip: Callable[[KindSpec, Any], str | None]
    keep_last: int
    # REQUIRED_FREEFORM_TAG: keep-last ranks only the backups this function copies (arrival.py).
    copied: Callable[[Any], bool]
    retention_for: Callable[[str], RetentionRule]
    # Copies held per sort: twice maxCopies.
    keep: int


def read_compartment(compartment: CompartmentRead, reading: SweepReading) -> CompartmentFindings:
    found = CompartmentFindings(MissingCopies(reading.keep))
    newest = NewestBackups(reading.keep_last, reading.copied)
    indexes: dict[str, DestinationIndex] = {}
    busy_boot_sources: set[str] = set()
    step = compartment.step
    for region in reading.destination_regions:
        step.doing("list the copies already made", region)
        index = indexes[region] = index_destination(
            compartment, reading.clients, region, reading.source_region, reading.specs, reading.since
        )
        found.limited_in_flight += index.limited_in_flight
        found.busy_boot_volumes |= index.busy_boot_volumes
        busy_boot_sources |= index.busy_boot_sources
    step.doing("list the source backups", reading.source_region)
    now = datetime.now(UTC)
    for spec in reading.specs:
        # Newest first: every backup newer than this one was seen, so its rank is known now.
        for backup in compartment.backups(reading.clients, reading.source_region, spec, "DESC"):
            found.scanned += 1
            # Ranked whatever the window says: keep-last counts every copy of the volume, and any of its
            # backups that the tag filter lets through may have one (arrival.py).
            newest.see(spec, backup)
            boot_volume = boot_volume_of(spec, backup)
            if boot_volume and backup.id in busy_boot_sources:
                found.busy_boot_volumes.add(boot_volume)
            skip = reading.reason_to_skip(spec, backup)
            if skip:
                found.skipped[skip] += 1
                continue
            ranked = newest.holds(spec, backup)
            among_newest = functools.partial(bool, ranked)
            for region in reading.destination_regions:
                if indexes[region].has_copy(spec, backup):
                    found.already_copied += 1
                    copy_id = recorded_copy(backup, region)
                    if copy_id is not None and copy_id in indexes[region].unmarked:
                        found.unmarked_ours.add(Repair(spec, backup, region, copy_id))
                elif copy_expired(backup, region):
                    # Its copy there expired and the expiry pass deleted it: final (backups/expired.py).
                    found.skipped[COPY_EXPIRED] += 1
                elif expires_on_arrival(backup, reading.retention_for(region), now, among_newest):
                    # Counted per (backup, region), as a copy not worth starting (backups/arrival.py).
                    found.skipped[EXPIRES_ON_ARRIVAL] += 1
                else:
                    found.missing.add(Missing(spec, backup, region, among_newest=ranked))
    return found
