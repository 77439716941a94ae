"""What each API request asks of IAM: Oracle's permission per operation, in which compartment and region."""

from __future__ import annotations

import json
from typing import Any

import pytest

from blockstorage_emulator.functions import FunctionsService
from blockstorage_emulator.iam import EmulatorWorld
from blockstorage_emulator.iam.access import access_of
from blockstorage_emulator.identity import DEFAULT_TENANCY_ID, Directory
from blockstorage_emulator.models import Backend
from blockstorage_emulator.signature import TrustStore

PHX, IAD = "us-phoenix-1", "us-ashburn-1"
BACKUPS = "ocid1.compartment.oc1..aaaaaaaabackups"
RESTORES = "ocid1.compartment.oc1..aaaaaaaarestores"
FUNCTIONS = "ocid1.compartment.oc1..aaaaaaaafunctions"
KEY = "ocid1.key.oc1.iad.vault.aaaaaaaakey"
VOLUME = "ocid1.volume.oc1.phx.aaaaaaaavolume"


class Place:
    def __init__(self) -> None:
        backend = Backend()
        self.functions = FunctionsService(TrustStore())
        self.world = EmulatorWorld(backend, Directory(DEFAULT_TENANCY_ID), self.functions)
        self.world.lookups.append(lambda ocid: RESTORES if ocid == VOLUME else None)
        self.volume = backend.add_backup("volume", PHX, BACKUPS)
        self.boot = backend.add_backup("boot_volume", PHX, BACKUPS)
        self.group = backend.add_backup("volume_group", PHX, BACKUPS, members=2)
        self.function = self.functions.add(PHX, FUNCTIONS)["id"]

    def needs(self, method: str, target: str, body: Any = None) -> list[tuple[str, str, str]]:
        """(permission, compartment, region) of each check; [] when the emulator cannot place the request."""
        raw = json.dumps(body).encode() if body is not None else b""
        access = access_of(method, target, raw, self.world)
        return [] if access is None else [(c.permission, c.compartment_id, c.region) for c in access.checks]


@pytest.fixture(scope="module")
def place() -> Place:
    return Place()


def test_listing_and_getting_volume_and_boot_volume_backups_also_needs_volume_inspect(place: Place) -> None:
    assert place.needs("GET", f"/{PHX}/20160918/volumeBackups?compartmentId={BACKUPS}&limit=5") == [
        ("VOLUME_BACKUP_INSPECT", BACKUPS, PHX),
        ("VOLUME_INSPECT", BACKUPS, PHX),
    ]
    assert place.needs("GET", f"/{PHX}/20160918/bootVolumeBackups/{place.boot['id']}") == [
        ("BOOT_VOLUME_BACKUP_INSPECT", BACKUPS, PHX),
        ("VOLUME_INSPECT", BACKUPS, PHX),
    ]
    assert place.needs("GET", f"/{IAD}/20160918/volumeGroupBackups?compartmentId={BACKUPS}") == [
        ("VOLUME_GROUP_BACKUP_INSPECT", BACKUPS, IAD)
    ]


def test_a_copy_reads_and_copies_in_the_source_region_and_creates_in_the_destination(place: Place) -> None:
    target = f"/{PHX}/20160918/volumeBackups/{place.volume['id']}/actions/copy"
    assert place.needs("POST", target, {"destinationRegion": "iad", "kmsKeyId": KEY}) == [
        ("VOLUME_BACKUP_READ", BACKUPS, PHX),
        ("VOLUME_BACKUP_COPY", BACKUPS, PHX),
        ("VOLUME_BACKUP_CREATE", BACKUPS, IAD),
        ("KEY_ASSOCIATE", DEFAULT_TENANCY_ID, IAD),
    ]
    boot = f"/{PHX}/20160918/bootVolumeBackups/{place.boot['id']}/actions/copy"
    assert [need[0] for need in place.needs("POST", boot, {"destinationRegion": IAD})] == [
        "BOOT_VOLUME_BACKUP_READ",
        "BOOT_VOLUME_BACKUP_COPY",
        "BOOT_VOLUME_BACKUP_CREATE",
    ]


def test_a_volume_group_backup_s_copy_reads_copies_and_creates_its_volume_backups(place: Place) -> None:
    target = f"/{PHX}/20160918/volumeGroupBackups/{place.group['id']}/actions/copy"
    assert place.needs("POST", target, {"destinationRegion": IAD}) == [
        ("VOLUME_GROUP_BACKUP_INSPECT", BACKUPS, PHX),
        ("VOLUME_GROUP_BACKUP_CREATE", BACKUPS, IAD),
        *[
            need
            for _ in place.group["volumeBackupIds"]
            for need in (
                ("VOLUME_BACKUP_READ", BACKUPS, PHX),
                ("VOLUME_BACKUP_COPY", BACKUPS, PHX),
                ("VOLUME_BACKUP_CREATE", BACKUPS, IAD),
            )
        ],
    ]


