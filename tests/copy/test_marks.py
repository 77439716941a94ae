"""Each copy is marked as this function's right after it is made; a mark that cannot be written is said, and mended later."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from blockstorage_emulator import Emulator, Fault
from tests.helpers import (
    DESTINATION_REGION,
    MARK_COPY,
    MARK_EXPIRES,
    MARK_SOURCE_BACKUP,
    MARK_SOURCE_CREATED,
    MARK_SOURCE_RESOURCE,
    SOURCE_REGION,
    FunctionFactory,
    event_for,
    new_compartment,
    rfc3339,
)

RECORD = "backup-copier-copy-in-" + DESTINATION_REGION


def _copy(function: FunctionFactory, backup: dict[str, Any], deadline: float = 30.0, **settings: str) -> dict[str, Any]:
    event = event_for("volume", backup["id"], compartmentId=backup["compartmentId"])
    answer = function(**settings).invoke(event, deadline_seconds=deadline)
    body: dict[str, Any] = answer.json()
    return body


def test_the_mark_keeps_the_tags_oci_carried_over_and_names_the_copy(
    emulator: Emulator, function: FunctionFactory
) -> None:
    compartment = new_compartment()
    backup = emulator.add_backup(
        "volume", SOURCE_REGION, compartment, freeform_tags={"team": "db", "backup-copier-copy-in-eu-frankfurt-1": "x"}
    )
    [copy] = _copy(function, backup)["copies"]
    tags = emulator.backup(copy["copyId"])["freeformTags"]
    assert tags == {
        "team": "db",  # the source's tag, which OCI copied with the backup, kept
        MARK_COPY: copy["copyId"],
        MARK_SOURCE_BACKUP: backup["id"],
        MARK_SOURCE_RESOURCE: backup["volumeId"],
        MARK_SOURCE_CREATED: rfc3339_of(backup["timeCreated"]),
        MARK_EXPIRES: "never",
    }, "this function's own keys inherited from the source are dropped"
    assert emulator.backup(backup["id"])["freeformTags"][RECORD] == copy["copyId"]


def rfc3339_of(api_time: str) -> str:
    return rfc3339(datetime.fromisoformat(api_time.replace("Z", "+00:00")))


def test_a_refused_update_is_retried_within_the_deadline(emulator: Emulator, function: FunctionFactory) -> None:
    backup = emulator.add_backup("volume", SOURCE_REGION, new_compartment())
    for status, code in ((409, "IncorrectState"), (429, None), (503, None)):
        emulator.inject(Fault("update", region=DESTINATION_REGION, status=status, code=code))

    body = _copy(function, backup)
    [copy] = body["copies"]
    assert copy["marked"] is True
    assert body["retriedErrors"]["409 IncorrectState"] == 1
    assert emulator.backup(copy["copyId"])["freeformTags"][MARK_COPY] == copy["copyId"]


def test_a_copy_that_cannot_be_marked_is_answered_unmarked_and_the_sweep_marks_it_later(
    emulator: Emulator, function: FunctionFactory
) -> None:
    compartment = new_compartment()
    backup = emulator.add_backup("volume", SOURCE_REGION, compartment)
    # Refused for longer than the mark may take (here, the few seconds the deadline leaves):
    # the copy is made, the mark is not.
    emulator.inject(Fault("update", region=DESTINATION_REGION, count=1000, status=409, code="IncorrectState"))

    body = _copy(function, backup, deadline=6.0)
    [copy] = body["copies"]
    assert body["outcome"] == "copied"
    assert copy["marked"] is False
    assert copy["markReasonCode"] == "IncorrectState"
    assert "next reconcile sweep marks it" in copy["markReason"]
    assert MARK_COPY not in emulator.backup(copy["copyId"])["freeformTags"]
    # The source records the copy, which is how a later run knows the copy is this function's.
    assert emulator.backup(backup["id"])["freeformTags"][RECORD] == copy["copyId"]

    emulator.clear_faults()
    emulator.complete_copies()
    swept = function().invoke({"action": "reconcile", "compartmentId": compartment}).json()
    assert swept["marked"] == [
        {"backupId": backup["id"], "destinationRegion": DESTINATION_REGION, "copyId": copy["copyId"]}
    ]
    assert emulator.backup(copy["copyId"])["freeformTags"][MARK_COPY] == copy["copyId"]
    again = function().invoke({"action": "reconcile", "compartmentId": compartment}).json()
    assert again["marked"] == []


def test_redelivered_event_marks_a_copy_its_first_delivery_could_not(
    emulator: Emulator, function: FunctionFactory
) -> None:
    backup = emulator.add_backup("volume", SOURCE_REGION, new_compartment())
    emulator.deny("update", region=DESTINATION_REGION)
    first = _copy(function, backup)
    emulator.allow_all()
    second = _copy(function, backup)

    assert first["copies"][0]["marked"] is False
    assert second["outcome"] == "already_copied"
    assert second["copies"][0]["marked"] is True
    assert second["copies"][0]["copyId"] == first["copies"][0]["copyId"]


def test_without_any_record_a_copy_stays_unmarked_and_is_never_deleted(
    emulator: Emulator, function: FunctionFactory
) -> None:
    compartment = new_compartment()
    backup = emulator.add_backup("volume", SOURCE_REGION, compartment)
    emulator.deny("update")

    [copy] = _copy(function, backup, COPY_RETENTION_DAYS="1")["copies"]
    assert copy["marked"] is False
    assert "never be deleted" in copy["markReason"]
    emulator.allow_all()
    emulator.complete_copies()
    swept = function().invoke({"action": "reconcile", "compartmentId": compartment}).json()
    assert swept["marked"] == []  # nothing says this function made it
    expired = function().invoke({"action": "expire", "compartmentId": compartment}).json()
    assert expired["kept"] == {"NotMarked": 1}
    assert emulator.backup(copy["copyId"])["lifecycleState"] == "AVAILABLE"


def test_dry_run_marks_nothing(emulator: Emulator, function: FunctionFactory) -> None:
    backup = emulator.add_backup("volume", SOURCE_REGION, new_compartment())
    _copy(function, backup, DRY_RUN="true")
    assert [r for r in emulator.requests if r.operation == "update"] == []


def test_a_defined_tag_joins_the_mark_when_configured_and_other_namespaces_stay(
    emulator: Emulator, function: FunctionFactory
) -> None:
    backup = emulator.add_backup("volume", SOURCE_REGION, new_compartment())
    copy_id = _copy(function, backup, MARK_DEFINED_TAG="backup_copier.managed")["copies"][0]["copyId"]
    assert emulator.backup(copy_id)["definedTags"] == {"backup_copier": {"managed": "backup-copier"}}
    # The source's own defined tags are only ever read, never rewritten.
    assert emulator.backup(backup["id"])["definedTags"] == {}


def test_a_bad_defined_tag_setting_is_named(emulator: Emulator, function: FunctionFactory) -> None:
    backup = emulator.add_backup("volume", SOURCE_REGION, new_compartment())
    body = _copy(function, backup, MARK_DEFINED_TAG="no-key")
    assert body["reasonCode"] == "InvalidSetting"
    assert body["reason"].startswith("MARK_DEFINED_TAG:")
    assert emulator.requests == []
