"""No copy that expires on arrival (issue 22, finding 2), through the fdk socket.

With COPY_RETENTION_DAYS_US_ASHBURN_1=3, a 4-day-old backup's copy would be past its expiry
before it was made: the expiry pass would delete it and the next sweep copy it again, a full
cross-region transfer on every round. It is skipped (ExpiresOnArrival), by the sweep and by the
event path alike, unless it is its volume's newest backup, whose copy keep-last keeps.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from blockstorage_emulator import Emulator
from local_runtime.fdk_process import FunctionProcess
from tests.helpers import (
    DESTINATION_REGION,
    FunctionFactory,
    copies_requested,
    event_for,
    new_compartment,
    seed_backup,
)

RETENTION = {"COPY_RETENTION_DAYS_US_ASHBURN_1": "3"}


def _volume(letter: str) -> str:
    return "ocid1.volume.oc1.phx." + letter * 60


def _invoke(process: FunctionProcess, body: dict[str, Any]) -> dict[str, Any]:
    answer = process.invoke(body)
    result: dict[str, Any] = answer.json()
    assert answer.status == 200, result
    return result


def test_the_sweep_never_copies_what_would_expire_on_arrival_and_never_copies_twice(
    emulator: Emulator, function: FunctionFactory
) -> None:
    compartment = new_compartment()
    process = function(**RETENTION)
    older = seed_backup(emulator, compartment, "volume", hours_ago=110, volume_id=_volume("a"))
    newest = seed_backup(emulator, compartment, "volume", hours_ago=100, volume_id=_volume("a"))
    other_old = seed_backup(emulator, compartment, "volume", hours_ago=96, volume_id=_volume("b"))
    fresh = seed_backup(emulator, compartment, "volume", hours_ago=10, volume_id=_volume("b"))
    sweep = {"action": "reconcile", "compartmentId": compartment}

    first = _invoke(process, sweep)
    # The volume's newest backup is copied though its copy is already past its expiry: keep-last keeps it.
    assert [entry["backupId"] for entry in first["copied"]] == [newest["id"], fresh["id"]]
    assert first["copied"][0]["expires"] < datetime.now(UTC).isoformat()
    assert first["skippedByReason"] == {"ExpiresOnArrival": 2}  # older and other_old
    assert (first["outcome"], first["remaining"], first["failed"]) == ("copied", 0, [])
    emulator.complete_copies()

    expired = _invoke(process, {"action": "expire", "compartmentId": compartment})
    assert expired["deleted"] == []
    assert expired["kept"] == {"KeepLast": 1, "NotExpired": 1}

    again = _invoke(process, sweep)
    assert (again["outcome"], again["copied"], again["alreadyCopied"]) == ("already_copied", [], 2)
    assert again["skippedByReason"] == {"ExpiresOnArrival": 2}
    assert copies_requested(emulator) == [newest["id"], fresh["id"]], "no copy was ever asked for twice"
    for skipped in (older, other_old):
        assert emulator.copies_of(skipped["id"]) == []


def test_the_event_path_gives_the_same_answer_and_asks_only_when_the_expiry_is_past(
    emulator: Emulator, function: FunctionFactory
) -> None:
    compartment = new_compartment()
    process = function(**RETENTION)
    volume = _volume("c")
    older = seed_backup(emulator, compartment, "volume", hours_ago=110, volume_id=volume)
    newest = seed_backup(emulator, compartment, "volume", hours_ago=100, volume_id=volume)
    fresh = seed_backup(emulator, compartment, "volume", hours_ago=10)

    for body in (event_for("volume", older["id"], compartmentId=compartment), {"backupId": older["id"]}):
        emulator.clear_requests()
        answer = _invoke(process, body)
        [copy] = answer["copies"]
        assert (answer["outcome"], answer["reasonCode"]) == ("skipped", "ExpiresOnArrival")
        assert (copy["outcome"], copy["reasonCode"]) == ("skipped", "ExpiresOnArrival")
        assert "COPY_RETENTION_DAYS_US_ASHBURN_1=3" in copy["reason"]
        assert "lengthen COPY_RETENTION_DAYS_US_ASHBURN_1" in copy["reason"]
        # The destination's check, then one list of the volume's newest backups in the source region.
        lists = [(r.region, r.query) for r in emulator.requests if r.operation == "list"]
        assert len(lists) == 2
        assert lists[1][0] != DESTINATION_REGION
        assert (lists[1][1]["volumeId"], lists[1][1]["sortOrder"], lists[1][1]["limit"]) == (volume, "DESC", "1")
    assert copies_requested(emulator) == []

    emulator.clear_requests()
    copied = _invoke(process, event_for("volume", newest["id"], compartmentId=compartment))
    assert copied["outcome"] == "copied", "the volume's newest backup is copied, expired or not"
    assert copied["copies"][0]["expires"] < datetime.now(UTC).isoformat()

    emulator.clear_requests()
    assert _invoke(process, event_for("volume", fresh["id"], compartmentId=compartment))["outcome"] == "copied"
    # A copy that will not expire on arrival costs no extra call: the destination's check only.
    assert [r.operation for r in emulator.requests if r.operation == "list"] == ["list"]


def test_the_event_path_answers_the_deadline_when_too_little_time_is_left_to_rank_the_backup(
    emulator: Emulator, function: FunctionFactory
) -> None:
    """The event path ranks a backup whose copy would expire on arrival with one list call, which
    backups/listing.py does not start with less than a step's time (1 s) left. That region's copy
    answers the deadline, in the words a copy that ran out of retries uses, never InternalError."""
    compartment = new_compartment()
    process = function(**RETENTION)
    volume = _volume("d")
    older = seed_backup(emulator, compartment, "volume", hours_ago=110, volume_id=volume)
    seed_backup(emulator, compartment, "volume", hours_ago=100, volume_id=volume)
    event = event_for("volume", older["id"], compartmentId=compartment)
    # With time enough, it is skipped; and the process has made its clients, so the short call below
    # spends its time on its requests alone.
    assert _invoke(process, event)["reasonCode"] == "ExpiresOnArrival"
    emulator.clear_requests()

    # Fn-Deadline 2.9 s ahead: the function keeps 2 s back to answer (shared/deadline.py), so less
    # than a step's time is left from the start.
    answer = process.invoke(event, deadline_seconds=2.9)

    body = answer.json()
    [copy] = body["copies"]
    assert (answer.status, body["outcome"], body["reasonCode"]) == (502, "failed", "DeadlineReached")
    assert (copy["outcome"], copy["reasonCode"]) == ("failed", "DeadlineReached")
    assert copy["reason"].startswith(f"rank {older['id']} among its volume's newest backups")
    assert copy["reason"].endswith(
        "so the function answered before its deadline; the next event or a reconcile sweep will retry."
    )
    # The source's read and the destination's check went out; the ranking's list did not, nor a copy.
    assert [(r.operation, r.region) for r in emulator.requests] == [
        ("get", "us-phoenix-1"),
        ("list", DESTINATION_REGION),
    ]


def test_with_a_tag_filter_the_newest_tagged_backup_is_copied_whatever_untagged_ones_came_after(
    emulator: Emulator, function: FunctionFactory
) -> None:
    """Keep-last counts copies, and an untagged backup is never copied under REQUIRED_FREEFORM_TAG: a volume
    backed up daily and tagged for DR weekly still reaches its DR region, by the sweep and by the event path,
    while an older tagged backup is still skipped."""
    swept, evented = new_compartment(), new_compartment()
    process = function(**RETENTION, REQUIRED_FREEFORM_TAG="dr-copy=true")
    tagged = {"dr-copy": "true"}

    def backup(compartment: str, volume: str, hours_ago: float, tags: dict[str, str] | None = None) -> dict[str, Any]:
        return emulator.add_backup(
            "volume",
            "us-phoenix-1",
            compartment,
            time_created=datetime.now(UTC) - timedelta(hours=hours_ago),
            volume_id=volume,
            freeform_tags=tags or {},
        )

    older_tagged = backup(swept, _volume("e"), 150, tagged)
    newest_tagged = backup(swept, _volume("e"), 120, tagged)
    event_tagged = backup(evented, _volume("f"), 120, tagged)
    for compartment, volume in ((swept, _volume("e")), (evented, _volume("f"))):
        for hours in (24, 48, 72, 96):
            backup(compartment, volume, hours)  # daily, untagged: never copied, so never kept by keep-last

    sweep = _invoke(process, {"action": "reconcile", "compartmentId": swept})
    assert [entry["backupId"] for entry in sweep["copied"]] == [newest_tagged["id"]]
    assert sweep["skippedByReason"] == {"ExpiresOnArrival": 1, "TagNotPresent": 4}
    assert emulator.copies_of(older_tagged["id"]) == []

    late = _invoke(process, event_for("volume", event_tagged["id"], compartmentId=evented, freeFormTags=tagged))
    assert late["outcome"] == "copied", late
    redrive = _invoke(process, {"backupId": older_tagged["id"]})
    assert redrive["reasonCode"] == "ExpiresOnArrival", redrive
