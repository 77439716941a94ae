"""Copy expiry end to end: the real fdk socket, SDK and signer against the emulator.

Each safety rule of docs/retention.md has its own test here; each test seeds its own
compartment, so the session's shared emulator never shows one test another's copies.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backup_copier.dispatch import parse_request
from backup_copier.expire.request import ExpireRequest
from blockstorage_emulator import Emulator, Fault
from local_runtime import samples
from local_runtime.fdk_process import FunctionProcess
from tests.helpers import (
    DESTINATION_REGION,
    MARK_COPY,
    MARK_EXPIRES,
    SOURCE_REGION,
    FunctionFactory,
    event_for,
    new_compartment,
    seed_copy,
)

PAST = datetime.now(UTC) - timedelta(days=2)
FUTURE = datetime.now(UTC) + timedelta(days=30)


def _expire(process: FunctionProcess, compartment: str, deadline: float = 30.0, **fields: Any) -> dict[str, Any]:
    answer = process.invoke({"action": "expire", "compartmentId": compartment, **fields}, deadline_seconds=deadline)
    result: dict[str, Any] = answer.json()
    assert answer.status == (502 if result["outcome"] in ("failed", "rejected") else 200), result
    return result


def _deleted(body: dict[str, Any]) -> list[str]:
    return [entry["copyId"] for entry in body["deleted"]]


def _state(emulator: Emulator, backup_id: str) -> str:
    return str(emulator.backup(backup_id)["lifecycleState"])


def _deletes(emulator: Emulator) -> list[str]:
    return [request.path.rsplit("/", 1)[1] for request in emulator.requests if request.operation == "delete"]


def test_policy_backup_copied_then_expired_with_its_source(emulator: Emulator, function: FunctionFactory) -> None:
    """The whole life: an event copies a policy backup, the mark carries its expiry, expire deletes it."""
    compartment = new_compartment()
    volume = "ocid1.volume.oc1.phx." + "a" * 60
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    old = emulator.add_backup(
        "volume",
        SOURCE_REGION,
        compartment,
        volume_id=volume,
        source_type="SCHEDULED",
        expiration_time=expires,
        time_created=datetime.now(UTC) - timedelta(days=1),
    )
    new = emulator.add_backup(
        "volume", SOURCE_REGION, compartment, volume_id=volume, source_type="SCHEDULED", expiration_time=FUTURE
    )
    copied = [function().invoke(event_for("volume", b["id"], compartmentId=compartment)).json() for b in (old, new)]
    assert [c["copies"][0]["expires"] for c in copied] == [
        expires.isoformat().replace("+00:00", "Z"),
        FUTURE.replace(microsecond=0).isoformat().replace("+00:00", "Z"),
    ]
    assert all(c["copies"][0]["marked"] for c in copied)
    emulator.complete_copies()
    old_copy = copied[0]["copies"][0]["copyId"]

    early = _expire(function(), compartment)
    assert early["outcome"] == "skipped" and early["reasonCode"] == "NothingExpired"
    assert early["kept"] == {"NotExpired": 2}

    time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.5)
    body = _expire(function(), compartment)
    assert body["outcome"] == "expired"
    assert body["deleted"] == [
        {
            "copyId": old_copy,
            "destinationRegion": DESTINATION_REGION,
            "kind": "volume",
            "sourceBackupId": old["id"],
            "expires": expires.isoformat().replace("+00:00", "Z"),
        }
    ]
    assert _state(emulator, old_copy) == "TERMINATING"
    assert _state(emulator, old["id"]) == "AVAILABLE", "a source backup is never deleted"
    assert _deletes(emulator) == [old_copy]


def test_copy_retention_days_sets_the_expiry_of_a_manual_backup(emulator: Emulator, function: FunctionFactory) -> None:
    compartment = new_compartment()
    volume = "ocid1.volume.oc1.phx." + "b" * 60
    created = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    process = function(COPY_RETENTION_DAYS="2")
    answers = []
    # Each copied as it arrives, while it is its volume's newest backup: the older one's copy
    # expires on arrival, and only keep-last lets it be made (backups/arrival.py).
    for time_created in (created, None):
        backup = emulator.add_backup("volume", SOURCE_REGION, compartment, volume_id=volume, time_created=time_created)
        answers.append(process.invoke(event_for("volume", backup["id"], compartmentId=compartment)).json())
    assert answers[0]["copies"][0]["expires"] == (created + timedelta(days=2)).isoformat().replace("+00:00", "Z")
    emulator.complete_copies()

    body = _expire(process, compartment)
    assert _deleted(body) == [answers[0]["copies"][0]["copyId"]]
    # Without the setting, a manual backup's copy never expires, like any manual backup.
    plain = (
        function()
        .invoke(
            event_for(
                "volume", emulator.add_backup("volume", SOURCE_REGION, compartment)["id"], compartmentId=compartment
            )
        )
        .json()
    )
    assert plain["copies"][0]["expires"] == "never"


def test_keep_last_protects_the_newest_available_copies_of_each_volume(
    emulator: Emulator, function: FunctionFactory
) -> None:
    compartment = new_compartment()
    volume = "ocid1.volume.oc1.phx." + "c" * 60
    copies = [seed_copy(emulator, compartment, hours_ago=100 - i, expires=PAST, volume_id=volume)[1] for i in range(4)]
    # A volume whose only copy expired long ago still keeps it: backups stopped, DR must not go empty.
    lonely = seed_copy(emulator, compartment, expires=PAST - timedelta(days=300))[1]

    body = _expire(function(KEEP_LAST_COPIES="2"), compartment)
    assert sorted(_deleted(body)) == sorted(c["id"] for c in copies[:2])
    assert body["kept"]["KeepLast"] == 3
    assert [_state(emulator, c["id"]) for c in copies] == ["TERMINATING", "TERMINATING", "AVAILABLE", "AVAILABLE"]
    assert _state(emulator, lonely["id"]) == "AVAILABLE"


def test_keep_last_counts_only_available_copies(emulator: Emulator, function: FunctionFactory) -> None:
    compartment = new_compartment()
    volume = "ocid1.volume.oc1.phx." + "d" * 60
    good = seed_copy(emulator, compartment, hours_ago=50, expires=PAST, volume_id=volume)[1]
    faulty = seed_copy(emulator, compartment, hours_ago=10, expires=PAST, volume_id=volume, state="FAULTY")[1]

    body = _expire(function(), compartment)
    # The newer copy is broken, so the older AVAILABLE one is the volume's last usable copy.
    assert _deleted(body) == [faulty["id"]]
    assert _state(emulator, good["id"]) == "AVAILABLE"


def test_only_marked_copies_are_ever_deleted(emulator: Emulator, function: FunctionFactory) -> None:
    """Unmarked, policy-made and hand-made copies, and a hand copy of a marked copy, all stay."""
    compartment = new_compartment()
    volume = "ocid1.volume.oc1.phx." + "e" * 60
    newest = seed_copy(emulator, compartment, hours_ago=1, expires=FUTURE, volume_id=volume)[1]
    unmarked = seed_copy(emulator, compartment, hours_ago=90, volume_id=volume, marked=False)[1]
    policy_copy = seed_copy(
        emulator, compartment, hours_ago=80, volume_id=volume, marked=False, tags={"Oracle-Tags": "policy"}
    )[1]
    ours = seed_copy(emulator, compartment, hours_ago=70, expires=PAST, volume_id=volume)[1]
    # Someone copies our marked copy onwards by hand: OCI carries its tags, mark included.
    hand_copy = emulator.add_backup(
        "volume",
        DESTINATION_REGION,
        compartment,
        source_backup_id=ours["id"],
        volume_id=volume,
        freeform_tags=dict(ours["freeformTags"]),
    )
    # A source backup that lives in the destination region, carrying tags that look like a mark.
    local_source = emulator.add_backup(
        "volume",
        DESTINATION_REGION,
        compartment,
        volume_id=volume,
        freeform_tags={MARK_COPY: "x", MARK_EXPIRES: "2000-01-01T00:00:00Z"},
    )

    body = _expire(function(), compartment)
    assert _deleted(body) == [ours["id"]]
    assert body["kept"]["NotMarked"] == 2  # the unmarked and the policy's copy
    assert body["kept"]["MarkInvalid"] == 2  # the hand copy and the local backup: marks naming others
    for stays in (newest, unmarked, policy_copy, hand_copy, local_source):
        assert _state(emulator, stays["id"]) == "AVAILABLE"
    assert _deletes(emulator) == [ours["id"]]


def test_a_lost_source_never_deletes_its_copy(emulator: Emulator, function: FunctionFactory) -> None:
    compartment = new_compartment()
    volume = "ocid1.volume.oc1.phx." + "f" * 60
    source, copy = seed_copy(emulator, compartment, hours_ago=30, expires=FUTURE, volume_id=volume)
    older_source, older_copy = seed_copy(emulator, compartment, hours_ago=60, expires=FUTURE, volume_id=volume)
    emulator.set_lifecycle_state(source["id"], "TERMINATED")
    emulator.set_lifecycle_state(older_source["id"], "TERMINATING")

    body = _expire(function(), compartment)
    assert body["deleted"] == []
    assert body["kept"]["NotExpired"] == 2
    assert _state(emulator, copy["id"]) == _state(emulator, older_copy["id"]) == "AVAILABLE"


def test_a_copy_in_progress_is_never_deleted(emulator: Emulator, function: FunctionFactory) -> None:
    compartment = new_compartment()
    volume = "ocid1.volume.oc1.phx." + "g" * 60
    seed_copy(emulator, compartment, hours_ago=1, expires=FUTURE, volume_id=volume)
    creating = [
        seed_copy(emulator, compartment, hours_ago=50 + i, expires=PAST, volume_id=volume, state=state)[1]
        for i, state in enumerate(("CREATING", "REQUEST_RECEIVED"))
    ]

    body = _expire(function(), compartment)
    assert body["deleted"] == []
    assert body["kept"]["InProgress"] == 2
    assert all(_state(emulator, c["id"]) == c["lifecycleState"] for c in creating)
    assert _deletes(emulator) == []


def test_a_volume_group_copy_is_deleted_whole_and_its_members_never_alone(
    emulator: Emulator, function: FunctionFactory
) -> None:
    compartment = new_compartment()
    group = "ocid1.volumegroup.oc1.phx." + "h" * 60
    seed_copy(emulator, compartment, "volume_group", hours_ago=1, expires=FUTURE, volume_id=group)
    _, expired = seed_copy(emulator, compartment, "volume_group", hours_ago=40, expires=PAST, volume_id=group)
    assert len(expired["volumeBackupIds"]) == 2

    body = _expire(function(), compartment)
    assert _deleted(body) == [expired["id"]]
    assert body["kept"]["VolumeGroupMember"] == 4
    assert _deletes(emulator) == [expired["id"]], "only the group is asked to be deleted"
    assert [_state(emulator, member) for member in expired["volumeBackupIds"]] == ["TERMINATING"] * 2


def test_dry_run_lists_what_would_be_deleted_and_deletes_nothing(emulator: Emulator, function: FunctionFactory) -> None:
    compartment = new_compartment()
    volume = "ocid1.volume.oc1.phx." + "i" * 60
    seed_copy(emulator, compartment, hours_ago=1, expires=FUTURE, volume_id=volume)
    due = [
        seed_copy(emulator, compartment, hours_ago=20 + i, expires=PAST - timedelta(hours=i), volume_id=volume)[1]
        for i in range(3)
    ]

    for body in (_expire(function(), compartment, dryRun=True), _expire(function(DRY_RUN="true"), compartment)):
        assert body["outcome"] == "dry_run"
        # Oldest expiry first.
        assert [entry["copyId"] for entry in body["planned"]] == [c["id"] for c in reversed(due)]
        assert body["deleted"] == []
    assert _deletes(emulator) == []
    assert all(_state(emulator, c["id"]) == "AVAILABLE" for c in due)


def test_two_expiry_runs_at_once_converge(emulator: Emulator, function: FunctionFactory) -> None:
    compartment = new_compartment()
    volume = "ocid1.volume.oc1.phx." + "j" * 60
    seed_copy(emulator, compartment, hours_ago=1, expires=FUTURE, volume_id=volume)
    due = [seed_copy(emulator, compartment, hours_ago=10 + i, expires=PAST, volume_id=volume)[1] for i in range(6)]
    answers: list[dict[str, Any]] = []
    with FunctionProcess(function().environment) as twin:
        threads = [
            threading.Thread(target=lambda process=process: answers.append(_expire(process, compartment)))
            for process in (function(), twin)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    # Neither run fails on the other's deletions, and together they deleted every due copy.
    assert [answer["failed"] for answer in answers] == [[], []], answers
    assert set(_deleted(answers[0])) | set(_deleted(answers[1])) == {c["id"] for c in due}
    assert all(_state(emulator, c["id"]) == "TERMINATING" for c in due)


@pytest.mark.parametrize(
    "fault",
    [Fault("delete", status=429), Fault("delete", status=503), Fault("get", status=500)],
    ids=["delete-429", "delete-503", "get-500"],
)
def test_transient_faults_during_delete_are_retried(
    fault: Fault, emulator: Emulator, function: FunctionFactory
) -> None:
    compartment = new_compartment()
    volume = "ocid1.volume.oc1.phx." + "k" * 60
    seed_copy(emulator, compartment, hours_ago=1, expires=FUTURE, volume_id=volume)
    due = seed_copy(emulator, compartment, hours_ago=20, expires=PAST, volume_id=volume)[1]
    emulator.inject(fault)
    emulator.inject(fault)

    body = _expire(function(), compartment)
    assert _deleted(body) == [due["id"]]
    assert body["retries"] >= 2
    assert emulator.faults_remaining() == 0


def test_a_copy_already_being_deleted_counts_as_deleted(emulator: Emulator, function: FunctionFactory) -> None:
    compartment = new_compartment()
    volume = "ocid1.volume.oc1.phx." + "l" * 60
    seed_copy(emulator, compartment, hours_ago=1, expires=FUTURE, volume_id=volume)
    due = seed_copy(emulator, compartment, hours_ago=20, expires=PAST, volume_id=volume)[1]
    first = _expire(function(), compartment, dryRun=True)
    assert [entry["copyId"] for entry in first["planned"]] == [due["id"]]
    emulator.set_lifecycle_state(due["id"], "TERMINATING")
    body = _expire(function(), compartment)
    assert body["deleted"] == [] and body["failed"] == []  # TERMINATING when listed: nothing to do
    # Another run deletes it between this run's listing and its read: the read shows TERMINATING.
    emulator.set_lifecycle_state(due["id"], "AVAILABLE")
    emulator.inject(Fault("get", region=DESTINATION_REGION, delay_seconds=0.3))
    racer = threading.Timer(0.15, lambda: emulator.set_lifecycle_state(due["id"], "TERMINATING"))
    racer.start()
    raced = _expire(function(), compartment)
    racer.join()
    assert _deleted(raced) == [due["id"]] and raced["failed"] == []
    assert _deletes(emulator) == [], "a copy seen TERMINATING is not asked to be deleted again"


def test_incorrect_state_on_delete_fails_that_copy_and_the_next_run_deletes_it(
    emulator: Emulator, function: FunctionFactory
) -> None:
    compartment = new_compartment()
    volume = "ocid1.volume.oc1.phx." + "r" * 60
    seed_copy(emulator, compartment, hours_ago=1, expires=FUTURE, volume_id=volume)
    due = seed_copy(emulator, compartment, hours_ago=20, expires=PAST, volume_id=volume)[1]
    emulator.inject(Fault("delete", status=409, code="IncorrectState"))

    body = _expire(function(), compartment)
    assert body["outcome"] == "failed" and body["deleted"] == []
    [failure] = body["failed"]
    assert (failure["copyId"], failure["reasonCode"]) == (due["id"], "IncorrectState")
    assert _state(emulator, due["id"]) == "AVAILABLE"
    assert _deleted(_expire(function(), compartment)) == [due["id"]]


def test_missing_delete_permission_fails_with_advice_and_reports_nothing_deleted(
    emulator: Emulator, function: FunctionFactory
) -> None:
    compartment = new_compartment()
    volume = "ocid1.volume.oc1.phx." + "m" * 60
    seed_copy(emulator, compartment, hours_ago=1, expires=FUTURE, volume_id=volume)
    due = seed_copy(emulator, compartment, hours_ago=20, expires=PAST, volume_id=volume)[1]
    emulator.deny("delete", region=DESTINATION_REGION)

    body = _expire(function(), compartment)
    assert body["outcome"] == "failed"
    assert body["deleted"] == []
    [failure] = body["failed"]
    assert failure["copyId"] == due["id"]
    assert failure["reasonCode"] == "NotAuthorizedOrNotFound"
    assert "deploy_kit policies" in failure["reason"]
    assert _state(emulator, due["id"]) == "AVAILABLE"


def test_max_deletes_and_the_deadline_stop_a_run_and_the_next_run_resumes(
    emulator: Emulator, function: FunctionFactory
) -> None:
    compartment = new_compartment()
    volume = "ocid1.volume.oc1.phx." + "n" * 60
    seed_copy(emulator, compartment, hours_ago=1, expires=FUTURE, volume_id=volume)
    due = [
        seed_copy(emulator, compartment, hours_ago=10 + i, expires=PAST - timedelta(hours=i), volume_id=volume)[1]
        for i in range(7)
    ]
    oldest_first = [c["id"] for c in reversed(due)]

    first = _expire(function(), compartment, maxDeletes=3)
    assert _deleted(first) == oldest_first[:3]
    assert (first["stoppedEarly"], first["remaining"]) == ("max_deletes", 4)

    # Each delete is slowed so that the deadline cuts the next run short.
    emulator.inject(Fault("delete", count=10, delay_seconds=0.6))
    second = _expire(function(), compartment, deadline=4.5)
    assert second["outcome"] == "expired"
    assert second["stoppedEarly"] == "deadline"
    assert 1 <= len(second["deleted"]) < 4
    assert _deleted(second) == oldest_first[3 : 3 + len(second["deleted"])]
    emulator.clear_faults()

    third = _expire(function(), compartment)
    assert _deleted(third) == oldest_first[3 + len(second["deleted"]) :]
    assert third["remaining"] == 0
    assert all(_state(emulator, c["id"]) == "TERMINATING" for c in due)


def test_an_operator_keeps_a_copy_by_editing_its_expiry_tag(emulator: Emulator, function: FunctionFactory) -> None:
    compartment = new_compartment()
    volume = "ocid1.volume.oc1.phx." + "o" * 60
    seed_copy(emulator, compartment, hours_ago=1, expires=FUTURE, volume_id=volume)
    kept_longer = seed_copy(emulator, compartment, hours_ago=20, expires=PAST, volume_id=volume)[1]
    kept_forever = seed_copy(emulator, compartment, hours_ago=30, expires=PAST, volume_id=volume)[1]
    untagged = seed_copy(emulator, compartment, hours_ago=40, expires=PAST, volume_id=volume)[1]
    _retag(emulator, kept_longer, {MARK_EXPIRES: "2999-01-01T00:00:00Z"})
    _retag(emulator, kept_forever, {MARK_EXPIRES: "never"})
    _retag(emulator, untagged, {MARK_EXPIRES: None})

    body = _expire(function(), compartment)
    assert body["deleted"] == []
    assert body["kept"]["NeverExpires"] == 2 and body["kept"]["NotExpired"] == 2


def _retag(emulator: Emulator, backup: dict[str, Any], changes: dict[str, str | None]) -> None:
    """What an operator does in the console: edit the copy's freeform tags."""
    tags = {**backup["freeformTags"], **{k: v for k, v in changes.items() if v is not None}}
    for key, value in changes.items():
        if value is None:
            tags.pop(key)
    emulator.set_freeform_tags(backup["id"], tags)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"compartmentId": "ocid1.volume.oc1..aaaaaaaa"}, "compartmentId"),
        ({"maxDeletes": 0}, "maxDeletes"),
        ({"maxDeletes": 1001}, "maxDeletes"),
        ({"maxDeletes": "5"}, "maxDeletes"),
        ({"dryRun": "yes"}, "dryRun"),
        ({"destinationRegions": ["atlantis"]}, "destinationRegions"),
        ({"destinationRegions": [SOURCE_REGION]}, "destinationRegions"),
        ({"olderThan": 3}, "olderThan"),
    ],
)
def test_bad_input_is_rejected_naming_the_field_and_nothing_is_deleted(
    fields: dict[str, Any], field: str, emulator: Emulator, function: FunctionFactory
) -> None:
    compartment = new_compartment()
    volume = "ocid1.volume.oc1.phx." + "p" * 60
    seed_copy(emulator, compartment, hours_ago=1, expires=FUTURE, volume_id=volume)
    seed_copy(emulator, compartment, hours_ago=20, expires=PAST, volume_id=volume)
    body = _expire(function(), compartment, **fields)
    assert body["outcome"] == "rejected"
    assert body["reason"].startswith(f"{field}:")
    assert _deletes(emulator) == []


@pytest.mark.parametrize(
    ("setting", "value"),
    [("KEEP_LAST_COPIES", "0"), ("COPY_RETENTION_DAYS", "1.5"), ("COPY_RETENTION_DAYS", "-1")],
)
def test_bad_settings_name_the_key_and_nothing_is_deleted(
    setting: str, value: str, emulator: Emulator, function: FunctionFactory
) -> None:
    compartment = new_compartment()
    volume = "ocid1.volume.oc1.phx." + "q" * 60
    seed_copy(emulator, compartment, hours_ago=1, expires=FUTURE, volume_id=volume)
    seed_copy(emulator, compartment, hours_ago=20, expires=PAST, volume_id=volume)
    body = _expire(function(**{setting: value}), compartment)
    assert body["outcome"] == "failed" and body["reasonCode"] == "InvalidSetting"
    assert body["reason"].startswith(f"{setting}:")
    assert emulator.requests == []


def test_the_sample_body_is_a_valid_expiry_request() -> None:
    request = parse_request(json.dumps(samples.load("expire.json")).encode())
    assert isinstance(request, ExpireRequest)
    assert (request.destination_regions, request.max_deletes, request.dry_run) == (("us-ashburn-1",), 50, False)
