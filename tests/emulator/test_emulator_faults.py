"""Injected faults and IAM denials, seen through the real SDK."""

from __future__ import annotations

import time

import oci
import pytest

from blockstorage_emulator import Emulator, Fault
from tests.helpers import DESTINATION_REGION, SOURCE_REGION

from .support import COMPARTMENT_ID, ClientFactory, send_raw


def list_status(client: oci.core.BlockstorageClient) -> tuple[int, str | None]:
    try:
        return client.list_volume_backups(COMPARTMENT_ID).status, None
    except oci.exceptions.ServiceError as error:
        return error.status, error.code


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (429, "TooManyRequests"),
        (500, "InternalServerError"),
        (503, "ServiceUnavailable"),
        (401, "NotAuthenticated"),
        (404, "NotAuthorizedOrNotFound"),
        (400, "LimitExceeded"),
    ],
)
def test_status_fault_answers_the_default_code_then_is_spent(
    emulator: Emulator, client: ClientFactory, status: int, code: str
) -> None:
    emulator.inject(Fault(operation="list", status=status, count=1))
    volumes = client()

    first = list_status(volumes)

    # A 401 makes the SDK refresh its token and retry once, which succeeds.
    assert first == ((200, None) if status == 401 else (status, code))
    assert list_status(volumes) == (200, None)
    assert emulator.faults_remaining() == 0
    faulted = [request for request in emulator.requests if request.fault]
    assert [(request.status, request.error_code, request.fault) for request in faulted] == [
        (status, code, f"status {status}")
    ]


def test_fault_with_custom_code_and_message_hits_count_times(emulator: Emulator, client: ClientFactory) -> None:
    emulator.inject(Fault(status=409, code="Conflict", message="busy", count=2))
    source = emulator.add_backup("volume", SOURCE_REGION, COMPARTMENT_ID)
    volumes = client()

    errors = []
    for _ in range(2):
        with pytest.raises(oci.exceptions.ServiceError) as raised:
            volumes.get_volume_backup(source["id"])
        errors.append((raised.value.status, raised.value.code, raised.value.message))

    assert errors == [(409, "Conflict", "busy")] * 2
    assert volumes.get_volume_backup(source["id"]).status == 200


def test_fault_matches_operation_kind_and_region(emulator: Emulator, client: ClientFactory) -> None:
    emulator.inject(Fault(operation="copy", kind="boot_volume", region=SOURCE_REGION, status=503))
    volume = emulator.add_backup("volume", SOURCE_REGION, COMPARTMENT_ID)
    boot = emulator.add_backup("boot_volume", SOURCE_REGION, COMPARTMENT_ID)
    volumes = client()
    details = {"destination_region": DESTINATION_REGION}

    volumes.get_boot_volume_backup(boot["id"])
    volumes.copy_volume_backup(volume["id"], oci.core.models.CopyVolumeBackupDetails(**details))
    client(DESTINATION_REGION).list_boot_volume_backups(COMPARTMENT_ID)
    assert emulator.faults_remaining() == 1
    with pytest.raises(oci.exceptions.ServiceError) as raised:
        volumes.copy_boot_volume_backup(boot["id"], oci.core.models.CopyBootVolumeBackupDetails(**details))

    assert raised.value.status == 503
    assert emulator.faults_remaining() == 0
    assert emulator.copies_of(boot["id"]) == []


def test_dropped_connection_gets_no_answer(emulator: Emulator, client: ClientFactory) -> None:
    emulator.inject(Fault(operation="list", drop_connection=True))
    volumes = client()

    with pytest.raises(oci.exceptions.RequestException) as raised:
        volumes.list_volume_backups(COMPARTMENT_ID)
    assert "Remote end closed connection without response" in str(raised.value)

    assert volumes.list_volume_backups(COMPARTMENT_ID).status == 200
    dropped = emulator.requests[0]
    assert (dropped.status, dropped.fault, dropped.operation) == (0, "drop connection", "list")


def test_delay_then_normal_or_faulted_answer(emulator: Emulator, client: ClientFactory) -> None:
    emulator.inject(Fault(operation="list", delay_seconds=0.3))
    emulator.inject(Fault(operation="list", delay_seconds=0.2, status=500))
    volumes = client()

    started = time.monotonic()
    assert list_status(volumes) == (200, None)
    assert list_status(volumes) == (500, "InternalServerError")
    elapsed = time.monotonic() - started

    assert elapsed >= 0.5
    assert [request.fault for request in emulator.requests] == ["delay 0.3s", "delay 0.2s, status 500"]


def test_faults_follow_authentication(emulator: Emulator) -> None:
    emulator.inject(Fault(status=500))

    assert send_raw(emulator, "GET", f"/{SOURCE_REGION}/20160918/volumeBackups")[0] == 401
    assert emulator.faults_remaining() == 1


def test_deny_answers_not_found_until_allowed(emulator: Emulator, client: ClientFactory) -> None:
    emulator.deny("copy", region=SOURCE_REGION, kind="volume")
    source = emulator.add_backup("volume", SOURCE_REGION, COMPARTMENT_ID)
    volumes = client()
    details = oci.core.models.CopyVolumeBackupDetails(destination_region=DESTINATION_REGION)

    with pytest.raises(oci.exceptions.ServiceError) as raised:
        volumes.copy_volume_backup(source["id"], details)
    readable = volumes.get_volume_backup(source["id"]).status
    emulator.allow_all()

    assert (raised.value.status, raised.value.code) == (404, "NotAuthorizedOrNotFound")
    assert readable == 200
    assert volumes.copy_volume_backup(source["id"], details).status == 200


def test_fault_needs_an_effect() -> None:
    with pytest.raises(ValueError, match="needs a status"):
        Fault(operation="list")
    with pytest.raises(ValueError, match="operation"):
        Fault(operation="purge", status=500)
