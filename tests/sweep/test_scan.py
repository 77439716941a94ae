"""sweep/scan.py in process: what one compartment's read keeps, over lean records handed in by a stand-in reader.

A compartment may miss a hundred thousand copies on a first run; it keeps the oldest few of
each sort that one run can make and counts the rest, and still counts the copies that would
expire on arrival as such, each volume's newest KEEP_LAST_COPIES copied whatever their expiry.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from backup_copier.backups.arrival import every_backup
from backup_copier.backups.per_compartment import Step
from backup_copier.backups.records import BootVolumeBackupRecord, VolumeBackupRecord
from backup_copier.backups.scope_pass import CompartmentRead
from backup_copier.shared.context import Invocation
from backup_copier.shared.deadline import Deadline
from backup_copier.shared.kinds import SPECS, BackupKind, KindSpec
from backup_copier.shared.retention import RetentionRule
from backup_copier.shared.retries import AttemptLog
from backup_copier.sweep.scan import SweepReading, read_compartment

NOW = datetime.now(UTC)
COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaasweepscan"
SOURCE, DESTINATION = "us-phoenix-1", "us-ashburn-1"


class _Listed(CompartmentRead):
    """The compartment as lean records: each kind's sources newest first, as the service sorts them."""

    def __init__(self, sources: dict[BackupKind, list[Any]]) -> None:
        super().__init__(COMPARTMENT, Step(), Invocation("CALL", Deadline(60), AttemptLog()))
        self.sources = sources

    def backups(self, clients: Any, region: str, spec: KindSpec, order: str, **filters: Any) -> Iterator[Any]:
        if region != SOURCE:
            return iter(())  # no copy anywhere yet
        assert order == "DESC"
        return iter(sorted(self.sources.get(spec.kind, []), key=lambda backup: backup.time_created, reverse=True))


def _volume_backup(number: int, hours_ago: float, volume: str = "", **fields: Any) -> VolumeBackupRecord:
    return VolumeBackupRecord(
        id=f"ocid1.volumebackup.oc1.phx.{number:060d}",
        lifecycle_state="AVAILABLE",
        time_created=NOW - timedelta(hours=hours_ago),
        compartment_id=COMPARTMENT,
        volume_id=volume or f"ocid1.volume.oc1.phx.{number:060d}",
        **fields,
    )


def _boot_backup(number: int, hours_ago: float) -> BootVolumeBackupRecord:
    return BootVolumeBackupRecord(
        id=f"ocid1.bootvolumebackup.oc1.phx.{number:060d}",
        lifecycle_state="AVAILABLE",
        time_created=NOW - timedelta(hours=hours_ago),
        compartment_id=COMPARTMENT,
        boot_volume_id=f"ocid1.bootvolume.oc1.phx.{number:060d}",
    )


def _reading(keep: int, retention_days: int | None = None) -> SweepReading:
    return SweepReading(
        clients=None,
        source_region=SOURCE,
        destination_regions=(DESTINATION,),
        specs=(SPECS[BackupKind.VOLUME], SPECS[BackupKind.BOOT_VOLUME]),
        since=NOW - timedelta(days=30),
        reason_to_skip=lambda spec, backup: None,
        keep_last=1,
        copied=every_backup,
        retention_for=lambda region: RetentionRule(region, None, retention_days),
        keep=keep,
    )


def test_a_compartment_keeps_the_oldest_few_of_each_sort_and_counts_the_rest() -> None:
    volumes = [_volume_backup(number, hours_ago=number + 1) for number in range(500)]
    boots = [_boot_backup(number, hours_ago=number + 1.5) for number in range(300)]

    found = read_compartment(_Listed({BackupKind.VOLUME: volumes, BackupKind.BOOT_VOLUME: boots}), _reading(keep=4))

    oldest = sorted(volumes[-4:] + boots[-4:], key=lambda backup: backup.time_created)
    assert [item.backup.id for item in found.missing.oldest_first()] == [backup.id for backup in oldest]
    assert found.missing.dropped() == {(True, COMPARTMENT): 496, (False, COMPARTMENT): 296}
    assert found.scanned == 800 and found.skipped == {}


def test_a_copy_that_would_expire_on_arrival_is_counted_unless_it_is_its_volumes_newest() -> None:
    """Copies expire 3 days after their source: of one volume's three backups 4, 5 and 6 days old,
    only the newest is copied (keep-last keeps it); the two older are counted ExpiresOnArrival,
    decided as they are read, and none of them is held or counted as waiting."""
    volume = "ocid1.volume.oc1.phx." + "v" * 60
    backups = [_volume_backup(number, hours_ago=24 * days, volume=volume) for number, days in enumerate((4, 5, 6))]

    found = read_compartment(_Listed({BackupKind.VOLUME: backups}), _reading(keep=4, retention_days=3))

    [held] = found.missing.oldest_first()
    assert (held.backup.id, held.among_newest) == (backups[0].id, True)
    assert found.skipped == {"ExpiresOnArrival": 2}
    assert found.missing.dropped() == {}
