"""Per-volume aggregates: the recovery point of each (volume, destination region).

A volume's recovery point in a region is the creation time of its newest source backup that
has an AVAILABLE copy there; its age is rpoHours. Source backups arrive newest first, so the
first one seen of a volume is its newest, and the first with a copy in a region sets that
region's recovery point for good. Each volume keeps a few fields, whatever its number of
backups: memory grows with the number of volumes, never with the number of backups.
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ..backups.states import AVAILABLE
from ..shared.kinds import BackupKind, KindSpec

_SECONDS_PER_HOUR = 3600.0


class Status(enum.StrEnum):
    """From best to worst; a volume is as bad as its worst region."""

    COVERED = "covered"
    BREACHING = "breaching"
    UNCOVERED = "uncovered"

    @property
    def rank(self) -> int:
        return list(Status).index(self)


@dataclass
class CopyIndex:
    """What one destination region holds: the ids of the source backups its copies were made from."""

    available: set[str] = field(default_factory=set)
    in_flight: set[str] = field(default_factory=set)
    faulty: Counter[str] = field(default_factory=Counter)
    read: int = 0


@dataclass(frozen=True)
class RegionView:
    status: Status
    rpo_hours: float
    newest_copied: datetime | None


# Every time a volume keeps is whole microseconds since the epoch: an int is 32 bytes where a
# datetime is 48, and the arithmetic on them is the timedelta's own, so every figure is the same.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_MICROSECONDS_PER_SECOND = 10**6


def micros(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


def moment_of(microseconds: int) -> datetime:
    return _EPOCH + timedelta(microseconds=microseconds)


@dataclass(slots=True)
class VolumeCoverage:
    """One volume's recovery point per destination region, in a few machine words.

    A report over a tenancy keeps one per volume until it answers. Measured with tracemalloc
    (20,000 volumes of one compartment, one destination region, OCIDs of 87 characters as
    OCI's, the records let go): 483 bytes a volume, its OCID and its newest backup's included, so
    20,000 volumes hold 9.2 MiB; keyed by (kind, OCID), with datetimes, three lists and two
    strings per volume, they held 812 bytes each (15.5 MiB).
    """

    resource_id: str
    # Where its backups live: its metrics are posted there, so each team can alarm on its own.
    compartment_id: str
    kind: BackupKind
    # The newest backup's OCID and display name, in one string: "<OCID> <display name>" (an OCID
    # holds no space). The answer names them for the worst 100 only, so one string serves.
    newest_backup: str
    newest_backup_time: int
    oldest_backup_time: int
    backups: int
    # One item per destination region, in the report's order: when its newest copied backup was made.
    newest_copied: tuple[int | None, ...]
    # A bit per destination region: a copy of the newest backup is being made there.
    in_flight: int
    # FAULTY copies per destination region; None while there is none anywhere (nearly always).
    faulty: list[int] | None

    def region(self, index: int, now: datetime, target_hours: float) -> RegionView:
        copied = self.newest_copied[index]
        if copied is None:
            # Whatever copy exists is of a backup older than any seen: the age of the oldest is a lower bound.
            return RegionView(Status.UNCOVERED, _hours(micros(now) - self.oldest_backup_time), None)
        rpo = _hours(micros(now) - copied)
        return RegionView(Status.BREACHING if rpo > target_hours else Status.COVERED, rpo, moment_of(copied))

    def worst(self, now: datetime, target_hours: float) -> tuple[int, float]:
        """(status rank, hours) of the worst region: the sort key that puts the worst volumes first."""
        views = [self.region(index, now, target_hours) for index in range(len(self.newest_copied))]
        return max((view.status.rank, view.rpo_hours) for view in views)

    @property
    def newest_backup_id(self) -> str:
        return self.newest_backup.partition(" ")[0]

    @property
    def display_name(self) -> str:
        return self.newest_backup.partition(" ")[2]

    def in_flight_to(self, index: int) -> bool:
        return bool(self.in_flight >> index & 1)

    def faulty_in(self, index: int) -> int:
        return self.faulty[index] if self.faulty else 0

    def absorb(self, other: VolumeCoverage) -> None:
        """The same volume seen in another compartment (its backups were moved): one volume, both halves."""
        if other.newest_backup_time > self.newest_backup_time:
            self.newest_backup, self.newest_backup_time = other.newest_backup, other.newest_backup_time
            self.compartment_id = other.compartment_id
            self.in_flight = other.in_flight
        self.oldest_backup_time = min(self.oldest_backup_time, other.oldest_backup_time)
        self.backups += other.backups
        self.newest_copied = tuple(
            max(filter(None, pair), default=None) for pair in zip(self.newest_copied, other.newest_copied, strict=True)
        )
        if other.faulty:
            mine = self.faulty or [0] * len(other.faulty)
            self.faulty = [ours + theirs for ours, theirs in zip(mine, other.faulty, strict=True)]


class Coverage:
    """Every volume seen in the source backups, with its recovery point per destination region.

    One per compartment while it is read (with that compartment's copy indexes), merged into
    the scope's with absorb(), after which the indexes are dropped: memory keeps the volumes only.
    Volumes are keyed by their OCID alone: an OCID names its resource's type, so a volume, a boot
    volume and a volume group never share one.
    """

    def __init__(self, indexes: list[CopyIndex], compartment_id: str = "") -> None:
        self.indexes = indexes
        self.compartment_id = compartment_id
        self.volumes: dict[str, VolumeCoverage] = {}
        self.scanned = 0
        self.skipped: Counter[str] = Counter()

    def absorb(self, other: Coverage) -> None:
        """Another compartment's volumes and counts, added to these."""
        self.scanned += other.scanned
        self.skipped.update(other.skipped)
        for key, volume in other.volumes.items():
            mine = self.volumes.get(key)
            if mine is None:
                self.volumes[key] = volume
            else:
                mine.absorb(volume)

    def add(self, spec: KindSpec, backup: Any) -> None:
        """One source backup; callers give each kind's backups newest first."""
        self.scanned += 1
        skip = _reason_to_skip(spec, backup)
        if skip:
            self.skipped[skip] += 1
            return
        # A backup whose volume is not named stands for a volume of its own.
        volume_id = getattr(backup, spec.resource_attribute, None) or backup.id
        created = micros(backup.time_created)
        entry = self.volumes.get(volume_id)
        if entry is None:
            in_flight = sum(
                1 << position for position, index in enumerate(self.indexes) if backup.id in index.in_flight
            )
            entry = self.volumes[volume_id] = VolumeCoverage(
                resource_id=volume_id,
                compartment_id=self.compartment_id or getattr(backup, "compartment_id", "") or "",
                kind=spec.kind,
                newest_backup=f"{backup.id} {backup.display_name or ''}",
                newest_backup_time=created,
                oldest_backup_time=created,
                backups=0,
                newest_copied=(None,) * len(self.indexes),
                in_flight=in_flight,
                faulty=None,
            )
        entry.backups += 1
        entry.oldest_backup_time = min(entry.oldest_backup_time, created)
        for position, index in enumerate(self.indexes):
            if entry.newest_copied[position] is None and backup.id in index.available:
                copied = entry.newest_copied
                entry.newest_copied = (*copied[:position], created, *copied[position + 1 :])
            faulty = index.faulty.get(backup.id, 0)
            if faulty:
                if entry.faulty is None:
                    entry.faulty = [0] * len(self.indexes)
                entry.faulty[position] += faulty


def _reason_to_skip(spec: KindSpec, backup: Any) -> str | None:
    if getattr(backup, spec.source_attribute, None):
        # A copy made into this region from elsewhere: its original's region reports it.
        return "CopyOfAnotherBackup"
    if spec.kind is not BackupKind.VOLUME_GROUP and getattr(backup, "volume_group_backup_id", None):
        # A member of a volume group backup: the group's own backup is what gets copied and reported.
        return "VolumeGroupMember"
    if backup.lifecycle_state != AVAILABLE:
        # Not (or no longer) a backup: nothing to recover from in the source, nothing to copy.
        return "NotAvailable"
    return None


def _hours(microseconds: int) -> float:
    # As timedelta.total_seconds() computes it, then hours: the same float as from datetimes.
    return max(0.0, microseconds / _MICROSECONDS_PER_SECOND / _SECONDS_PER_HOUR)
