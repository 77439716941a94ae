"""An expiry the function carried out is final (issue 22, promise 3), through the fdk socket.

Two ways a source used to be copied again after the expiry pass deleted its copy, each a full
cross-region transfer nobody asked for: (a) the operator set the copy's expiry to a past time;
(b) the region's retention was lengthened after the copy was marked. The expiry pass now records
each deletion on the source (backup-copier-expired-in-<region>), and the sweep, a redelivered event
and the manual re-drive skip that region (CopyExpired). A copy deleted by hand leaves no record and
is copied again; a record that cannot be written never fails the deletion, and says so.
Each step is also judged by the state machine's promises (tests/stateful/world.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from blockstorage_emulator import Emulator, Fault
from local_runtime.fdk_process import FunctionProcess
from tests.helpers import (
    DESTINATION_REGION,
    MARK_EXPIRES,
    NOW,
    SOURCE_REGION,
    FunctionFactory,
    copies_requested,
    event_for,
    new_compartment,
    rfc3339,
    seed_backup,
    seed_copy,
)
from tests.stateful import world as promises
from tests.stateful.world import Step, World

# The record's key, written out: a documented interface (docs/retention.md).
EXPIRED = "backup-copier-expired-in-" + DESTINATION_REGION
VOLUME = "ocid1.volume.oc1.phx." + "f" * 60


def _step(world: World, process: FunctionProcess, name: str, body: dict[str, Any]) -> tuple[Step, dict[str, Any]]:
    before = world.begin()
    answer = process.invoke(body).json()
    assert answer["outcome"] not in ("rejected", "failed"), answer
    step = world.end(name, before)
    assert promises.check_all(step, world) == {}, name
    return step, answer


def _expire(world: World, process: FunctionProcess, compartment: str) -> dict[str, Any]:
    return _step(world, process, "expiry pass", {"action": "expire", "compartmentId": compartment})[1]


def _sweep(world: World, process: FunctionProcess, compartment: str) -> dict[str, Any]:
    return _step(world, process, "sweep", {"action": "reconcile", "compartmentId": compartment})[1]


def test_a_copy_whose_expiry_the_operator_moved_into_the_past_is_not_copied_again(
    emulator: Emulator, function: FunctionFactory
) -> None:
    """(a) Two backups of a volume copied; the operator sets the older copy's expiry to yesterday. The
    expiry pass deletes it and records that on its source: the sweep, a redelivered event and the
    manual re-drive copy nothing, until the operator removes the record on purpose."""
    compartment = new_compartment()
    world = World(emulator, (compartment,), (DESTINATION_REGION,))
    process = function()
    older = seed_backup(emulator, compartment, "volume", hours_ago=54, volume_id=VOLUME)
    seed_backup(emulator, compartment, "volume", hours_ago=30, volume_id=VOLUME)
    assert len(_sweep(world, process, compartment)["copied"]) == 2
    emulator.complete_copies()
    [copy] = emulator.copies_of(older["id"], DESTINATION_REGION)
    past = rfc3339(datetime.now(UTC) - timedelta(days=1))
    emulator.set_freeform_tags(copy["id"], {**emulator.backup(copy["id"])["freeformTags"], MARK_EXPIRES: past})

    expired = _expire(world, process, compartment)

    assert [entry["copyId"] for entry in expired["deleted"]] == [copy["id"]]
    assert (expired["outcome"], expired["recordFailures"]) == ("expired", 0)
    assert "recorded" not in expired["deleted"][0]
    tags = emulator.backup(older["id"])["freeformTags"]
    assert tags[EXPIRED] == copy["id"]
    assert tags["backup-copier-copy-in-" + DESTINATION_REGION] == copy["id"], "the copy's record is kept"

    swept = _sweep(world, process, compartment)
    assert (swept["copied"], swept["alreadyCopied"], swept["skippedByReason"]) == ([], 1, {"CopyExpired": 1})
    for body in (event_for("volume", older["id"], compartmentId=compartment), {"backupId": older["id"]}):
        _, answer = _step(world, process, "event", body)
        [region] = answer["copies"]
        assert (answer["outcome"], answer["reasonCode"]) == ("skipped", "CopyExpired")
        assert (region["outcome"], region["reasonCode"]) == ("skipped", "CopyExpired")
        assert copy["id"] in region["reason"] and f"remove {EXPIRED}" in region["reason"]
    copies = emulator.copies_of(older["id"], DESTINATION_REGION)
    assert [(c["id"], c["lifecycleState"]) for c in copies] == [(copy["id"], "TERMINATING")], "never copied again"

    # On purpose: the operator removes the record, and the next sweep copies the backup again.
    emulator.set_freeform_tags(older["id"], {k: v for k, v in tags.items() if k != EXPIRED})
    again = process.invoke({"action": "reconcile", "compartmentId": compartment}).json()
    assert [entry["backupId"] for entry in again["copied"]] == [older["id"]]


def test_a_lengthened_retention_does_not_bring_back_a_copy_that_expired_under_the_old_one(
    emulator: Emulator, function: FunctionFactory
) -> None:
    """(b) Copies marked under COPY_RETENTION_DAYS_US_ASHBURN_1=1, then the region's retention
    lengthened to 30. The older copy is deleted at its old expiry; under the new rule its source's
    copy would not be past its expiry, and the sweep used to copy it again."""
    compartment = new_compartment()
    world = World(emulator, (compartment,), (DESTINATION_REGION,))
    process = function(COPY_RETENTION_DAYS_US_ASHBURN_1="30")
    for hours_ago in (54, 30):
        # As the one-day rule marked them: due a day after their source was made.
        seed_copy(
            emulator, compartment, hours_ago=hours_ago, expires=NOW - timedelta(hours=hours_ago - 24), volume_id=VOLUME
        )
    older, newer = sorted(
        (b for b in emulator.backups_in(SOURCE_REGION, compartment)), key=lambda backup: backup["timeCreated"]
    )

    expired = _expire(world, process, compartment)
    assert [entry["sourceBackupId"] for entry in expired["deleted"]] == [older["id"]]
    assert expired["kept"] == {"KeepLast": 1}

    swept = _sweep(world, process, compartment)
    assert (swept["copied"], swept["skippedByReason"]) == ([], {"CopyExpired": 1})
    assert copies_requested(emulator) == []  # the sweep's step only: World.begin empties the log
    assert [c["lifecycleState"] for c in emulator.copies_of(older["id"], DESTINATION_REGION)] == ["TERMINATING"]
    assert [c["lifecycleState"] for c in emulator.copies_of(newer["id"], DESTINATION_REGION)] == ["AVAILABLE"]


def test_a_record_that_cannot_be_written_never_fails_the_deletion_and_a_copy_deleted_by_hand_is_copied_again(
    emulator: Emulator, function: FunctionFactory
) -> None:
    """Three due copies: one whose source is gone (nothing to record, nothing to copy), one whose
    source refuses the update (deleted all the same, and said so: the old behaviour follows), and
    one the operator deletes by hand first (no record: the sweep copies its source again)."""
    compartment = new_compartment()
    process = function()
    due = NOW - timedelta(days=1)
    gone_source, gone_copy = seed_copy(emulator, compartment, hours_ago=80, expires=due, volume_id=VOLUME)
    refused_source, refused_copy = seed_copy(emulator, compartment, hours_ago=78, expires=due, volume_id=VOLUME)
    by_hand_source, by_hand_copy = seed_copy(emulator, compartment, hours_ago=76, expires=due, volume_id=VOLUME)
    seed_copy(emulator, compartment, hours_ago=30, volume_id=VOLUME)  # the newest, kept
    emulator.set_lifecycle_state(gone_source["id"], "TERMINATED")
    emulator.set_lifecycle_state(by_hand_copy["id"], "TERMINATED")
    emulator.clear_requests()
    emulator.inject(Fault("update", region=SOURCE_REGION, status=404, code="NotAuthorizedOrNotFound"))

    expired = process.invoke({"action": "expire", "compartmentId": compartment}).json()

    assert (expired["outcome"], expired["recordFailures"], expired["failed"]) == ("expired", 1, [])
    deleted = {entry["copyId"]: entry for entry in expired["deleted"]}
    assert set(deleted) == {gone_copy["id"], refused_copy["id"]}
    assert "recorded" not in deleted[gone_copy["id"]]
    refused = deleted[refused_copy["id"]]
    assert (refused["recorded"], refused["recordReasonCode"]) == (False, "NotAuthorizedOrNotFound")
    assert "VOLUME_BACKUP_UPDATE in us-phoenix-1" in refused["recordReason"]
    updates = [r for r in emulator.requests if r.operation == "update"]
    assert [(r.region, r.status) for r in updates] == [(SOURCE_REGION, 404)], "none tried on the gone source"
    assert EXPIRED not in emulator.backup(refused_source["id"])["freeformTags"]

    swept = process.invoke({"action": "reconcile", "compartmentId": compartment}).json()
    assert sorted(entry["backupId"] for entry in swept["copied"]) == sorted(
        (refused_source["id"], by_hand_source["id"])
    )
