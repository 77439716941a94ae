"""CreateVolume, CreateBootVolume and CreateVolumeGroup from backups, through the real SDK."""

from __future__ import annotations

from typing import Any

import oci
import pytest

from blockstorage_emulator import Emulator
from blockstorage_emulator.volume_kinds import VOLUME_KINDS
from tests.helpers import DESTINATION_REGION, SOURCE_REGION

from .support import COMPARTMENT_ID, RESTORE, SOURCE_AD, VOLUME_CALLS, ClientFactory, restore, service_error


@pytest.mark.parametrize("kind", ["volume", "boot_volume"])
def test_a_restore_is_provisioning_then_restoring_then_available_then_hydrated(
    emulator: Emulator, client: ClientFactory, kind: str
) -> None:
    backup = emulator.add_backup(kind, SOURCE_REGION, COMPARTMENT_ID, size_in_gbs=120, display_name="nightly")
    blockstorage = client()
    get = getattr(blockstorage, VOLUME_CALLS[kind][0])

    created = restore(blockstorage, kind, backup["id"])

    volume = created.data
    assert (volume.lifecycle_state, volume.is_hydrated) == ("PROVISIONING", False)
    assert created.headers["etag"]
    assert volume.id.startswith(f"ocid1.{'bootvolume' if kind == 'boot_volume' else 'volume'}.oc1.phx.")
    assert (volume.compartment_id, volume.availability_domain, volume.display_name) == (
        COMPARTMENT_ID,
        SOURCE_AD,
        "nightly",
    )
    assert (volume.size_in_gbs, volume.size_in_mbs, volume.vpus_per_gb, volume.kms_key_id) == (
        120,
        120 * 1024,
        10,
        None,
    )
    source_type = {"volume": "volumeBackup", "boot_volume": "bootVolumeBackup"}[kind]
    assert (volume.source_details.type, volume.source_details.id) == (source_type, backup["id"])
    assert emulator.restores_of(backup["id"]) == [emulator.volume(volume.id)]
    assert emulator.begin_restoring() == 1
    assert get(volume.id).data.lifecycle_state == "RESTORING"
    assert emulator.finish_restores(volume.id) == 1
    available = get(volume.id).data
    assert (available.lifecycle_state, available.is_hydrated) == ("AVAILABLE", False)
    assert emulator.hydrate() == 1
    assert get(volume.id).data.is_hydrated is True


def test_the_source_details_are_the_sdks_subtypes(emulator: Emulator, client: ClientFactory) -> None:
    volume_backup = emulator.add_backup("volume", SOURCE_REGION, COMPARTMENT_ID)
    group_backup = emulator.add_backup("volume_group", SOURCE_REGION, COMPARTMENT_ID)

    volume = restore(client(), "volume", volume_backup["id"]).data
    group = restore(client(), "volume_group", group_backup["id"]).data

    assert isinstance(volume.source_details, oci.core.models.VolumeSourceFromVolumeBackupDetails)
    assert (volume.source_details.type, volume.source_details.id) == ("volumeBackup", volume_backup["id"])
    assert isinstance(group.source_details, oci.core.models.VolumeGroupSourceFromVolumeGroupBackupDetails)
    assert group.source_details.volume_group_backup_id == group_backup["id"]


def test_a_group_restore_makes_one_member_per_member_backup_with_that_backups_tags(
    emulator: Emulator, client: ClientFactory
) -> None:
    backup = emulator.add_backup(
        "volume_group", SOURCE_REGION, COMPARTMENT_ID, members=2, boot_members=1, freeform_tags={"team": "db"}
    )
    member_backups = backup["volumeBackupIds"]
    for number, member_id in enumerate(member_backups):
        emulator.set_freeform_tags(member_id, {"member": str(number)})
    blockstorage = client()

    group = restore(blockstorage, "volume_group", backup["id"], freeform_tags={"drill": "mark"}).data

    assert (group.lifecycle_state, group.is_hydrated) == ("PROVISIONING", False)
    assert group.freeform_tags == {"team": "db", "drill": "mark"}
    members = [emulator.volume(member_id) for member_id in group.volume_ids]
    assert [m["id"].split(".")[1] for m in members] == ["volume", "volume", "bootvolume"]
    # The group's request tags are not copied to its members: each carries its own backup's.
    assert [m["freeformTags"] for m in members] == [{"member": "0"}, {"member": "1"}, {"member": "2"}]
    assert [m["sourceDetails"]["id"] for m in members] == member_backups
    assert {(m["volumeGroupId"], m["availabilityDomain"], m["compartmentId"], m["kmsKeyId"]) for m in members} == {
        (group.id, SOURCE_AD, COMPARTMENT_ID, None)
    }
    assert group.size_in_gbs == 150
    [boot_member] = blockstorage.list_boot_volumes(volume_group_id=group.id).data
    assert boot_member.id == group.volume_ids[2]

    emulator.begin_restoring(group.id)
    assert {m["lifecycleState"] for m in emulator.volumes(SOURCE_REGION, "volume")} == {"RESTORING"}
    assert blockstorage.get_volume_group(group.id).data.lifecycle_state == "PROVISIONING"  # no RESTORING for groups
    emulator.finish_restores(group.volume_ids[0])
    assert blockstorage.get_volume_group(group.id).data.lifecycle_state == "PROVISIONING"
    emulator.finish_restores(group.id)
    assert blockstorage.get_volume_group(group.id).data.lifecycle_state == "AVAILABLE"
    assert emulator.hydrate(group.id) == 4
    assert blockstorage.get_volume_group(group.id).data.is_hydrated is True