def test_marking_and_deleting(place: Place) -> None:
    volume = f"/{IAD}/20160918/volumeBackups/{place.volume['id']}"
    assert place.needs("PUT", volume, {"freeformTags": {}}) == [
        ("VOLUME_BACKUP_UPDATE", BACKUPS, IAD),
        ("VOLUME_INSPECT", BACKUPS, IAD),
    ]
    assert place.needs("DELETE", volume) == [("VOLUME_BACKUP_DELETE", BACKUPS, IAD), ("VOLUME_INSPECT", BACKUPS, IAD)]
    group = f"/{IAD}/20160918/volumeGroupBackups/{place.group['id']}"
    assert place.needs("PUT", group, {"freeformTags": {}}) == [("VOLUME_GROUP_BACKUP_UPDATE", BACKUPS, IAD)]
    assert place.needs("DELETE", group) == [
        ("VOLUME_GROUP_BACKUP_DELETE", BACKUPS, IAD),
        ("VOLUME_BACKUP_DELETE", BACKUPS, IAD),
        ("VOLUME_BACKUP_DELETE", BACKUPS, IAD),
    ]


def test_identity_monitoring_and_functions(place: Place) -> None:
    assert place.needs("GET", f"/identity/{PHX}/20160918/compartments?compartmentId={DEFAULT_TENANCY_ID}") == [
        ("COMPARTMENT_INSPECT", DEFAULT_TENANCY_ID, PHX)
    ]
    assert place.needs("GET", f"/identity/{IAD}/20160918/availabilityDomains?compartmentId={RESTORES}") == [
        ("COMPARTMENT_INSPECT", RESTORES, IAD)
    ]
    metrics = {
        "metricData": [
            {"namespace": "backup_copier", "compartmentId": BACKUPS, "name": "a"},
            {"namespace": "backup_copier", "compartmentId": BACKUPS, "name": "b"},
            {"namespace": "other", "compartmentId": RESTORES, "name": "c"},
        ]
    }
    access = access_of(
        "POST", f"/telemetry-ingestion/{PHX}/20180401/metrics", json.dumps(metrics).encode(), place.world
    )
    assert access is not None and access.api_operation == "PostMetricData"
    assert [(c.permission, c.compartment_id, dict(c.variables)) for c in access.checks] == [
        ("METRIC_WRITE", BACKUPS, {"target.metrics.namespace": "backup_copier"}),
        ("METRIC_WRITE", RESTORES, {"target.metrics.namespace": "other"}),
    ]
    assert place.needs("GET", f"/functions/{PHX}/20260325/functions/{place.function}") == [
        ("FN_FUNCTION_READ", FUNCTIONS, PHX)
    ]
    invoke = f"/functions-invoke/{PHX}/20181201/functions/{place.function}/actions/invoke"
    assert place.needs("POST", invoke, {"action": "report"}) == [("FN_INVOCATION", FUNCTIONS, PHX)]


def test_restoring_from_copies(place: Place) -> None:
    create = {"compartmentId": RESTORES, "availabilityDomain": "x:PHX-AD-1"}
    assert place.needs(
        "POST",
        f"/{PHX}/20160918/volumes",
        {**create, "sourceDetails": {"type": "volumeBackup", "id": place.volume["id"]}},
    ) == [
        ("VOLUME_CREATE", RESTORES, PHX),
        ("VOLUME_BACKUP_READ", BACKUPS, PHX),
    ]
    boot = {**create, "sourceDetails": {"type": "bootVolumeBackup", "id": place.boot["id"]}, "kmsKeyId": KEY}
    assert place.needs("POST", f"/{PHX}/20160918/bootVolumes", boot) == [
        ("VOLUME_CREATE", RESTORES, PHX),
        ("BOOT_VOLUME_BACKUP_READ", BACKUPS, PHX),
        ("KEY_ASSOCIATE", DEFAULT_TENANCY_ID, PHX),
    ]
    group = {**create, "sourceDetails": {"type": "volumeGroupBackupId", "volumeGroupBackupId": place.group["id"]}}
    assert place.needs("POST", f"/{PHX}/20160918/volumeGroups", group) == [
        ("VOLUME_GROUP_CREATE", RESTORES, PHX),
        ("VOLUME_CREATE", RESTORES, PHX),
        ("VOLUME_WRITE", RESTORES, PHX),
        ("VOLUME_GROUP_BACKUP_INSPECT", BACKUPS, PHX),
        ("VOLUME_BACKUP_READ", BACKUPS, PHX),
        ("VOLUME_BACKUP_READ", BACKUPS, PHX),
    ]


