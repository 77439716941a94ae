"""End to end: an event through the real fdk socket, the real SDK and signer, the emulator."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from blockstorage_emulator import Emulator
from local_runtime import samples
from tests.helpers import COMPARTMENT_ID, DESTINATION_REGION, KINDS, SOURCE_REGION, FunctionFactory, event_for

COPY_PATH_SEGMENT = {
    "volume": "volumeBackups",
    "boot_volume": "bootVolumeBackups",
    "volume_group": "volumeGroupBackups",
}


def _copy_requests(emulator: Emulator) -> list[Any]:
    return [r for r in emulator.requests if r.operation == "copy"]


@pytest.mark.parametrize("kind", KINDS)
def test_event_creates_one_signed_copy(
    kind: str, emulator: Emulator, function: FunctionFactory, new_backup: Callable[..., dict[str, Any]]
) -> None:
    backup = new_backup(kind)
    answer = function().invoke(event_for(kind, backup["id"]), call_id="01TESTCALL" + kind.upper())

    assert answer.status == 200, answer.body
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert body["outcome"] == "copied"
    assert body["backupType"] == kind
    assert body["sourceRegion"] == SOURCE_REGION
    [copy] = body["copies"]
    [made] = emulator.copies_of(backup["id"], DESTINATION_REGION)
    assert copy == {
        "destinationRegion": DESTINATION_REGION,
        "outcome": "copied",
        "copyId": made["id"],
        "copyState": "CREATING",
        "opcRequestId": copy["opcRequestId"],
        "marked": True,
        "expires": "never",
    }
    tags = emulator.backup(made["id"])["freeformTags"]
    assert tags["backup-copier-copy"] == made["id"]
    assert tags["backup-copier-source-backup"] == backup["id"]
    assert emulator.backup(backup["id"])["freeformTags"]["backup-copier-copy-in-" + DESTINATION_REGION] == made["id"]
    [request] = _copy_requests(emulator)
    assert request.region == SOURCE_REGION
    assert request.path == f"/20160918/{COPY_PATH_SEGMENT[kind]}/{backup['id']}/actions/copy"
    assert request.status == 200
    assert request.headers["opc-request-id"].startswith("01TESTCALL")
    assert len(request.headers["opc-retry-token"]) == 64
    sent = json.loads(request.body)
    assert sent["destinationRegion"] == DESTINATION_REGION
    assert sent["displayName"] == backup["displayName"]
    # The emulator refuses unsigned requests, so 200s prove the real signer signed them.
    assert all(r.status == 200 for r in emulator.requests)


@pytest.mark.parametrize("kind", KINDS)
def test_redelivered_event_makes_no_second_copy(
    kind: str, emulator: Emulator, function: FunctionFactory, new_backup: Callable[..., dict[str, Any]]
) -> None:
    backup = new_backup(kind)
    event = event_for(kind, backup["id"])
    first = function().invoke(event).json()
    second = function().invoke(event).json()

    assert first["outcome"] == "copied"
    assert second["outcome"] == "already_copied"
    assert second["copies"][0]["copyId"] == first["copies"][0]["copyId"]
    assert second["copies"][0]["copyState"] == "CREATING"
    assert len(emulator.copies_of(backup["id"])) == 1
    assert len(_copy_requests(emulator)) == 1


def test_copy_made_by_someone_else_is_reported(
    emulator: Emulator, function: FunctionFactory, new_backup: Callable[..., dict[str, Any]]
) -> None:
    backup = new_backup("volume_group")
    existing = emulator.add_backup(
        "volume_group", DESTINATION_REGION, COMPARTMENT_ID, source_backup_id=backup["id"], lifecycle_state="AVAILABLE"
    )
    body = function().invoke(event_for("volume_group", backup["id"])).json()
    assert body["outcome"] == "already_copied"
    assert body["copies"][0]["copyId"] == existing["id"]
    assert body["copies"][0]["copyState"] == "AVAILABLE"
    assert not _copy_requests(emulator)


def test_failed_copy_in_destination_is_replaced(
    emulator: Emulator, function: FunctionFactory, new_backup: Callable[..., dict[str, Any]]
) -> None:
    backup = new_backup("volume")
    dead = emulator.add_backup(
        "volume", DESTINATION_REGION, COMPARTMENT_ID, source_backup_id=backup["id"], lifecycle_state="FAULTY"
    )
    body = function().invoke(event_for("volume", backup["id"])).json()
    assert body["outcome"] == "copied"
    assert body["copies"][0]["copyId"] != dead["id"]


def test_every_destination_gets_one_copy(
    emulator: Emulator, function: FunctionFactory, new_backup: Callable[..., dict[str, Any]]
) -> None:
    backup = new_backup("volume")
    key = emulator.add_kms_key("eu-frankfurt-1")
    process = function(DESTINATION_REGION="us-ashburn-1,eu-frankfurt-1", KMS_KEY_ID_EU_FRANKFURT_1=key)
    body = process.invoke(event_for("volume", backup["id"])).json()
    assert body["outcome"] == "copied"
    assert [c["destinationRegion"] for c in body["copies"]] == ["us-ashburn-1", "eu-frankfurt-1"]
    assert len(emulator.copies_of(backup["id"], "us-ashburn-1")) == 1
    [frankfurt] = emulator.copies_of(backup["id"], "eu-frankfurt-1")
    assert frankfurt["kmsKeyId"] == key


def test_failed_backup_event_is_skipped(emulator: Emulator, function: FunctionFactory) -> None:
    answer = function().invoke(samples.load("volume-backup-failed.json"))
    assert answer.status == 200
    body = answer.json()
    assert body["outcome"] == "skipped"
    assert body["reasonCode"] == "BackupFailed"
    assert "operationFailed" in body["reason"]
    assert emulator.requests == []


def test_filtered_event_is_skipped(
    emulator: Emulator, function: FunctionFactory, new_backup: Callable[..., dict[str, Any]]
) -> None:
    backup = new_backup("volume")
    process = function(REQUIRED_FREEFORM_TAG="dr-copy=true")
    body = process.invoke(event_for("volume", backup["id"], freeFormTags={"team": "payments"})).json()
    assert body["outcome"] == "skipped"
    assert body["reasonCode"] == "TagNotPresent"
    assert "dr-copy=true" in body["reason"]
    assert emulator.requests == []


def test_dry_run_reads_but_copies_nothing(
    emulator: Emulator, function: FunctionFactory, new_backup: Callable[..., dict[str, Any]]
) -> None:
    backup = new_backup("volume")
    body = function(DRY_RUN="true").invoke(event_for("volume", backup["id"])).json()
    assert body["outcome"] == "dry_run"
    assert body["copies"][0]["outcome"] == "dry_run"
    assert "would copy" in body["copies"][0]["reason"]
    assert not _copy_requests(emulator)
    assert emulator.copies_of(backup["id"]) == []


def test_manual_request_copies_and_redrives(
    emulator: Emulator, function: FunctionFactory, new_backup: Callable[..., dict[str, Any]]
) -> None:
    backup = new_backup("volume")
    first = function().invoke({"backupId": backup["id"]}).json()
    again = function().invoke({"backupId": backup["id"], "destinationRegions": ["iad"]}).json()
    assert first["outcome"] == "copied"
    assert again["outcome"] == "already_copied"
    assert len(emulator.copies_of(backup["id"])) == 1


def test_backup_still_creating_fails_with_advice(
    emulator: Emulator, function: FunctionFactory, new_backup: Callable[..., dict[str, Any]]
) -> None:
    backup = new_backup("volume", lifecycle_state="CREATING")
    answer = function().invoke(event_for("volume", backup["id"]))
    assert answer.status == 502
    assert answer.json()["reasonCode"] == "BackupNotAvailable"
    assert not _copy_requests(emulator)


def test_missing_backup_fails_with_iam_advice(emulator: Emulator, function: FunctionFactory) -> None:
    missing = "ocid1.volumebackup.oc1.phx." + "q" * 60
    answer = function().invoke(event_for("volume", missing))
    assert answer.status == 502
    body = answer.json()
    assert body["outcome"] == "failed"
    assert body["reasonCode"] == "NotAuthorizedOrNotFound"
    assert "dynamic group" in body["reason"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"not json", "body"),
        (json.dumps({"eventType": "com.oraclecloud.blockvolumes.createvolumebackup.begin"}).encode(), "eventType"),
        (json.dumps({"eventType": "com.example.unknown"}).encode(), "eventType"),
        (json.dumps(event_for("volume", "ocid1.bootvolumebackup.oc1.phx." + "a" * 60)).encode(), "data.resourceId"),
        (json.dumps(event_for("volume", "ocid1.volumebackup.oc1.phx.aaaa/../x")).encode(), "data.resourceId"),
        (json.dumps({k: v for k, v in event_for("volume", "x").items() if k != "data"}).encode(), "data"),
    ],
)
def test_malformed_input_is_rejected_and_nothing_is_sent(
    body: bytes, field: str, emulator: Emulator, function: FunctionFactory, new_backup: Callable[..., dict[str, Any]]
) -> None:
    process = function()
    answer = process.invoke(body)
    assert answer.status == 502
    result = answer.json()
    assert result["outcome"] == "rejected"
    assert result["reason"].startswith(field + ":")
    assert emulator.requests == []
    # The same process goes on serving valid events.
    backup = new_backup("volume")
    assert process.invoke(event_for("volume", backup["id"])).json()["outcome"] == "copied"


def test_bad_setting_names_the_key_and_sends_nothing(emulator: Emulator, function: FunctionFactory) -> None:
    process = function(DESTINATION_REGION="us-phoenix-1")
    answer = process.invoke(samples.load("volume-backup-completed.json"))
    assert answer.status == 502
    body = answer.json()
    assert body["outcome"] == "failed"
    assert body["reasonCode"] == "InvalidSetting"
    assert body["reason"].startswith("DESTINATION_REGION:")
    assert emulator.requests == []


def test_missing_setting_names_the_key(emulator: Emulator, function: FunctionFactory) -> None:
    answer = function(DESTINATION_REGION=None).invoke(samples.load("volume-backup-completed.json"))
    assert answer.json()["reason"].startswith("DESTINATION_REGION: is required")
    assert emulator.requests == []


def test_one_log_line_per_invocation_with_the_same_facts(
    function: FunctionFactory, new_backup: Callable[..., dict[str, Any]], principal: Any
) -> None:
    process = function(DISPLAY_NAME_TEMPLATE="{source_name} (log test)")
    backup = new_backup("volume")
    answers = [process.invoke(event_for("volume", backup["id"])).json() for _ in range(2)]
    answers.append(process.invoke(b"{").json())
    lines = process.log_lines()[-3:]
    assert [line["outcome"] for line in lines] == ["copied", "already_copied", "rejected"]
    for line, answer in zip(lines, answers, strict=True):
        assert {key: line[key] for key in answer if key != "durationMs"} == {
            key: value for key, value in answer.items() if key != "durationMs"
        }
        assert line["service"] == "backup-copier"
        assert line["level"] == ("ERROR" if answer["outcome"] == "rejected" else "INFO")
    log = process.stderr()
    assert principal.token not in log
    assert "Signature" not in log and "BEGIN" not in log
    # Nothing but the structured lines: the SDK's and urllib3's chatter (the fdk sets the root
    # logger to DEBUG) stays out of the function's log, from the cold start on.
    assert [line for line in log.splitlines() if line.strip() and '"service":"backup-copier"' not in line] == []


def test_boot_volume_backup_goes_to_one_region_at_a_time(
    emulator: Emulator, function: FunctionFactory, new_backup: Callable[..., dict[str, Any]]
) -> None:
    """OCI copies a boot volume's backups one at a time: the second region is deferred at
    once with a reason, not retried against LimitExceeded until the deadline."""
    backup = new_backup("boot_volume")
    process = function(DESTINATION_REGION="us-ashburn-1,eu-frankfurt-1")
    event = event_for("boot_volume", backup["id"])
    first = process.invoke(event)
    body = first.json()
    assert first.status == 502
    assert [c["outcome"] for c in body["copies"]] == ["copied", "failed"]
    assert body["copies"][1]["reasonCode"] == "BootVolumeCopyInProgress"
    assert "us-ashburn-1 is still in progress" in body["reason"]
    assert body["retries"] == 0
    assert len(_copy_requests(emulator)) == 1

    emulator.complete_copies()
    again = process.invoke(event).json()
    assert [c["outcome"] for c in again["copies"]] == ["already_copied", "copied"]
    assert len(emulator.copies_of(backup["id"], "eu-frankfurt-1")) == 1
    assert len(emulator.copies_of(backup["id"], "us-ashburn-1")) == 1
