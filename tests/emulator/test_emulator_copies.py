"""Cross-region copy through the real SDK: creation, idempotency, limits, keys."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import oci
import pytest
from oci.core.models import CopyBootVolumeBackupDetails, CopyVolumeBackupDetails, CopyVolumeGroupBackupDetails

from blockstorage_emulator import Emulator
from tests.helpers import DESTINATION_REGION, SOURCE_REGION

from .support import COMPARTMENT_ID, ClientFactory, service_error, signed_request

COPIERS = {
    "volume": ("copy_volume_backup", CopyVolumeBackupDetails, "source_volume_backup_id"),
    "boot_volume": ("copy_boot_volume_backup", CopyBootVolumeBackupDetails, "source_boot_volume_backup_id"),
    "volume_group": ("copy_volume_group_backup", CopyVolumeGroupBackupDetails, "source_volume_group_backup_id"),
}


def copy(
    client: oci.core.BlockstorageClient, kind: str, backup_id: str, **details: str | None
) -> oci.response.Response:
    method, model, _ = COPIERS[kind]
    retry_token = details.pop("retry_token", None)
    options = {"opc_retry_token": retry_token} if retry_token else {}
    body = model(destination_region=details.pop("destination_region", DESTINATION_REGION), **details)
    return getattr(client, method)(backup_id, body, **options)


@pytest.mark.parametrize("kind", sorted(COPIERS))
def test_copy_creates_a_creating_backup_in_the_destination(
    emulator: Emulator, client: ClientFactory, kind: str
) -> None:
    source = emulator.add_backup(kind, SOURCE_REGION, COMPARTMENT_ID, display_name="nightly")

    response = copy(client(), kind, source["id"])

    created = response.data
    assert response.status == 200
    assert response.headers["etag"]
    assert created.lifecycle_state == "CREATING"
    assert created.id.split(".")[3] == "iad"
    assert getattr(created, COPIERS[kind][2]) == source["id"]
    assert (created.compartment_id, created.display_name, created.size_in_gbs) == (
        COMPARTMENT_ID,
        "nightly",
        source["sizeInGBs"],
    )
    assert emulator.copies_of(source["id"]) == emulator.backups(DESTINATION_REGION, kind)
    # A volume group backup is copied with each of its volume backups.
    assert emulator.complete_copies(DESTINATION_REGION) == 1 + len(source.get("volumeBackupIds") or [])
    destination_client = client(DESTINATION_REGION)
    assert (
        getattr(destination_client, COPIERS[kind][0].replace("copy_", "get_"))(created.id).data.lifecycle_state
        == "AVAILABLE"
    )


def test_copy_takes_display_name_and_registered_kms_key(emulator: Emulator, client: ClientFactory) -> None:
    source = emulator.add_backup("volume", SOURCE_REGION, COMPARTMENT_ID)
    key = emulator.add_kms_key(DESTINATION_REGION)

    created = copy(client(), "volume", source["id"], display_name="dr-copy", kms_key_id=key).data

    assert (created.display_name, created.kms_key_id) == ("dr-copy", key)
    assert key.startswith("ocid1.key.oc1.iad.")


def test_copy_rejects_a_key_of_another_region(emulator: Emulator, client: ClientFactory) -> None:
    source = emulator.add_backup("volume", SOURCE_REGION, COMPARTMENT_ID)
    foreign_key = emulator.add_kms_key(SOURCE_REGION)

    error = service_error(copy, client(), "volume", source["id"], kms_key_id=foreign_key)

    assert (error.status, error.code) == (404, "NotAuthorizedOrNotFound")
    assert foreign_key in error.message


def test_copy_errors_for_source_state_and_destination(emulator: Emulator, client: ClientFactory) -> None:
    creating = emulator.add_backup("volume", SOURCE_REGION, COMPARTMENT_ID, lifecycle_state="CREATING")
    available = emulator.add_backup("volume", SOURCE_REGION, COMPARTMENT_ID)
    volumes = client()

    missing = service_error(copy, volumes, "volume", "ocid1.volumebackup.oc1.phx.missing")
    wrong_state = service_error(copy, volumes, "volume", creating["id"])
    same_region = service_error(copy, volumes, "volume", available["id"], destination_region=SOURCE_REGION)
    unknown_region = service_error(copy, volumes, "volume", available["id"], destination_region="mars-north-1")
    not_json = signed_request(emulator, "POST", f"/20160918/volumeBackups/{available['id']}/actions/copy", body=b"{")
    no_destination = signed_request(
        emulator, "POST", f"/20160918/volumeBackups/{available['id']}/actions/copy", body=b'{"displayName": "x"}'
    )

    assert (missing.status, missing.code) == (404, "NotAuthorizedOrNotFound")
    assert (wrong_state.status, wrong_state.code) == (409, "IncorrectState")
    assert (same_region.status, same_region.code) == (400, "InvalidParameter")
    assert (unknown_region.status, unknown_region.code) == (400, "InvalidParameter")
    assert (not_json.status_code, not_json.json()["code"]) == (400, "InvalidParameter")
    assert (no_destination.status_code, no_destination.json()["code"]) == (400, "InvalidParameter")
    assert emulator.backups(DESTINATION_REGION) == []


def test_retry_token_replays_the_same_copy_and_conflicts_on_a_different_body(
    emulator: Emulator, client: ClientFactory
) -> None:
    source = emulator.add_backup("volume", SOURCE_REGION, COMPARTMENT_ID)
    volumes = client()

    first = copy(volumes, "volume", source["id"], retry_token="token-1").data
    emulator.complete_copies()
    replay = copy(volumes, "volume", source["id"], retry_token="token-1").data
    conflict = service_error(copy, volumes, "volume", source["id"], retry_token="token-1", display_name="other")

    assert replay.id == first.id
    assert replay.lifecycle_state == "AVAILABLE"
    assert len(emulator.copies_of(source["id"])) == 1
    assert (conflict.status, conflict.code) == (409, "Conflict")
    assert conflict.message == "The opc-retry-token was already used for a different request"


def test_copy_limit_counts_volume_and_group_copies_from_the_source_region(
    emulator: Emulator, client: ClientFactory
) -> None:
    emulator.copy_limit = 2
    volume = emulator.add_backup("volume", SOURCE_REGION, COMPARTMENT_ID)
    group = emulator.add_backup("volume_group", SOURCE_REGION, COMPARTMENT_ID)
    volumes = client()

    copy(volumes, "volume", volume["id"], retry_token="a")
    copy(volumes, "volume_group", group["id"])
    limited = service_error(copy, volumes, "volume", volume["id"])
    replay = copy(volumes, "volume", volume["id"], retry_token="a")  # answered before the limit check
    emulator.complete_copies()
    after_completion = copy(volumes, "volume", volume["id"])
    emulator.copy_limit = None
    for _ in range(5):
        copy(volumes, "volume", volume["id"])

    assert (limited.status, limited.code) == (400, "LimitExceeded")
    assert "limit of 2 concurrent cross-region" in limited.message
    assert replay.status == after_completion.status == 200
    assert len(emulator.copies_of(volume["id"])) == 7


def test_boot_volume_allows_one_creating_copy_per_boot_volume(emulator: Emulator, client: ClientFactory) -> None:
    first = emulator.add_backup("boot_volume", SOURCE_REGION, COMPARTMENT_ID, volume_id="ocid1.bootvolume.oc1.phx.a")
    second = emulator.add_backup("boot_volume", SOURCE_REGION, COMPARTMENT_ID, volume_id="ocid1.bootvolume.oc1.phx.a")
    other = emulator.add_backup("boot_volume", SOURCE_REGION, COMPARTMENT_ID)
    volumes = client()

    copy(volumes, "boot_volume", first["id"])
    limited = service_error(copy, volumes, "boot_volume", second["id"])
    copy(volumes, "boot_volume", other["id"])
    emulator.complete_copies()
    copy(volumes, "boot_volume", second["id"])

    assert (limited.status, limited.code) == (400, "LimitExceeded")


def test_set_lifecycle_state_is_seen_by_the_api(emulator: Emulator, client: ClientFactory) -> None:
    source = emulator.add_backup("volume_group", SOURCE_REGION, COMPARTMENT_ID)

    emulator.set_lifecycle_state(source["id"], "TERMINATED")

    assert client().get_volume_group_backup(source["id"]).data.lifecycle_state == "TERMINATED"
    assert service_error(copy, client(), "volume_group", source["id"]).code == "IncorrectState"


def test_concurrent_copies_respect_the_limit_exactly(emulator: Emulator, client: ClientFactory) -> None:
    emulator.copy_limit = 5
    sources = [emulator.add_backup("volume", SOURCE_REGION, COMPARTMENT_ID)["id"] for _ in range(20)]
    clients = [client() for _ in range(4)]

    def attempt(index: int) -> int:
        try:
            return copy(clients[index % len(clients)], "volume", sources[index]).status
        except oci.exceptions.ServiceError as error:
            return error.status

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(attempt, range(len(sources))))

    assert sorted(statuses) == [200] * 5 + [400] * 15
    assert len(emulator.backups(DESTINATION_REGION)) == 5