def test_the_drill_s_reads_and_clean_up(place: Place) -> None:
    assert place.needs("GET", f"/{PHX}/20160918/volumes/{VOLUME}") == [("VOLUME_INSPECT", RESTORES, PHX)]
    assert place.needs("DELETE", f"/{PHX}/20160918/volumes/{VOLUME}") == [("VOLUME_DELETE", RESTORES, PHX)]
    assert place.needs("GET", f"/{PHX}/20160918/bootVolumes?compartmentId={RESTORES}") == [
        ("VOLUME_INSPECT", RESTORES, PHX)
    ]
    assert place.needs("PUT", f"/{PHX}/20160918/volumeGroups/{VOLUME}", {}) == [
        ("VOLUME_GROUP_UPDATE", RESTORES, PHX),
        ("VOLUME_INSPECT", RESTORES, PHX),
    ]
    assert place.needs("DELETE", f"/{PHX}/20160918/volumeGroups/{VOLUME}") == [("VOLUME_GROUP_DELETE", RESTORES, PHX)]
    assert place.needs("GET", f"/{PHX}/20160918/volumeAttachments?compartmentId={RESTORES}") == [
        ("VOLUME_ATTACHMENT_INSPECT", RESTORES, PHX),
        ("VOLUME_INSPECT", RESTORES, PHX),
        ("INSTANCE_INSPECT", RESTORES, PHX),
    ]
    attachments = f"/{PHX}/20160918/bootVolumeAttachments?availabilityDomain=x%3APHX-AD-1&compartmentId={RESTORES}"
    assert place.needs("GET", attachments) == [("INSTANCE_INSPECT", RESTORES, PHX), ("VOLUME_INSPECT", RESTORES, PHX)]
    # Compute, served under its own prefix.
    assert place.needs("GET", f"/compute{attachments}") == place.needs("GET", attachments)
    access = access_of("GET", f"/compute/{PHX}/20160918/volumeAttachments?compartmentId={RESTORES}", b"", place.world)
    assert access is not None and (access.api_operation, access.record_operation) == (
        "ListVolumeAttachments",
        "list_volume_attachments",
    )


def test_the_log_names_a_refusal_as_the_service_would(place: Place) -> None:
    access = access_of(
        "POST",
        f"/{PHX}/20160918/volumeBackups/{place.volume['id']}/actions/copy",
        b'{"destinationRegion": "iad"}',
        place.world,
    )
    assert access is not None
    assert (access.api_operation, access.record_operation, access.record_kind) == ("CopyVolumeBackup", "copy", "volume")
    assert access.path == f"/20160918/volumeBackups/{place.volume['id']}/actions/copy"


@pytest.mark.parametrize(
    ("method", "target", "body"),
    [
        (
            "GET",
            f"/{PHX}/20160918/volumeBackups/ocid1.volumebackup.oc1.phx.missing",
            None,
        ),  # no such backup: 404 anyway
        ("GET", f"/{PHX}/20160918/volumeBackups", None),  # no compartmentId: the service's 400
        ("GET", f"/atlantis/20160918/volumeBackups?compartmentId={BACKUPS}", None),
        ("GET", f"/{PHX}/20160918/instances?compartmentId={BACKUPS}", None),  # not emulated at all
        ("POST", f"/{PHX}/20160918/volumes", {"availabilityDomain": "x"}),  # no compartmentId
        ("GET", f"/{PHX}/20160918/volumes/ocid1.volume.oc1.phx.unknown", None),
        ("POST", f"/telemetry-ingestion/{PHX}/20180401/metrics", {"metricData": "x"}),
        ("GET", f"/functions/{PHX}/20260325/functions/ocid1.fnfunc.oc1.phx.unknown", None),
    ],
)
def test_what_the_emulator_cannot_place_is_left_to_the_service(
    place: Place, method: str, target: str, body: Any
) -> None:
    assert place.needs(method, target, body) == []


def test_a_copy_to_a_region_that_does_not_exist_is_left_to_the_service(place: Place) -> None:
    target = f"/{PHX}/20160918/volumeBackups/{place.volume['id']}/actions/copy"
    assert place.needs("POST", target, {"destinationRegion": "atlantis"}) == []
    assert access_of("POST", target, b"not json", place.world) is None
