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
from datetime import datetime
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


@dataclass(slots=True)
class VolumeCoverage:
    resource_id: str
    # Where its backups live: its metrics are posted there, so each team can alarm on its own.
    compartment_id: str
    kind: BackupKind
    display_name: str
    newest_backup_id: str
    newest_backup_time: datetime
    oldest_backup_time: datetime
    backups: int
    # One item per destination region, in the report's order.
    newest_copied: list[datetime | None]
    in_flight: list[bool]
    faulty: list[int]

    def region(self, index: int, now: datetime, target_hours: float) -> RegionView:
        copied = self.newest_copied[index]
        if copied is None:
            # Whatever copy exists is of a backup older than any seen: the age of the oldest is a lower bound.
            return RegionView(Status.UNCOVERED, _hours(now - self.oldest_backup_time), None)
        rpo = _hours(now - copied)
        return RegionView(Status.BREACHING if rpo > target_hours else Status.COVERED, rpo, copied)

    def worst(self, now: datetime, target_hours: float) -> tuple[int, float]:
        """(status rank, hours) of the worst region: the sort key that puts the worst volumes first."""
        views = [self.region(index, now, target_hours) for index in range(len(self.newest_copied))]
        return max((view.status.rank, view.rpo_hours) for view in views)

    def absorb(self, other: VolumeCoverage) -> None:
        """The same volume seen in another compartment (its backups were moved): one volume, both halves."""
        if other.newest_backup_time > self.newest_backup_time:
            self.newest_backup_id, self.newest_backup_time = other.newest_backup_id, other.newest_backup_time
            self.display_name, self.compartment_id = other.display_name, other.compartment_id
            self.in_flight = other.in_flight
        self.oldest_backup_time = min(self.oldest_backup_time, other.oldest_backup_time)
        self.backups += other.backups
        self.newest_copied = [
            max(filter(None, pair), default=None) for pair in zip(self.newest_copied, other.newest_copied, strict=True)
        ]
        self.faulty = [mine + theirs for mine, theirs in zip(self.faulty, other.faulty, strict=True)]


class Coverage:
    """Every volume seen in the source backups, with its recovery point per destination region.

    One per compartment while it is read (with that compartment's copy indexes), merged into
    the scope's with absorb(), after which the indexes are dropped: memory keeps the volumes only.
    """

    def __init__(self, indexes: list[CopyIndex], compartment_id: str = "") -> None:
        self.indexes = indexes
        self.compartment_id = compartment_id
        self.volumes: dict[tuple[BackupKind, str], VolumeCoverage] = {}
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
        entry = self.volumes.get((spec.kind, volume_id))
        if entry is None:
            entry = self.volumes[spec.kind, volume_id] = VolumeCoverage(
                resource_id=volume_id,
                compartment_id=self.compartment_id or getattr(backup, "compartment_id", "") or "",
                kind=spec.kind,
                display_name=backup.display_name or "",
                newest_backup_id=backup.id,
                newest_backup_time=backup.time_created,
                oldest_backup_time=backup.time_created,
                backups=0,
                newest_copied=[None] * len(self.indexes),
                in_flight=[backup.id in index.in_flight for index in self.indexes],
                faulty=[0] * len(self.indexes),
            )
        entry.backups += 1
        entry.oldest_backup_time = min(entry.oldest_backup_time, backup.time_created)
        for position, index in enumerate(self.indexes):
            if entry.newest_copied[position] is None and backup.id in index.available:
                entry.newest_copied[position] = backup.time_created
            entry.faulty[position] += index.faulty.get(backup.id, 0)


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


def _hours(delta: Any) -> float:
    return max(0.0, delta.total_seconds() / _SECONDS_PER_HOUR)
