"""The expiry rules on the SDK's own models: what a pass keeps, and why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from oci.core.models import VolumeBackup, VolumeGroupBackup

from backup_copier.expire.plan import RegionPlan, kept_reason
from backup_copier.shared.kinds import SPECS, BackupKind

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
VOLUME = SPECS[BackupKind.VOLUME]


def _copy(copy_id: str = "ocid1.volumebackup.oc1.iad.copy", **fields: Any) -> VolumeBackup:
    source = fields.pop("source", "ocid1.volumebackup.oc1.phx.source")
    tags = {
        "backup-copier-copy": copy_id,
        "backup-copier-source-backup": source,
        "backup-copier-expires": "2026-11-01T00:00:00Z",
        **fields.pop("tags", {}),
    }
    values: dict[str, Any] = {
        "id": copy_id,
        "lifecycle_state": "AVAILABLE",
        "source_volume_backup_id": source,
        "volume_id": "ocid1.volume.oc1.iad.vol",
        "freeform_tags": tags,
        "time_created": NOW - timedelta(days=30),
        "compartment_id": "ocid1.compartment.oc1..c",
        **fields,
    }
    return VolumeBackup(**values)


@pytest.mark.parametrize(
    ("copy", "reason"),
    [
        (_copy(), None),
        (_copy(lifecycle_state="CREATING"), "InProgress"),
        (_copy(lifecycle_state="REQUEST_RECEIVED"), "InProgress"),
        (_copy(is_prevent_deletion_enabled=True), "RetentionLocked"),
        (_copy(is_retention_lock_enabled=True, time_retention_expires_at=NOW + timedelta(days=1)), "RetentionLocked"),
        (_copy(is_retention_lock_enabled=True, time_retention_expires_at=NOW - timedelta(days=1)), None),
        (_copy(tags={"backup-copier-copy": "ocid1.volumebackup.oc1.iad.other"}), "MarkInvalid"),
        (_copy(tags={"backup-copier-source-backup": "ocid1.volumebackup.oc1.phx.other"}), "MarkInvalid"),
        (_copy(tags={"backup-copier-expires": "next tuesday"}), "MarkInvalid"),
        (_copy(tags={"backup-copier-expires": "never"}), "NeverExpires"),
        (_copy(tags={"backup-copier-expires": "2027-01-01T00:00:00Z"}), "NotExpired"),
        (_copy(volume_group_backup_id="ocid1.volumegroupbackup.oc1.iad.g"), "VolumeGroupMember"),
        (VolumeBackup(id="ocid1.volumebackup.oc1.iad.x", lifecycle_state="AVAILABLE", freeform_tags={}), "NotMarked"),
    ],
)
def test_each_rule_keeps_what_it_must(copy: VolumeBackup, reason: str | None) -> None:
    assert kept_reason(copy, VOLUME, NOW) == reason


def test_a_committed_volume_group_backup_is_in_progress() -> None:
    group = VolumeGroupBackup(
        id="ocid1.volumegroupbackup.oc1.iad.g",
        lifecycle_state="COMMITTED",
        source_volume_group_backup_id="ocid1.volumegroupbackup.oc1.phx.s",
        freeform_tags={
            "backup-copier-copy": "ocid1.volumegroupbackup.oc1.iad.g",
            "backup-copier-source-backup": "ocid1.volumegroupbackup.oc1.phx.s",
            "backup-copier-expires": "2026-01-01T00:00:00Z",
        },
    )
    assert kept_reason(group, SPECS[BackupKind.VOLUME_GROUP], NOW) == "InProgress"


def test_keep_last_ranks_by_recovery_point_and_guesses_no_volume() -> None:
    plan = RegionPlan("us-ashburn-1", keep_last=1, now=NOW)
    older_point = _copy(
        "ocid1.volumebackup.oc1.iad.a",
        time_created=NOW - timedelta(days=2),
        tags={"backup-copier-source-created": "2026-10-01T00:00:00Z"},
    )
    newer_point = _copy(
        "ocid1.volumebackup.oc1.iad.b",
        time_created=NOW - timedelta(days=9),
        tags={"backup-copier-source-created": "2026-10-05T00:00:00Z"},
    )
    no_volume = _copy("ocid1.volumebackup.oc1.iad.c", volume_id=None)
    for copy in (older_point, newer_point, no_volume):
        plan.consider(copy, VOLUME)
    # The copy made later but of an older backup goes; the newest recovery point stays, and a
    # copy whose volume cannot be told is its own volume's last copy.
    assert [candidate.copy_id for candidate in plan.finish()] == ["ocid1.volumebackup.oc1.iad.a"]
    assert plan.kept == {"KeepLast": 2}
