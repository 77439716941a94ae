"""Updates and deletes of backups, as the real API answers them through the SDK."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import oci
import pytest

from blockstorage_emulator import Emulator
from tests.helpers import DESTINATION_REGION, SOURCE_REGION

from .support import COMPARTMENT_ID, ClientFactory, service_error

UPDATE = {
    "volume": ("update_volume_backup", "UpdateVolumeBackupDetails", "get_volume_backup", "delete_volume_backup"),
    "boot_volume": (
        "update_boot_volume_backup",
        "UpdateBootVolumeBackupDetails",
        "get_boot_volume_backup",
        "delete_boot_volume_backup",
    ),
    "volume_group": (
        "update_volume_group_backup",
        "UpdateVolumeGroupBackupDetails",
        "get_volume_group_backup",
        "delete_volume_group_backup",
    ),
}


@pytest.mark.parametrize("kind", sorted(UPDATE))
def test_update_replaces_the_freeform_tags_whole_and_changes_the_etag(
    emulator: Emulator, client: ClientFactory, kind: str
) -> None:
    backup = emulator.add_backup(kind, SOURCE_REGION, COMPARTMENT_ID, freeform_tags={"old": "1", "keep": "2"})
    update, details, get, _ = UPDATE[kind]
    blockstorage = client()
    before = getattr(blockstorage, get)(backup["id"])

    after = getattr(blockstorage, update)(
        backup["id"],
        getattr(oci.core.models, details)(freeform_tags={"keep": "2", "new": "3"}),
        if_match=before.headers["etag"],
    )
    assert after.data.freeform_tags == {"keep": "2", "new": "3"}
    assert after.headers["etag"] != before.headers["etag"]
    stale = service_error(
        getattr(blockstorage, update),
        backup["id"],
        getattr(oci.core.models, details)(display_name="x"),
        if_match=before.headers["etag"],
    )
    assert (stale.status, stale.code) == (412, "NoEtagMatch")


def test_update_refuses_bad_tags_and_a_deleted_backup(emulator: Emulator, client: ClientFactory) -> None:
    backup = emulator.add_backup("volume", SOURCE_REGION, COMPARTMENT_ID)
    blockstorage = client()
    too_many = oci.core.models.UpdateVolumeBackupDetails(freeform_tags={f"k{i}": "v" for i in range(65)})
    too_long = oci.core.models.UpdateVolumeBackupDetails(freeform_tags={"k" * 101: "v"})
    for details in (too_many, too_long):
        refused = service_error(blockstorage.update_volume_backup, backup["id"], details)
        assert (refused.status, refused.code) == (400, "InvalidParameter")
    blockstorage.delete_volume_backup(backup["id"])
    gone = service_error(blockstorage.update_volume_backup, backup["id"], oci.core.models.UpdateVolumeBackupDetails())
    assert (gone.status, gone.code) == (409, "IncorrectState")


@pytest.mark.parametrize("kind", sorted(UPDATE))
def test_delete_answers_204_then_terminating_then_terminated(
    emulator: Emulator, client: ClientFactory, kind: str
) -> None:
    backup = emulator.add_backup(kind, SOURCE_REGION, COMPARTMENT_ID)
    _, _, get, delete = UPDATE[kind]
    blockstorage = client()

    response = getattr(blockstorage, delete)(backup["id"])
    assert response.status == 204
    assert response.data is None
    assert getattr(blockstorage, get)(backup["id"]).data.lifecycle_state == "TERMINATING"
    again = service_error(getattr(blockstorage, delete), backup["id"])
    assert (again.status, again.code) == (409, "IncorrectState")
    emulator.finish_deletions()
    assert getattr(blockstorage, get)(backup["id"]).data.lifecycle_state == "TERMINATED"
    after = service_error(getattr(blockstorage, delete), backup["id"])
    assert (after.status, after.code) == (404, "NotAuthorizedOrNotFound")


def test_deleting_a_volume_group_backup_deletes_its_volume_backups(emulator: Emulator, client: ClientFactory) -> None:
    group = emulator.add_backup("volume_group", SOURCE_REGION, COMPARTMENT_ID, members=3)
    blockstorage = client()
    members = [blockstorage.get_volume_backup(member).data for member in group["volumeBackupIds"]]
    assert [member.volume_group_backup_id for member in members] == [group["id"]] * 3

    blockstorage.delete_volume_group_backup(group["id"])
    states = {blockstorage.get_volume_backup(member.id).data.lifecycle_state for member in members}
    assert states == {"TERMINATING"}


def test_a_volume_group_copy_holds_copies_of_its_volume_backups(emulator: Emulator, client: ClientFactory) -> None:
    group = emulator.add_backup("volume_group", SOURCE_REGION, COMPARTMENT_ID)
    copy = (
        client()
        .copy_volume_group_backup(
            group["id"], oci.core.models.CopyVolumeGroupBackupDetails(destination_region=DESTINATION_REGION)
        )
        .data
    )
    assert len(copy.volume_backup_ids) == 2
    members = [client(DESTINATION_REGION).get_volume_backup(member).data for member in copy.volume_backup_ids]
    assert {member.volume_group_backup_id for member in members} == {copy.id}
    assert sorted(member.source_volume_backup_id for member in members) == sorted(group["volumeBackupIds"])


def test_a_backup_being_made_cannot_be_deleted(emulator: Emulator, client: ClientFactory) -> None:
    backup = emulator.add_backup("volume", SOURCE_REGION, COMPARTMENT_ID, lifecycle_state="CREATING")
    refused = service_error(client().delete_volume_backup, backup["id"])
    assert (refused.status, refused.code) == (409, "IncorrectState")


def test_seeded_backups_carry_expiry_source_type_and_volume(emulator: Emulator, client: ClientFactory) -> None:
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(days=7)
    backup = emulator.add_backup(
        "boot_volume", SOURCE_REGION, COMPARTMENT_ID, source_type="SCHEDULED", expiration_time=expires
    )
    read = client().get_boot_volume_backup(backup["id"]).data
    assert (read.source_type, read.expiration_time) == ("SCHEDULED", expires)
    assert read.boot_volume_id.startswith("ocid1.bootvolume.oc1.phx.")
