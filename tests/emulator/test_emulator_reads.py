"""Get and List through the real SDK, for all three backup kinds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import oci
import pytest

from blockstorage_emulator import Emulator
from tests.helpers import SOURCE_REGION, new_compartment

from .support import COMPARTMENT_ID, ClientFactory, signed_request

GETTERS = {
    "volume": "get_volume_backup",
    "boot_volume": "get_boot_volume_backup",
    "volume_group": "get_volume_group_backup",
}
LISTERS = {
    "volume": "list_volume_backups",
    "boot_volume": "list_boot_volume_backups",
    "volume_group": "list_volume_group_backups",
}
OCID_TYPES = {"volume": "volumebackup", "boot_volume": "bootvolumebackup", "volume_group": "volumegroupbackup"}


@pytest.mark.parametrize("kind", sorted(GETTERS))
def test_get_returns_the_backup_with_an_etag(emulator: Emulator, client: ClientFactory, kind: str) -> None:
    added = emulator.add_backup(kind, SOURCE_REGION, COMPARTMENT_ID, display_name="nightly")

    response = getattr(client(), GETTERS[kind])(added["id"])

    assert response.data.id == added["id"]
    assert response.data.display_name == "nightly"
    assert response.data.lifecycle_state == "AVAILABLE"
    assert response.headers["etag"]
    assert added["id"].startswith(f"ocid1.{OCID_TYPES[kind]}.oc1.phx.")
    assert len(added["id"].rsplit(".", 1)[1]) == 60


@pytest.mark.parametrize("kind", sorted(GETTERS))
def test_get_of_another_kind_or_region_is_not_found(emulator: Emulator, client: ClientFactory, kind: str) -> None:
    added = emulator.add_backup(kind, SOURCE_REGION, COMPARTMENT_ID)
    other_getter = GETTERS["volume" if kind != "volume" else "boot_volume"]

    for call in (
        lambda: getattr(client(), other_getter)(added["id"]),
        lambda: getattr(client("us-ashburn-1"), GETTERS[kind])(added["id"]),
    ):
        with pytest.raises(oci.exceptions.ServiceError) as raised:
            call()
        assert (raised.value.status, raised.value.code) == (404, "NotAuthorizedOrNotFound")


@pytest.mark.parametrize("kind", sorted(LISTERS))
def test_list_pages_newest_first(emulator: Emulator, client: ClientFactory, kind: str) -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    ids = [
        emulator.add_backup(kind, SOURCE_REGION, COMPARTMENT_ID, time_created=start + timedelta(hours=hour))["id"]
        for hour in range(5)
    ]
    emulator.add_backup(kind, SOURCE_REGION, "ocid1.compartment.oc1..other")
    lister = getattr(client(), LISTERS[kind])

    first = lister(COMPARTMENT_ID, limit=2)
    seen = [backup.id for backup in first.data]
    page = first.next_page
    while page:
        response = lister(COMPARTMENT_ID, limit=2, page=page)
        seen += [backup.id for backup in response.data]
        page = response.next_page

    assert first.has_next_page
    assert seen == list(reversed(ids))
    everything = oci.pagination.list_call_get_all_results(lister, COMPARTMENT_ID, limit=2).data
    assert [backup.id for backup in everything] == seen


def test_list_sorts_by_display_name_ascending_by_default(emulator: Emulator, client: ClientFactory) -> None:
    for name in ("b", "c", "a"):
        emulator.add_backup("volume", SOURCE_REGION, COMPARTMENT_ID, display_name=name)

    by_name = client().list_volume_backups(COMPARTMENT_ID, sort_by="DISPLAYNAME").data
    descending = client().list_volume_backups(COMPARTMENT_ID, sort_by="DISPLAYNAME", sort_order="DESC").data

    assert [backup.display_name for backup in by_name] == ["a", "b", "c"]
    assert [backup.display_name for backup in descending] == ["c", "b", "a"]


def test_list_filters_by_source_parent_name_and_state(emulator: Emulator, client: ClientFactory) -> None:
    original = emulator.add_backup("volume", SOURCE_REGION, COMPARTMENT_ID, volume_id="ocid1.volume.oc1.phx.one")
    copy = emulator.add_backup(
        "volume",
        SOURCE_REGION,
        COMPARTMENT_ID,
        source_backup_id="ocid1.volumebackup.oc1.iad.x",
        display_name="copy",
        lifecycle_state="CREATING",
    )
    volumes = client()

    assert [
        b.id
        for b in volumes.list_volume_backups(
            COMPARTMENT_ID, source_volume_backup_id="ocid1.volumebackup.oc1.iad.x"
        ).data
    ] == [copy["id"]]
    assert [b.id for b in volumes.list_volume_backups(COMPARTMENT_ID, volume_id="ocid1.volume.oc1.phx.one").data] == [
        original["id"]
    ]
    assert [b.id for b in volumes.list_volume_backups(COMPARTMENT_ID, display_name="copy").data] == [copy["id"]]
    assert [b.id for b in volumes.list_volume_backups(COMPARTMENT_ID, lifecycle_state="AVAILABLE").data] == [
        original["id"]
    ]

    boot_copy = emulator.add_backup(
        "boot_volume", SOURCE_REGION, COMPARTMENT_ID, source_backup_id="ocid1.bootvolumebackup.oc1.iad.y"
    )
    emulator.add_backup("boot_volume", SOURCE_REGION, COMPARTMENT_ID)
    assert [
        b.id
        for b in volumes.list_boot_volume_backups(
            COMPARTMENT_ID, source_boot_volume_backup_id="ocid1.bootvolumebackup.oc1.iad.y"
        ).data
    ] == [boot_copy["id"]]


def test_volume_group_list_ignores_a_source_filter_like_the_real_api(emulator: Emulator) -> None:
    # The SDK offers no source filter for volume groups; a raw query shows the
    # service ignores one rather than honouring it.
    source = "ocid1.volumegroupbackup.oc1.iad.z"
    emulator.add_backup("volume_group", SOURCE_REGION, COMPARTMENT_ID, source_backup_id=source)
    emulator.add_backup("volume_group", SOURCE_REGION, COMPARTMENT_ID)

    response = signed_request(
        emulator,
        "GET",
        f"/20160918/volumeGroupBackups?compartmentId={COMPARTMENT_ID}&sourceVolumeGroupBackupId={source}",
    )

    assert response.status_code == 200
    assert len(response.json()) == 2


def test_list_requires_a_compartment_and_a_valid_limit(emulator: Emulator, client: ClientFactory) -> None:
    with pytest.raises(oci.exceptions.ServiceError) as missing:
        client().base_client.call_api(resource_path="/volumeBackups", method="GET", response_type="list[VolumeBackup]")
    with pytest.raises(oci.exceptions.ServiceError) as too_large:
        client().list_volume_backups(COMPARTMENT_ID, limit=1001)

    assert (missing.value.status, missing.value.code) == (400, "MissingParameter")
    assert (too_large.value.status, too_large.value.code) == (400, "InvalidParameter")


def test_unknown_region_route_and_method(emulator: Emulator, client: ClientFactory) -> None:
    with pytest.raises(oci.exceptions.ServiceError) as unknown_region:
        client("mars-north-1").list_volume_backups(COMPARTMENT_ID)
    route = signed_request(emulator, "GET", "/20160918/instances")
    method = signed_request(emulator, "PATCH", "/20160918/volumeBackups/ocid1.volumebackup.oc1.phx.x")

    assert (unknown_region.value.status, unknown_region.value.code) == (404, "NotAuthorizedOrNotFound")
    assert route.status_code == 404
    assert route.headers["content-type"] == "application/json"
    assert route.json() == {
        "code": "NotAuthorizedOrNotFound",
        "message": "Authorization failed or requested resource not found.",
    }
    assert (method.status_code, method.json()["code"]) == (405, "MethodNotAllowed")


def test_request_ids_echo_the_client_and_add_the_service_part(emulator: Emulator, client: ClientFactory) -> None:
    added = emulator.add_backup("volume", SOURCE_REGION, COMPARTMENT_ID)

    response = client().get_volume_backup(added["id"])

    client_part, service_part = response.headers["opc-request-id"].split("/")
    assert client_part == emulator.requests[-1].headers["opc-request-id"]
    assert len(service_part) == 32


def test_a_seeded_backup_is_listed_like_an_added_one(emulator: Emulator, client: ClientFactory) -> None:
    seeded = emulator.seed_backup("volume", SOURCE_REGION, COMPARTMENT_ID, display_name="seeded")

    listed = client().list_volume_backups(COMPARTMENT_ID, display_name="seeded").data

    assert [backup.id for backup in listed] == [seeded]
    assert emulator.backup(seeded)["displayName"] == "seeded"


def test_backups_in_holds_one_compartment_of_one_region_in_every_state(emulator: Emulator) -> None:
    mine, other = new_compartment(), new_compartment()
    kept = emulator.add_backup("volume_group", SOURCE_REGION, mine, members=1)
    gone = emulator.add_backup("boot_volume", SOURCE_REGION, mine, lifecycle_state="TERMINATED")
    emulator.add_backup("volume", SOURCE_REGION, other)
    emulator.add_backup("volume", "us-ashburn-1", mine)

    found = {backup["id"]: backup for backup in emulator.backups_in(SOURCE_REGION, mine)}

    assert set(found) == {kept["id"], gone["id"], *kept["volumeBackupIds"]}
    assert found[gone["id"]]["lifecycleState"] == "TERMINATED"
