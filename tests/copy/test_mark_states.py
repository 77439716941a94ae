"""Every state of a copy's tags in docs/retention.md's table, on the SDK's own models: which the
function may mark (marks.may_repair) and which the expiry pass keeps, and why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from oci.core.models import VolumeBackup

from backup_copier.backups.marks import may_mark_new_copy, may_repair, read_mark
from backup_copier.expire.plan import kept_reason
from backup_copier.shared.kinds import SPECS, BackupKind
from tests.helpers import (
    DESTINATION_REGION,
    MARK_COPY,
    MARK_EXPIRES,
    MARK_SOURCE_BACKUP,
    MARK_SOURCE_CREATED,
    MARK_SOURCE_RESOURCE,
)

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
VOLUME = SPECS[BackupKind.VOLUME]
COPY_ID = "ocid1.volumebackup.oc1.iad.copy"
SOURCE_ID = "ocid1.volumebackup.oc1.phx.source"
RECORD = "backup-copier-copy-in-" + DESTINATION_REGION
VALID = {
    MARK_COPY: COPY_ID,
    MARK_SOURCE_BACKUP: SOURCE_ID,
    MARK_SOURCE_RESOURCE: "ocid1.volume.oc1.phx.vol",
    MARK_SOURCE_CREATED: "2026-10-01T00:00:00Z",
    MARK_EXPIRES: "2026-11-01T00:00:00Z",
}


def _without(*keys: str, **changed: str) -> dict[str, str]:
    tags = {key: value for key, value in VALID.items() if key not in keys}
    return tags | {key.replace("_", "-"): value for key, value in changed.items()}


def _copy(tags: dict[str, str]) -> VolumeBackup:
    return VolumeBackup(
        id=COPY_ID,
        lifecycle_state="AVAILABLE",
        source_volume_backup_id=SOURCE_ID,
        volume_id="ocid1.volume.oc1.iad.vol",
        freeform_tags={"team": "db", **tags},
        time_created=NOW - timedelta(days=30),
    )


def _source(record: str | None = COPY_ID) -> Any:
    return VolumeBackup(id=SOURCE_ID, freeform_tags={RECORD: record} if record else {"team": "db"})


# (tags of the copy, does the source record it, may the function mark it, what the expiry pass says)
STATES: dict[str, tuple[dict[str, str], bool, bool, str | None]] = {
    "no keys, recorded: marking failed": ({}, True, True, "NotMarked"),
    "no keys, not recorded: not this function's": ({}, False, False, "NotMarked"),
    "all keys valid, past its expiry": (VALID, True, False, None),
    "all keys valid, expires later": (
        _without(backup_copier_expires="2027-01-01T00:00:00Z"),
        True,
        False,
        "NotExpired",
    ),
    "expires never": (_without(backup_copier_expires="never"), True, False, "NeverExpires"),
    "expires removed": (_without(MARK_EXPIRES), True, False, "NeverExpires"),
    "expires not a time": (_without(backup_copier_expires="keep"), True, False, "MarkInvalid"),
    "copy key removed, others left": (_without(MARK_COPY), True, False, "MarkInvalid"),
    "copy key names another backup": (
        _without(backup_copier_copy="ocid1.volumebackup.oc1.iad.other"),
        True,
        False,
        "MarkInvalid",
    ),
    "source key names another backup": (
        _without(backup_copier_source_backup="ocid1.volumebackup.oc1.phx.x"),
        True,
        False,
        "MarkInvalid",
    ),
    "only the expiry": ({MARK_EXPIRES: "2026-11-01T00:00:00Z"}, True, False, "MarkInvalid"),
    "only the source keys": (
        {MARK_SOURCE_BACKUP: SOURCE_ID, MARK_SOURCE_CREATED: "2026-10-01T00:00:00Z"},
        True,
        False,
        "MarkInvalid",
    ),
    "an empty copy key": (_without(backup_copier_copy=""), True, False, "MarkInvalid"),
    "descriptive keys removed: still a valid mark": (
        _without(MARK_SOURCE_RESOURCE, MARK_SOURCE_CREATED),
        True,
        False,
        None,
    ),
}


@pytest.mark.parametrize(("tags", "recorded", "repairable", "kept"), STATES.values(), ids=STATES.keys())
def test_each_tag_state_is_repaired_only_when_it_carries_no_key_and_its_source_records_it(
    tags: dict[str, str], recorded: bool, repairable: bool, kept: str | None
) -> None:
    copy = _copy(tags)
    assert may_repair(copy, VOLUME, _source(COPY_ID if recorded else None), DESTINATION_REGION) is repairable
    assert kept_reason(copy, VOLUME, NOW) == kept
    # Every state the function may not mark says why it is kept, except the copies with no key at all.
    reading = read_mark(copy, VOLUME)
    assert (reading.problem is not None) == (kept == "MarkInvalid")


def test_a_record_naming_another_copy_or_a_copy_of_another_source_is_never_repaired() -> None:
    copy = _copy({})
    assert not may_repair(copy, VOLUME, _source("ocid1.volumebackup.oc1.iad.other"), DESTINATION_REGION)
    assert not may_repair(copy, VOLUME, _source(COPY_ID), "eu-frankfurt-1")
    stranger = VolumeBackup(id="ocid1.volumebackup.oc1.phx.stranger", freeform_tags={RECORD: COPY_ID})
    assert not may_repair(copy, VOLUME, stranger, DESTINATION_REGION)


def test_a_new_copy_loses_only_inherited_keys() -> None:
    """The copy just made carries its source's tags: keys naming another backup are replaced, keys
    naming the copy itself were written since it was made, and are left."""
    assert may_mark_new_copy(_copy({}))
    assert may_mark_new_copy(_copy(_without(backup_copier_copy="ocid1.volumebackup.oc1.iad.restored-from")))
    assert not may_mark_new_copy(_copy(VALID))
    assert not may_mark_new_copy(_copy(_without(backup_copier_expires="keep")))
