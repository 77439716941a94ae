"""Volumes, boot volumes and volume groups after a restore: reads, updates, deletes and the
attachments that hold them, through the real SDK's Blockstorage, Compute and Identity clients."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import oci
import pytest

from blockstorage_emulator import Emulator, Fault
from tests.helpers import DESTINATION_REGION, SOURCE_REGION

from .support import (
    COMPARTMENT_ID,
    SOURCE_AD,
    VOLUME_CALLS,
    ClientFactory,
    ComputeFactory,
    IdentityFactory,
    restore,
    send_raw,
    service_error,
    signed_headers,
    signed_request,
)

OTHER_COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaaothercompartment"
KINDS = sorted(VOLUME_CALLS)


def restored(emulator: Emulator, client: ClientFactory, kind: str) -> oci.response.Response:
    backup = emulator.add_backup(kind, SOURCE_REGION, COMPARTMENT_ID)
    return restore(client(), kind, backup["id"])


@pytest.mark.parametrize("kind", KINDS)
def test_get_answers_the_resource_with_its_etag_and_404_elsewhere(
    emulator: Emulator, client: ClientFactory, kind: str
) -> None:
    created = restored(emulator, client, kind)
    get = VOLUME_CALLS[kind][0]
    other_get = VOLUME_CALLS["volume_group" if kind == "volume" else "volume"][0]

    read = getattr(client(), get)(created.data.id)

    assert (read.data.id, read.headers["etag"]) == (created.data.id, created.headers["etag"])
    for call in (
        lambda: getattr(client(), other_get)(created.data.id),
        lambda: getattr(client(DESTINATION_REGION), get)(created.data.id),
        lambda: getattr(client(), get)(created.data.id.replace(".phx.", ".phx.x")),
    ):
        missing = service_error(call)
        assert (missing.status, missing.code) == (404, "NotAuthorizedOrNotFound")


def test_lists_page_filter_and_group_by_availability_domain(emulator: Emulator, client: ClientFactory) -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    ad1, ad2, ad3 = emulator.availability_domains(SOURCE_REGION)
    ids = {
        (ad, hour): emulator.add_volume(
            "volume", SOURCE_REGION, COMPARTMENT_ID, availability_domain=ad, time_created=start + timedelta(hours=hour)
        )["id"]
        for ad, hour in [(ad2, 0), (ad1, 1), (ad2, 2), (ad1, 3)]
    }
    emulator.add_volume("volume", SOURCE_REGION, OTHER_COMPARTMENT, display_name="elsewhere")
    emulator.add_volume(
        "volume", SOURCE_REGION, COMPARTMENT_ID, display_name="named", lifecycle_state="FAULTY", availability_domain=ad3
    )
    blockstorage = client()

    everything = oci.pagination.list_call_get_all_results(
        blockstorage.list_volumes, compartment_id=COMPARTMENT_ID, limit=2
    )
    first = blockstorage.list_volumes(compartment_id=COMPARTMENT_ID, limit=2)
    in_ad2 = blockstorage.list_volumes(compartment_id=COMPARTMENT_ID, availability_domain=ad2)
    oldest_first = blockstorage.list_volumes(compartment_id=COMPARTMENT_ID, availability_domain=ad2, sort_order="ASC")

    assert first.has_next_page and len(first.data) == 2
    # "grouped by availability domain, then sorted" (newest first by default)
    assert [v.id for v in everything.data][:4] == [ids[ad1, 3], ids[ad1, 1], ids[ad2, 2], ids[ad2, 0]]
    assert everything.data[4].display_name == "named"
    assert [v.id for v in in_ad2.data] == [ids[ad2, 2], ids[ad2, 0]]
    assert [v.id for v in oldest_first.data] == [ids[ad2, 0], ids[ad2, 2]]
    assert [
        v.display_name for v in blockstorage.list_volumes(compartment_id=COMPARTMENT_ID, display_name="named").data
    ] == ["named"]
    assert len(blockstorage.list_volumes(compartment_id=COMPARTMENT_ID, lifecycle_state="FAULTY").data) == 1
    lowercase = signed_request(
        emulator, "GET", f"/20160918/volumes?compartmentId={COMPARTMENT_ID}&lifecycleState=faulty"
    )
    assert [v["displayName"] for v in lowercase.json()] == ["named"]


def test_lists_need_a_compartment_or_a_group(emulator: Emulator, client: ClientFactory) -> None:
    volumes = signed_request(emulator, "GET", "/20160918/volumes")
    groups = signed_request(emulator, "GET", "/20160918/volumeGroups?volumeGroupId=ocid1.volumegroup.oc1.phx.x")
    bad_state = signed_request(
        emulator, "GET", f"/20160918/volumeGroups?compartmentId={COMPARTMENT_ID}&lifecycleState=RESTORING"
    )

    assert (volumes.status_code, volumes.json()["code"]) == (400, "MissingParameter")
    assert (groups.status_code, groups.json()["code"]) == (400, "MissingParameter")
    assert (bad_state.status_code, bad_state.json()["code"]) == (400, "InvalidParameter")  # a group never restores
    assert client().list_boot_volumes(compartment_id=COMPARTMENT_ID).data == []
    emulator.deny_compartment(COMPARTMENT_ID)
    denied = service_error(client().list_volume_groups, COMPARTMENT_ID)
    assert (denied.status, denied.code) == (404, "NotAuthorizedOrNotFound")


@pytest.mark.parametrize("kind", KINDS)
def test_update_replaces_the_tags_whole_and_a_stale_etag_answers_412(
    emulator: Emulator, client: ClientFactory, kind: str
) -> None:
    created = restored(emulator, client, kind)
    _, update, details, _, _ = VOLUME_CALLS[kind]
    blockstorage = client()

    after = getattr(blockstorage, update)(
        created.data.id,
        getattr(oci.core.models, details)(freeform_tags={"drill": "mark"}, display_name="drill"),
        if_match=created.headers["etag"],
    )
    stale = service_error(
        getattr(blockstorage, update),
        created.data.id,
        getattr(oci.core.models, details)(freeform_tags={}),
        if_match=created.headers["etag"],
    )

    # Updated while still PROVISIONING: a drill marks a group's members as soon as they exist.
    assert (after.data.lifecycle_state, after.data.freeform_tags, after.data.display_name) == (
        "PROVISIONING",
        {"drill": "mark"},
        "drill",
    )
    assert after.headers["etag"] != created.headers["etag"]
    assert (stale.status, stale.code) == (412, "NoEtagMatch")


def test_update_refuses_what_it_cannot_do_and_changes_nothing(emulator: Emulator, client: ClientFactory) -> None:
    volume = restored(emulator, client, "volume").data
    blockstorage = client()

    bad = [
        oci.core.models.UpdateVolumeDetails(freeform_tags={"k": "v"}, vpus_per_gb=7),
        oci.core.models.UpdateVolumeDetails(size_in_gbs=40),
        oci.core.models.UpdateVolumeDetails(is_auto_tune_enabled=True),
    ]
    refusals = [service_error(blockstorage.update_volume, volume.id, details) for details in bad]
    resized = blockstorage.update_volume(volume.id, oci.core.models.UpdateVolumeDetails(size_in_gbs=80, vpus_per_gb=20))
    blockstorage.delete_volume(volume.id)
    gone = service_error(blockstorage.update_volume, volume.id, oci.core.models.UpdateVolumeDetails(display_name="x"))

    assert [(r.status, r.code) for r in refusals] == [(400, "InvalidParameter")] * 3
    assert all(
        word in r.message for r, word in zip(refusals, ["vpusPerGB", "sizeInGBs", "isAutoTuneEnabled"], strict=True)
    )
    assert (resized.data.freeform_tags, resized.data.size_in_gbs, resized.data.vpus_per_gb) == ({}, 80, 20)
    assert (gone.status, gone.code) == (409, "IncorrectState")


def test_a_group_update_names_its_members_in_full(emulator: Emulator, client: ClientFactory) -> None:
    backup = emulator.add_backup("volume_group", SOURCE_REGION, COMPARTMENT_ID, members=2)
    group = restore(client(), "volume_group", backup["id"]).data
    loose = emulator.add_volume("volume", SOURCE_REGION, COMPARTMENT_ID)
    elsewhere = emulator.add_volume("volume", SOURCE_REGION, COMPARTMENT_ID, availability_domain="NfHZ:PHX-AD-2")
    blockstorage = client()
    kept, dropped = group.volume_ids

    updated = blockstorage.update_volume_group(
        group.id, oci.core.models.UpdateVolumeGroupDetails(volume_ids=[kept, loose["id"]])
    ).data
    refused = service_error(
        blockstorage.update_volume_group,
        group.id,
        oci.core.models.UpdateVolumeGroupDetails(volume_ids=[elsewhere["id"]]),
    )

    assert updated.volume_ids == [kept, loose["id"]]
    assert (emulator.volume(dropped)["volumeGroupId"], emulator.volume(loose["id"])["volumeGroupId"]) == (
        None,
        group.id,
    )
    assert (refused.status, refused.code) == (400, "InvalidParameter")


@pytest.mark.parametrize("kind", KINDS)
def test_delete_answers_204_then_terminating_then_terminated(
    emulator: Emulator, client: ClientFactory, kind: str
) -> None:
    created = restored(emulator, client, kind)
    get, _, _, delete, _ = VOLUME_CALLS[kind]
    blockstorage = client()
    emulator.finish_restores()

    stale = service_error(getattr(blockstorage, delete), created.data.id, if_match=created.headers["etag"])
    current = getattr(blockstorage, get)(created.data.id).headers["etag"]  # finish_restores changed it
    deleted = getattr(blockstorage, delete)(created.data.id, if_match=current)
    again = service_error(getattr(blockstorage, delete), created.data.id)
    emulator.finish_deletions()
    after = service_error(getattr(blockstorage, delete), created.data.id)

    assert (stale.status, stale.code) == (412, "NoEtagMatch")
    assert (deleted.status, deleted.data) == (204, None)
    assert (again.status, again.code) == (409, "IncorrectState")
    assert getattr(blockstorage, get)(created.data.id).data.lifecycle_state == "TERMINATED"
    assert (after.status, after.code) == (404, "NotAuthorizedOrNotFound")


def test_a_restore_in_progress_may_be_deleted(emulator: Emulator, client: ClientFactory) -> None:
    volume = restored(emulator, client, "volume").data
    emulator.begin_restoring()

    client().delete_volume(volume.id)

    assert emulator.volume(volume.id)["lifecycleState"] == "TERMINATING"


def test_deleting_a_group_leaves_its_members_which_cannot_be_deleted_until_it_is_gone(
    emulator: Emulator, client: ClientFactory
) -> None:
    backup = emulator.add_backup("volume_group", SOURCE_REGION, COMPARTMENT_ID, members=1, boot_members=1)
    group = restore(client(), "volume_group", backup["id"]).data
    emulator.finish_restores()
    volume_id, boot_volume_id = group.volume_ids
    blockstorage = client()

    in_group = service_error(blockstorage.delete_volume, volume_id)
    blockstorage.delete_volume_group(group.id)
    while_terminating = service_error(blockstorage.delete_boot_volume, boot_volume_id)
    emulator.finish_deletions()
    members = [blockstorage.get_volume(volume_id).data, blockstorage.get_boot_volume(boot_volume_id).data]
    blockstorage.delete_volume(volume_id)
    blockstorage.delete_boot_volume(boot_volume_id)

    assert (in_group.status, in_group.code) == (409, "Conflict")
    assert in_group.message == f"Volume {volume_id} may not be deleted while it is assigned to volume group {group.id}"
    assert (while_terminating.status, while_terminating.code) == (409, "Conflict")
    # "Individual volumes are not deleted, only the volume group is deleted."
    assert [(m.lifecycle_state, m.volume_group_id) for m in members] == [("AVAILABLE", None)] * 2
    assert {emulator.volume(i)["lifecycleState"] for i in group.volume_ids} == {"TERMINATING"}


def test_an_attached_volume_cannot_be_deleted_even_when_another_compartment_holds_the_attachment(
    emulator: Emulator, client: ClientFactory, compute: ComputeFactory
) -> None:
    volume = restored(emulator, client, "volume").data
    emulator.finish_restores()
    attachment = emulator.attach(volume.id, compartment_id=OTHER_COMPARTMENT)
    blockstorage, instances = client(), compute()

    seen_in_volumes_compartment = instances.list_volume_attachments(COMPARTMENT_ID, volume_id=volume.id).data
    [seen] = instances.list_volume_attachments(OTHER_COMPARTMENT, availability_domain=SOURCE_AD).data
    refused = service_error(blockstorage.delete_volume, volume.id)
    emulator.detach(attachment["id"])
    [detached] = instances.list_volume_attachments(OTHER_COMPARTMENT, instance_id=attachment["instanceId"]).data
    blockstorage.delete_volume(volume.id)

    assert seen_in_volumes_compartment == []
    assert isinstance(seen, oci.core.models.ParavirtualizedVolumeAttachment)
    assert (seen.volume_id, seen.lifecycle_state, seen.compartment_id) == (volume.id, "ATTACHED", OTHER_COMPARTMENT)
    assert seen.instance_id.startswith("ocid1.instance.oc1.phx.")
    assert (refused.status, refused.code) == (409, "Conflict")
    assert refused.message == f"Volume {volume.id} may not be deleted while attached to an Instance."
    assert detached.lifecycle_state == "DETACHED"


def test_boot_volume_attachments_need_an_availability_domain(
    emulator: Emulator, client: ClientFactory, compute: ComputeFactory
) -> None:
    boot_volume = restored(emulator, client, "boot_volume").data
    emulator.attach(boot_volume.id, instance_id="ocid1.instance.oc1.phx.web")
    emulator.add_volume("volume", SOURCE_REGION, COMPARTMENT_ID)

    [seen] = compute().list_boot_volume_attachments(SOURCE_AD, COMPARTMENT_ID, boot_volume_id=boot_volume.id).data
    other_ad = compute().list_boot_volume_attachments("NfHZ:PHX-AD-2", COMPARTMENT_ID).data
    template = emulator.compute_endpoint_template
    no_ad = signed_request(
        emulator, "GET", f"/20160918/bootVolumeAttachments?compartmentId={COMPARTMENT_ID}", endpoint_template=template
    )
    no_compartment = signed_request(emulator, "GET", "/20160918/volumeAttachments", endpoint_template=template)
    refused = service_error(client().delete_boot_volume, boot_volume.id)

    assert (seen.boot_volume_id, seen.instance_id, seen.lifecycle_state) == (
        boot_volume.id,
        "ocid1.instance.oc1.phx.web",
        "ATTACHED",
    )
    assert other_ad == []
    assert (no_ad.status_code, no_ad.json()["code"]) == (400, "MissingParameter")
    assert "availabilityDomain" in no_ad.json()["message"]
    assert (no_compartment.status_code, no_compartment.json()["code"]) == (400, "MissingParameter")
    assert (refused.status, refused.code) == (409, "Conflict")
    with pytest.raises(ValueError, match="only those attach"):
        emulator.attach(emulator.add_volume("volume_group", SOURCE_REGION, COMPARTMENT_ID)["id"])


def test_attachment_listings_page(emulator: Emulator, client: ClientFactory, compute: ComputeFactory) -> None:
    volume = emulator.add_volume("volume", SOURCE_REGION, COMPARTMENT_ID)
    attached = [
        emulator.attach(volume["id"], lifecycle_state=state)["id"] for state in ("DETACHED", "DETACHED", "ATTACHED")
    ]

    listed = oci.pagination.list_call_get_all_results(compute().list_volume_attachments, COMPARTMENT_ID, limit=2).data

    assert [a.id for a in listed] == attached


def test_availability_domains_are_listed_per_region_by_identity(
    emulator: Emulator, identity: IdentityFactory, client: ClientFactory
) -> None:
    emulator.set_availability_domains("eu-frankfurt-1", ["fqCG:EU-FRANKFURT-1-AD-1"])

    phoenix = identity().list_availability_domains(emulator.tenancy_id).data
    ashburn = identity(DESTINATION_REGION).list_availability_domains(COMPARTMENT_ID).data
    frankfurt = identity("eu-frankfurt-1").list_availability_domains(emulator.tenancy_id).data
    again = identity().list_availability_domains(emulator.tenancy_id).data
    backup = emulator.add_backup("volume", "eu-frankfurt-1", COMPARTMENT_ID)
    restored_there = restore(
        client("eu-frankfurt-1"), "volume", backup["id"], availability_domain="fqCG:EU-FRANKFURT-1-AD-1"
    )

    assert [ad.name for ad in phoenix] == ["NfHZ:PHX-AD-1", "NfHZ:PHX-AD-2", "NfHZ:PHX-AD-3"]
    assert [ad.name for ad in ashburn] == ["NfHZ:US-ASHBURN-AD-1", "NfHZ:US-ASHBURN-AD-2", "NfHZ:US-ASHBURN-AD-3"]
    assert [(ad.name, ad.compartment_id) for ad in frankfurt] == [("fqCG:EU-FRANKFURT-1-AD-1", emulator.tenancy_id)]
    assert [ad.id for ad in again] == [ad.id for ad in phoenix]
    assert phoenix[0].id.startswith("ocid1.availabilitydomain.oc1..")
    assert restored_there.data.availability_domain == "fqCG:EU-FRANKFURT-1-AD-1"
    emulator.deny_compartment(COMPARTMENT_ID)
    denied = service_error(identity().list_availability_domains, COMPARTMENT_ID)
    assert (denied.status, denied.code) == (404, "NotAuthorizedOrNotFound")
    with pytest.raises(ValueError, match="distinct names"):
        emulator.set_availability_domains(SOURCE_REGION, [])


def test_the_new_routes_verify_signatures(emulator: Emulator) -> None:
    paths = [
        f"/{SOURCE_REGION}/20160918/volumes?compartmentId={COMPARTMENT_ID}",
        f"/compute/{SOURCE_REGION}/20160918/volumeAttachments?compartmentId={COMPARTMENT_ID}",
        f"/identity/{SOURCE_REGION}/20160918/availabilityDomains?compartmentId={COMPARTMENT_ID}",
    ]
    unsigned = [send_raw(emulator, "GET", path)[0] for path in paths]
    create = "/20160918/volumes"
    signed_body = b'{"compartmentId": "ocid1.compartment.oc1..a"}'
    headers = signed_headers(emulator, "POST", create, signed_body)
    tampered = send_raw(
        emulator, "POST", f"/{SOURCE_REGION}{create}", headers, b'{"compartmentId": "ocid1.compartment.oc1..b"}'
    )

    assert unsigned == [401, 401, 401]
    assert tampered[0] == 401
    assert [r.operation for r in emulator.requests] == [
        "list_volumes",
        "list_volume_attachments",
        "list_availability_domains",
        "create_volume",
    ]
    assert emulator.volumes(SOURCE_REGION) == []


def test_faults_and_denials_reach_the_new_operations_by_name(
    emulator: Emulator, client: ClientFactory, compute: ComputeFactory, identity: IdentityFactory
) -> None:
    backup = emulator.add_backup("volume", SOURCE_REGION, COMPARTMENT_ID)
    emulator.inject(Fault(operation="create_volume", status=429))
    emulator.inject(Fault(operation="get", kind="volume", status=500))  # GetVolumeBackup, not GetVolume
    emulator.inject(Fault(operation="list_volume_attachments", status=503))
    emulator.deny("delete_volume")
    emulator.deny("list_availability_domains", region=SOURCE_REGION)

    throttled = service_error(restore, client(), "volume", backup["id"])
    volume = restore(client(), "volume", backup["id"]).data
    read = client().get_volume(volume.id).data
    unavailable = service_error(compute().list_volume_attachments, COMPARTMENT_ID)
    assert emulator.faults_remaining() == 1
    denied_delete = service_error(client().delete_volume, volume.id)
    denied_domains = service_error(identity().list_availability_domains, COMPARTMENT_ID)
    emulator.allow_all()
    emulator.clear_faults()

    assert (throttled.status, throttled.code) == (429, "TooManyRequests")
    assert read.id == volume.id
    assert (unavailable.status, unavailable.code) == (503, "ServiceUnavailable")
    assert (denied_delete.status, denied_delete.code) == (404, "NotAuthorizedOrNotFound")
    assert (denied_domains.status, denied_domains.code) == (404, "NotAuthorizedOrNotFound")
    assert identity().list_availability_domains(COMPARTMENT_ID).status == 200
    assert client().delete_volume(volume.id).status == 204
    faulted = [(r.operation, r.kind, r.fault) for r in emulator.requests if r.fault]
    assert faulted == [("create_volume", "volume", "status 429"), ("list_volume_attachments", None, "status 503")]
    with pytest.raises(ValueError, match="operation must be one of"):
        Fault(operation="CreateVolume", status=500)


def test_clear_volumes_empties_every_region(emulator: Emulator) -> None:
    volume = emulator.add_volume("volume", SOURCE_REGION, COMPARTMENT_ID)
    emulator.attach(volume["id"])
    emulator.add_volume("boot_volume", DESTINATION_REGION, COMPARTMENT_ID)

    emulator.clear_volumes()

    assert (emulator.volumes(SOURCE_REGION), emulator.volumes(DESTINATION_REGION), emulator.attachments()) == (
        [],
        [],
        [],
    )
