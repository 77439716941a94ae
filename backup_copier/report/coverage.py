"""Per-volume aggregates: the recovery point of each (volume, destination region).

A volume's recovery point in a region is the creation time of its newest source backup that
has an AVAILABLE copy there; its age is rpoHours. Source backups arrive newest first, so the
first one seen of a volume is its newest, and the first with a copy in a region sets that
region's recovery point for good. Each volume keeps a few fields, whatever its number of
backups: memory grows with the number of volumes, never with the number of backups.
"""

from __future__ import annotations

import enum
from array import array
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from hashlib import blake2b
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


def source_key(backup_id: str) -> bytes:
    """A source backup's OCID as the copy indexes hold it: its 128-bit BLAKE2b digest.

    A report's workers each hold their compartment's indexes while they read its source backups:
    a digest is a bytes of 49 bytes where the OCID's string is 136 (an OCID of 87 characters, as
    OCI's), so 8 workers over compartments of 3,500 copies hold about 2.4 MiB less. Two OCIDs
    share a key only by a collision of BLAKE2b-128, about one chance in 2**128 for a pair: the
    answers are those of the OCIDs themselves.
    """
    return blake2b(backup_id.encode("utf-8", "surrogatepass"), digest_size=16).digest()


@dataclass
class CopyIndex:
    """What one destination region holds: the source backups its copies were made from, by source_key()."""

    available: set[bytes] = field(default_factory=set)
    in_flight: set[bytes] = field(default_factory=set)
    faulty: Counter[bytes] = field(default_factory=Counter)
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


# "No copy in this region": below any time a backup can have (the column holds whole microseconds).
_NO_COPY = -(2**63)


class VolumeCoverage:
    """One volume's recovery point per destination region: a view of its row in its Coverage.

    The coverage keeps each volume as one row of columns, not as an object: see Coverage.
    """

    __slots__ = ("_coverage", "_row")

    def __init__(self, coverage: Coverage, row: int) -> None:
        self._coverage = coverage
        self._row = row

    @property
    def resource_id(self) -> str:
        return self._coverage._ids[self._row]

    @property
    def compartment_id(self) -> str:
        """Where its backups live: its metrics are posted there, so each team can alarm on its own."""
        return self._coverage._compartments[self._row]

    @property
    def kind(self) -> BackupKind:
        return self._coverage._kinds[self._row]

    @property
    def newest_backup_time(self) -> int:
        return self._coverage._newest_times[self._row]

    @property
    def oldest_backup_time(self) -> int:
        return self._coverage._oldest_times[self._row]

    @property
    def backups(self) -> int:
        return self._coverage._backups[self._row]

    def newest_copied(self, index: int) -> int | None:
        """When the newest backup copied to destination region `index` was made, or None."""
        copied = self._coverage._copied[index][self._row]
        return None if copied == _NO_COPY else copied

    def region(self, index: int, now: datetime, target_hours: float) -> RegionView:
        copied = self.newest_copied(index)
        if copied is None:
            # Whatever copy exists is of a backup older than any seen: the age of the oldest is a lower bound.
            return RegionView(Status.UNCOVERED, _hours(micros(now) - self.oldest_backup_time), None)
        rpo = _hours(micros(now) - copied)
        return RegionView(Status.BREACHING if rpo > target_hours else Status.COVERED, rpo, moment_of(copied))

    def worst(self, now: datetime, target_hours: float) -> tuple[int, float]:
        """(status rank, hours) of the worst region: the sort key that puts the worst volumes first."""
        views = [self.region(index, now, target_hours) for index in range(len(self._coverage._copied))]
        return max((view.status.rank, view.rpo_hours) for view in views)

    @property
    def newest_backup_id(self) -> str:
        return self._coverage._newest_backups[self._row].partition(" ")[0]

    @property
    def display_name(self) -> str:
        return self._coverage._newest_backups[self._row].partition(" ")[2]

    def in_flight_to(self, index: int) -> bool:
        return bool(self._coverage._in_flight[self._row] >> index & 1)

    def faulty_in(self, index: int) -> int:
        faulty = self._coverage._faulty.get(self._row)
        return faulty[index] if faulty else 0


