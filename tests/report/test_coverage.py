"""coverage.py on the SDK's own models: what the emulator cannot produce (members of a volume group backup)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from oci.core.models import BootVolumeBackup, VolumeBackup

from backup_copier.report.coverage import CopyIndex, Coverage, Status, source_key
from backup_copier.shared.kinds import SPECS, BackupKind

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _backup(model: type, backup_id: str, hours_ago: float, **fields: object) -> object:
    return model(
        id=backup_id,
        display_name=backup_id,
        lifecycle_state="AVAILABLE",
        time_created=NOW - timedelta(hours=hours_ago),
        **fields,
    )


def test_members_of_a_volume_group_backup_are_reported_through_the_group() -> None:
    coverage = Coverage([CopyIndex()])
    member = _backup(VolumeBackup, "member", 2, volume_id="v1", volume_group_backup_id="group-backup")
    boot_member = _backup(BootVolumeBackup, "boot-member", 2, boot_volume_id="b1", volume_group_backup_id="gb")

    coverage.add(SPECS[BackupKind.VOLUME], member)
    coverage.add(SPECS[BackupKind.BOOT_VOLUME], boot_member)

    assert coverage.volumes == {}
    assert coverage.skipped == {"VolumeGroupMember": 2}


def test_a_backup_without_a_volume_stands_for_its_own() -> None:
    index = CopyIndex(available={source_key("lonely")})
    coverage = Coverage([index])

    coverage.add(SPECS[BackupKind.VOLUME], _backup(VolumeBackup, "lonely", 3))

    [volume] = coverage.volumes.values()
    assert volume.resource_id == "lonely"
    view = volume.region(0, NOW, 26)
    assert (view.status, view.rpo_hours) == (Status.COVERED, 3.0)


def test_the_target_itself_is_not_a_breach() -> None:
    coverage = Coverage([CopyIndex(available={source_key("a")})])
    coverage.add(SPECS[BackupKind.VOLUME], _backup(VolumeBackup, "a", 26, volume_id="v"))

    assert coverage.volumes["v"].region(0, NOW, 26).status is Status.COVERED
    assert coverage.volumes["v"].region(0, NOW, 25.99).status is Status.BREACHING