def test_a_group_becomes_available_when_its_last_member_does(emulator: Emulator, client: ClientFactory) -> None:
    backup = emulator.add_backup("volume_group", SOURCE_REGION, COMPARTMENT_ID, members=2)
    group = restore(client(), "volume_group", backup["id"]).data

    for member_id in group.volume_ids:
        emulator.finish_restores(member_id)

    assert emulator.volume(group.id)["lifecycleState"] == "AVAILABLE"


def test_a_failed_restore_is_faulty(emulator: Emulator, client: ClientFactory) -> None:
    volume_backup = emulator.add_backup("volume", SOURCE_REGION, COMPARTMENT_ID)
    group_backup = emulator.add_backup("volume_group", SOURCE_REGION, COMPARTMENT_ID)
    volume = restore(client(), "volume", volume_backup["id"]).data
    group = restore(client(), "volume_group", group_backup["id"]).data
    emulator.finish_restores(group.volume_ids[0])

    emulator.fail_restore(volume.id)
    emulator.fail_restore(group.id)

    assert client().get_volume(volume.id).data.lifecycle_state == "FAULTY"
    assert [emulator.volume(i)["lifecycleState"] for i in (group.id, *group.volume_ids)] == [
        "FAULTY",
        "AVAILABLE",
        "FAULTY",
    ]
    with pytest.raises(ValueError, match="only an AVAILABLE resource hydrates"):
        emulator.hydrate(volume.id)


def test_a_restore_of_a_marked_copy_carries_the_copys_tags_merged_with_the_requests(
    emulator: Emulator, client: ClientFactory
) -> None:
    # Oracle: "When the volume is restored from a backup, the volume is restored with the source
    # volume's tags", and a cross-region copy carries its backup's tags.
    source = emulator.add_backup(
        "volume",
        SOURCE_REGION,
        COMPARTMENT_ID,
        freeform_tags={"owner": "alice", "keep": "backup"},
        defined_tags={"ops": {"cost": "42"}},
    )
    copy = (
        client()
        .copy_volume_backup(
            source["id"], oci.core.models.CopyVolumeBackupDetails(destination_region=DESTINATION_REGION)
        )
        .data
    )
    emulator.complete_copies()
    emulator.set_freeform_tags(copy.id, {**copy.freeform_tags, "backup-copier-copy-of": source["id"]})

    volume = restore(
        client(DESTINATION_REGION),
        "volume",
        copy.id,
        availability_domain="NfHZ:US-ASHBURN-AD-1",
        freeform_tags={"keep": "request", "drill": "1"},
        defined_tags={"ops": {"team": "dr"}},
    ).data

    assert volume.freeform_tags == {
        "owner": "alice",
        "keep": "request",
        "backup-copier-copy-of": source["id"],
        "drill": "1",
    }
    assert volume.defined_tags == {"ops": {"cost": "42", "team": "dr"}}


def test_a_retry_token_replays_the_restore_and_conflicts_on_another_body(
    emulator: Emulator, client: ClientFactory
) -> None:
    backup = emulator.add_backup("volume", SOURCE_REGION, COMPARTMENT_ID)
    blockstorage = client()

    first = restore(blockstorage, "volume", backup["id"], retry_token="drill-1").data
    again = restore(blockstorage, "volume", backup["id"], retry_token="drill-1").data
    other = service_error(restore, blockstorage, "volume", backup["id"], retry_token="drill-1", display_name="x")

    assert again.id == first.id
    assert len(emulator.volumes(SOURCE_REGION)) == 1
    assert (other.status, other.code) == (409, "Conflict")
    assert other.message == "The opc-retry-token was already used for a different request"


def test_restore_accepts_the_kinds_lowest_performance_the_backups_size_and_a_regions_key(
    emulator: Emulator, client: ClientFactory
) -> None:
    key = emulator.add_kms_key(SOURCE_REGION)
    backup = emulator.add_backup("volume", SOURCE_REGION, COMPARTMENT_ID, size_in_gbs=100)

    volume = restore(client(), "volume", backup["id"], vpus_per_gb=0, size_in_gbs=100, kms_key_id=key).data
    legacy = client().create_volume(
        oci.core.models.CreateVolumeDetails(
            compartment_id=COMPARTMENT_ID,
            availability_domain=SOURCE_AD,
            volume_backup_id=backup["id"],
            size_in_mbs=204800,
        )
    )

    assert (volume.vpus_per_gb, volume.size_in_gbs, volume.kms_key_id) == (0, 100, key)
    assert (legacy.data.source_details.id, legacy.data.size_in_gbs) == (backup["id"], 200)