class Coverage:
    """Every volume seen in the source backups, with its recovery point per destination region.

    One per compartment while it is read (with that compartment's copy indexes), merged into
    the scope's with absorb(), after which the indexes are dropped: memory keeps the volumes only.
    Volumes are keyed by their OCID alone: an OCID names its resource's type, so a volume, a boot
    volume and a volume group never share one.

    A report over a tenancy keeps every volume until it answers, so a volume is a row of columns
    (`volumes` gives a view of each): its OCID, its compartment's (shared), its kind, its newest
    backup's OCID and display name in one string ("<OCID> <display name>": an OCID holds no
    space; the answer names them for the worst 100 only), and in arrays of 64-bit integers its
    times (whole microseconds since the epoch), its count of backups, a bit per destination
    region for a copy of its newest backup being made there, and per region when its newest
    copied backup was made. FAULTY copies, nearly always none, are kept per row only where
    there are some. Measured with tracemalloc (20,000 volumes of one compartment, one
    destination region, OCIDs of 87 characters as OCI's, the records let go): 411 bytes a
    volume, its OCID and its newest backup's included; as an object per volume (slots, times
    as ints, a tuple per region), 475 bytes; keyed by (kind, OCID), with datetimes, three lists
    and two strings per volume, 812 bytes.
    """

    def __init__(self, indexes: list[CopyIndex], compartment_id: str = "") -> None:
        self.indexes = indexes
        self.compartment_id = compartment_id
        self.scanned = 0
        self.skipped: Counter[str] = Counter()
        self._rows: dict[str, int] = {}
        self._ids: list[str] = []
        self._compartments: list[str] = []
        self._kinds: list[BackupKind] = []
        self._newest_backups: list[str] = []
        self._newest_times = array("q")
        self._oldest_times = array("q")
        self._backups = array("q")
        self._in_flight = array("q")
        self._copied = [array("q") for _ in indexes]
        self._faulty: dict[int, list[int]] = {}

    @property
    def volumes(self) -> Mapping[str, VolumeCoverage]:
        """Each volume by its OCID, as a view of its row."""
        return _Volumes(self)

    def absorb(self, other: Coverage) -> None:
        """Another compartment's volumes and counts, added to these."""
        self.scanned += other.scanned
        self.skipped.update(other.skipped)
        for volume_id, theirs in other._rows.items():
            mine = self._rows.get(volume_id)
            if mine is None:
                self._append(
                    volume_id,
                    other._compartments[theirs],
                    other._kinds[theirs],
                    other._newest_backups[theirs],
                    other._newest_times[theirs],
                    other._in_flight[theirs],
                )
                self._oldest_times[-1] = other._oldest_times[theirs]
                self._backups[-1] = other._backups[theirs]
                for column, their_column in zip(self._copied, other._copied, strict=True):
                    column[-1] = their_column[theirs]
                if theirs in other._faulty:
                    self._faulty[len(self._ids) - 1] = list(other._faulty[theirs])
            else:
                self._merge(mine, other, theirs)

    def _merge(self, mine: int, other: Coverage, theirs: int) -> None:
        """The same volume seen in another compartment (its backups were moved): one volume, both halves."""
        if other._newest_times[theirs] > self._newest_times[mine]:
            self._newest_backups[mine] = other._newest_backups[theirs]
            self._newest_times[mine] = other._newest_times[theirs]
            self._compartments[mine] = other._compartments[theirs]
            self._in_flight[mine] = other._in_flight[theirs]
        self._oldest_times[mine] = min(self._oldest_times[mine], other._oldest_times[theirs])
        self._backups[mine] += other._backups[theirs]
        for column, their_column in zip(self._copied, other._copied, strict=True):
            column[mine] = max(column[mine], their_column[theirs])
        their_faulty = other._faulty.get(theirs)
        if their_faulty:
            ours = self._faulty.get(mine) or [0] * len(their_faulty)
            self._faulty[mine] = [count + more for count, more in zip(ours, their_faulty, strict=True)]

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
        key = source_key(backup.id)
        row = self._rows.get(volume_id)
        if row is None:
            in_flight = sum(1 << position for position, index in enumerate(self.indexes) if key in index.in_flight)
            row = self._append(
                volume_id,
                self.compartment_id or getattr(backup, "compartment_id", "") or "",
                spec.kind,
                f"{backup.id} {backup.display_name or ''}",
                created,
                in_flight,
            )
        self._backups[row] += 1
        if created < self._oldest_times[row]:
            self._oldest_times[row] = created
        for position, index in enumerate(self.indexes):
            column = self._copied[position]
            if column[row] == _NO_COPY and key in index.available:
                column[row] = created
            faulty = index.faulty.get(key, 0)
            if faulty:
                counts = self._faulty.setdefault(row, [0] * len(self.indexes))
                counts[position] += faulty

    def _append(
        self, volume_id: str, compartment_id: str, kind: BackupKind, newest_backup: str, created: int, in_flight: int
    ) -> int:
        row = len(self._ids)
        self._rows[volume_id] = row
        self._ids.append(volume_id)
        self._compartments.append(compartment_id)
        self._kinds.append(kind)
        self._newest_backups.append(newest_backup)
        self._newest_times.append(created)
        self._oldest_times.append(created)
        self._backups.append(0)
        self._in_flight.append(in_flight)
        for column in self._copied:
            column.append(_NO_COPY)
        return row


class _Volumes(Mapping[str, VolumeCoverage]):
    """A coverage's volumes by OCID, each a view of its row; made on demand, holding nothing."""

    def __init__(self, coverage: Coverage) -> None:
        self._coverage = coverage

    def __getitem__(self, volume_id: str) -> VolumeCoverage:
        return VolumeCoverage(self._coverage, self._coverage._rows[volume_id])

    def __iter__(self) -> Iterator[str]:
        return iter(self._coverage._rows)

    def __len__(self) -> int:
        return len(self._coverage._rows)

    def values(self) -> Iterator[VolumeCoverage]:  # type: ignore[override]
        coverage = self._coverage
        return (VolumeCoverage(coverage, row) for row in range(len(coverage._ids)))


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