BAD_RESTORES: list[tuple[str, str, dict[str, Any], int, str, str]] = [
    # (case, kind, fields, status, code, a word the message names)
    ("unknown backup", "volume", {"backup": "ocid1.volumebackup.oc1.phx.unknown"}, 404, "NotAuthorizedOrNotFound", ""),
    ("backup in another region", "volume", {"backup_region": DESTINATION_REGION}, 404, "NotAuthorizedOrNotFound", ""),
    ("backup not available", "volume", {"backup_state": "CREATING"}, 409, "IncorrectState", "CREATING"),
    ("group backup not available", "volume_group", {"backup_state": "CREATING"}, 409, "IncorrectState", "CREATING"),
    (
        "another region's availability domain",
        "volume",
        {"availability_domain": "NfHZ:US-ASHBURN-AD-1"},
        400,
        "InvalidParameter",
        "availabilityDomain",
    ),
    (
        "no availability domain",
        "boot_volume",
        {"availability_domain": None},
        400,
        "MissingParameter",
        "availabilityDomain",
    ),
    ("no compartment", "volume_group", {"compartment_id": None}, 400, "MissingParameter", "compartmentId"),
    ("compartment not an OCID", "volume", {"compartment_id": "prod"}, 400, "InvalidParameter", "compartmentId"),
    ("smaller than the backup", "volume", {"size_in_gbs": 60}, 400, "InvalidParameter", "sizeInGBs"),
    ("larger than 32 TB", "boot_volume", {"size_in_gbs": 32769}, 400, "InvalidParameter", "sizeInGBs"),
    ("performance off the scale", "volume", {"vpus_per_gb": 15}, 400, "InvalidParameter", "vpusPerGB"),
    ("lower cost boot volume", "boot_volume", {"vpus_per_gb": 0}, 400, "InvalidParameter", "vpusPerGB"),
    ("key not an OCID", "volume", {"kms_key_id": "my-key"}, 400, "InvalidParameter", "kmsKeyId"),
    ("unknown key", "volume", {"kms_key_id": "ocid1.key.oc1.phx.vault.unknown"}, 404, "NotAuthorizedOrNotFound", "KMS"),
    (
        "too many tags",
        "volume_group",
        {"freeform_tags": {f"k{i}": "v" for i in range(65)}},
        400,
        "InvalidParameter",
        "64",
    ),
    ("a clone", "volume", {"clone": True}, 400, "InvalidParameter", "volume"),
    ("autotune", "boot_volume", {"is_auto_tune_enabled": True}, 400, "InvalidParameter", "isAutoTuneEnabled"),
]


@pytest.mark.parametrize(
    ("kind", "fields", "status", "code", "named"),
    [case[1:] for case in BAD_RESTORES],
    ids=[case[0] for case in BAD_RESTORES],
)
def test_a_bad_restore_is_refused_with_the_apis_code_and_creates_nothing(
    emulator: Emulator, client: ClientFactory, kind: str, fields: dict[str, Any], status: int, code: str, named: str
) -> None:
    fields = dict(fields)
    backup = emulator.add_backup(
        kind,
        fields.pop("backup_region", SOURCE_REGION),
        COMPARTMENT_ID,
        size_in_gbs=100,
        lifecycle_state=fields.pop("backup_state", "AVAILABLE"),
    )
    backup_id = fields.pop("backup", backup["id"])
    if fields.pop("clone", False):
        fields["source"] = oci.core.models.VolumeSourceFromVolumeDetails(id="ocid1.volume.oc1.phx.source")

    refused = service_error(restore, client(), kind, backup_id, **fields)

    assert (refused.status, refused.code) == (status, code)
    assert named in refused.message
    assert emulator.volumes(SOURCE_REGION) == []


@pytest.mark.parametrize("kind", sorted(VOLUME_KINDS))
def test_the_fields_the_emulator_knows_are_the_sdks(kind: str) -> None:
    """A newer SDK that adds a field to a request makes this fail, so the emulator is revisited."""
    restored = VOLUME_KINDS[kind]
    create_model = getattr(oci.core.models, RESTORE[kind][1])
    update_model = getattr(oci.core.models, VOLUME_CALLS[kind][2])

    assert restored.create_fields == set(create_model().attribute_map.values())
    assert restored.update_fields == set(update_model().attribute_map.values())
    assert restored.modelled_create_fields <= restored.create_fields
    assert restored.modelled_update_fields <= restored.update_fields
