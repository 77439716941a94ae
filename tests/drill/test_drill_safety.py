"""What a drill may delete, one rule per test, through the fdk socket (docs/drills.md, "Safety").

Only a volume, boot volume or volume group this function created and marked, whose mark and own facts
agree; never one attached to an instance; and whatever a pass left behind, the next one finds.
"""

from __future__ import annotations

from typing import Any

from blockstorage_emulator import Emulator, Fault
from tests.helpers import DESTINATION_REGION, FunctionFactory, new_compartment, seed_copy

from .support import (
    DRILL_LAST,
    DRILL_LEFT,
    DRILL_RESOURCE,
    DRILL_RUNNING,
    OTHER_FUNCTION_ID,
    deletes,
    drill_function,
    drill_pass,
    record_running,
    seed_drill,
    state,
)


def _restore_by_hand(emulator: Emulator, compartment: str, source: dict[str, Any], tags: dict[str, str]) -> str:
    """A volume someone restored from `source` (a backup), carrying `tags` (what OCI gives it: the backup's)."""
    return str(
        emulator.add_volume(
            "volume",
            DESTINATION_REGION,
            compartment,
            source_details={"type": "volumeBackup", "id": source["id"]},
            freeform_tags=tags,
        )["id"]
    )


def test_an_unmarked_volume_is_never_deleted(emulator: Emulator, function: FunctionFactory) -> None:
    compartment = new_compartment()
    emulator.add_volume("volume", DESTINATION_REGION, compartment, freeform_tags={"team": "db"})
    emulator.add_volume("boot_volume", DESTINATION_REGION, compartment)
    emulator.add_volume("volume_group", DESTINATION_REGION, compartment)

    answer = drill_pass(drill_function(emulator, function), compartment, maxRestores=1)

    assert answer["outcome"] == "drilled" and answer["drills"] == []
    assert deletes(emulator) == []


def test_a_volume_marked_by_another_function_is_never_deleted(emulator: Emulator, function: FunctionFactory) -> None:
    compartment = new_compartment()
    copy = seed_copy(emulator, compartment, "volume")[1]
    theirs = seed_drill(emulator, compartment, copy, function_id=OTHER_FUNCTION_ID, minutes_ago=500)

    answer = drill_pass(drill_function(emulator, function), compartment, maxRestores=1)

    assert answer["markedByOtherFunctions"] == 1
    assert [entry["restored"] for entry in answer["drills"]] != [theirs["id"]]
    assert theirs["id"] not in deletes(emulator) and state(emulator, theirs["id"]) == "AVAILABLE"


def test_clones_and_hand_restores_of_a_copy_and_of_a_drill_are_never_taken_for_drills(
    emulator: Emulator, function: FunctionFactory
) -> None:
    compartment = new_compartment()
    copy = seed_copy(emulator, compartment, "volume")[1]
    drill = seed_drill(emulator, compartment, copy, state="AVAILABLE")
    copy = record_running(emulator, copy["id"], drill["id"])
    # A clone carries the drill's tags (Oracle: a restored volume carries its source's); its sourceDetails
    # name the drill volume, not the copy.
    clone = emulator.add_volume(
        "volume",
        DESTINATION_REGION,
        compartment,
        source_details={"type": "volume", "id": drill["id"]},
        freeform_tags=drill["freeformTags"],
    )["id"]
    # A restore of the copy by hand carries the copy's tags: its mark and its drill record, no drill mark.
    of_copy = _restore_by_hand(emulator, compartment, copy, copy["freeformTags"])
    # A backup of the drill volume carries the drill's mark, and so does a restore of that backup.
    drill_backup = emulator.add_backup("volume", DESTINATION_REGION, compartment, freeform_tags=drill["freeformTags"])
    of_drill = _restore_by_hand(emulator, compartment, drill_backup, drill_backup["freeformTags"])

    answer = drill_pass(drill_function(emulator, function), compartment, maxRestores=1)

    assert deletes(emulator) == [drill["id"]]
    assert {state(emulator, volume) for volume in (clone, of_copy, of_drill)} == {"AVAILABLE"}
    assert answer["notDrills"] == 2  # the clone and the restore of the drill's backup carry its mark
    assert [(e["restored"], e["state"]) for e in answer["drills"] if e["state"] != "started"] == [
        (drill["id"], "passed")
    ]


def test_a_mark_copied_onto_another_volume_is_never_deleted(emulator: Emulator, function: FunctionFactory) -> None:
    compartment = new_compartment()
    copy = seed_copy(emulator, compartment, "volume")[1]
    drill = seed_drill(emulator, compartment, copy, state="AVAILABLE")
    # Restored from the same copy, with the drill's tags copied onto it: its mark names the drill's OCID.
    copied = _restore_by_hand(emulator, compartment, copy, drill["freeformTags"])
    assert emulator.volume(copied)["freeformTags"][DRILL_RESOURCE] == drill["id"]

    answer = drill_pass(drill_function(emulator, function), compartment, maxRestores=1)

    assert deletes(emulator) == [drill["id"]]
    assert state(emulator, copied) == "AVAILABLE" and answer["notDrills"] == 1


def test_an_attached_drill_volume_is_reported_and_left_until_it_is_detached(
    emulator: Emulator, function: FunctionFactory
) -> None:
    compartment = new_compartment()
    copy = seed_copy(emulator, compartment, "volume")[1]
    drill = seed_drill(emulator, compartment, copy, state="AVAILABLE")
    attachment = emulator.attach(drill["id"])
    process = drill_function(emulator, function)

    first = drill_pass(process, compartment, maxRestores=1)
    second = drill_pass(process, compartment, maxRestores=1)

    for answer, expected in ((first, "passed"), (second, "ending")):
        [entry] = [e for e in answer["drills"] if e["restored"] == drill["id"]]
        assert (entry["state"], entry["leftAttached"], entry["reasonCode"]) == (expected, True, "LeftAttached")
        assert answer["leftAttached"] == 1 and answer["outcome"] == "drilled"
    assert deletes(emulator) == [] and state(emulator, drill["id"]) == "AVAILABLE"
    # The verdict was recorded once, by the first pass.
    assert emulator.backup(copy["id"])["freeformTags"][DRILL_LAST].startswith("passed ")

    emulator.detach(attachment["id"])
    drill_pass(process, compartment, maxRestores=1)

    assert deletes(emulator) == [drill["id"]]


def test_a_volume_group_with_an_attached_volume_is_left_whole(emulator: Emulator, function: FunctionFactory) -> None:
    compartment = new_compartment()
    seed_copy(emulator, compartment, "volume_group")
    process = drill_function(emulator, function)
    [started] = drill_pass(process, compartment, maxRestores=1)["drills"]
    emulator.finish_restores()
    group = emulator.volume(started["restored"])
    emulator.attach(group["volumeIds"][0])

    answer = drill_pass(process, compartment, maxRestores=1)

    [entry] = [e for e in answer["drills"] if e["restored"] == group["id"]]
    assert (entry["state"], entry["leftAttached"], entry["deleted"]) == ("passed", True, False)
    assert {state(emulator, resource) for resource in (group["id"], *group["volumeIds"])} == {"AVAILABLE"}
    assert deletes(emulator) == []


def test_a_drill_attached_from_another_compartment_is_refused_once_and_never_deleted_again(
    emulator: Emulator, function: FunctionFactory
) -> None:
    compartment = new_compartment()
    copy = seed_copy(emulator, compartment, "volume")[1]
    drill = seed_drill(emulator, compartment, copy, state="AVAILABLE")
    # Compute lists the attachment in the instance's compartment: the drill's listing cannot see it.
    emulator.attach(drill["id"], compartment_id=new_compartment())
    process = drill_function(emulator, function)

    first = drill_pass(process, compartment, maxRestores=1)
    second = drill_pass(process, compartment, maxRestores=1)

    refused = [r for r in emulator.requests if r.operation == "delete_volume"]
    assert [(r.status, r.error_code) for r in refused] == [(409, "Conflict")], "one delete, never retried"
    for answer in (first, second):
        [entry] = [e for e in answer["drills"] if e["restored"] == drill["id"]]
        assert (entry["leftAttached"], entry["reasonCode"]) == (True, "LeftAttached")
    assert DRILL_LEFT in emulator.volume(drill["id"])["freeformTags"]
    assert state(emulator, drill["id"]) == "AVAILABLE"


def test_a_crashed_passes_leftovers_are_found_and_ended_by_the_next_pass(
    emulator: Emulator, function: FunctionFactory
) -> None:
    compartment = new_compartment()
    # Stopped right after the create and the copy's record, before the drill's own tag was rewritten.
    unbound_copy = seed_copy(emulator, compartment, "volume")[1]
    unbound = seed_drill(emulator, compartment, unbound_copy, state="AVAILABLE", bound=False)
    record_running(emulator, unbound_copy["id"], unbound["id"])
    # Stopped after its delete, before the copy's record was updated: the drill is gone.
    deleted_copy = seed_copy(emulator, compartment, "boot_volume")[1]
    deleted = seed_drill(emulator, compartment, deleted_copy, kind="boot_volume", state="TERMINATED")
    record_running(emulator, deleted_copy["id"], deleted["id"])

    answer = drill_pass(drill_function(emulator, function), compartment, maxRestores=2)

    assert answer["outcome"] == "drilled", answer["reason"]
    ended = {e["restored"]: (e["state"], e["deleted"]) for e in answer["drills"] if e["state"] != "started"}
    assert ended == {unbound["id"]: ("passed", True), deleted["id"]: ("gone", False)}
    assert deletes(emulator) == [unbound["id"]]
    # Both volumes had their turn in this pass, so neither starts again: their running records are gone.
    assert answer["started"] == 0
    for copy in (unbound_copy, deleted_copy):
        assert DRILL_RUNNING not in emulator.backup(copy["id"])["freeformTags"]
    assert emulator.backup(deleted_copy["id"])["freeformTags"][DRILL_LAST].startswith("gone ")


def test_a_drill_nothing_binds_is_never_deleted_and_holds_its_slot(
    emulator: Emulator, function: FunctionFactory
) -> None:
    compartment = new_compartment()
    copy = seed_copy(emulator, compartment, "volume")[1]
    # Both writes after its create failed: no tag on it names its OCID, and its copy records no drill.
    unbound = seed_drill(emulator, compartment, copy, state="AVAILABLE", bound=False, minutes_ago=30)
    seed_copy(emulator, compartment, "volume")

    answer = drill_pass(drill_function(emulator, function), compartment, maxRestores=1)

    assert (answer["outcome"], answer["reasonCode"]) == ("failed", "DrillUnbound")
    assert [(e["restored"], e["state"]) for e in answer["drills"]] == [(unbound["id"], "unproven")]
    assert (answer["started"], answer["inFlight"]) == (0, 1)
    assert deletes(emulator) == []


def test_a_delete_refused_for_the_drills_state_is_tried_again_by_the_next_pass(
    emulator: Emulator, function: FunctionFactory
) -> None:
    compartment = new_compartment()
    copy = seed_copy(emulator, compartment, "volume")[1]
    slow = seed_drill(emulator, compartment, copy, state="RESTORING", minutes_ago=200)
    # Whether OCI refuses to delete a volume still restoring is unconfirmed: the emulator accepts it.
    emulator.inject(Fault(operation="delete_volume", status=409, code="IncorrectState"))
    process = drill_function(emulator, function)

    first = drill_pass(process, compartment, maxRestores=1)
    second = drill_pass(process, compartment, maxRestores=1)

    assert [e["state"] for e in first["drills"]] == ["failed"] and first["leftAttached"] == 0
    assert DRILL_LEFT not in emulator.volume(slow["id"])["freeformTags"]
    assert [(e["state"], e["deleted"]) for e in second["drills"] if e["restored"] == slow["id"]] == [("ending", True)]
    assert deletes(emulator) == [slow["id"], slow["id"]]


def test_a_running_record_that_is_no_ocid_is_never_sent_in_a_url(emulator: Emulator, function: FunctionFactory) -> None:
    compartment = new_compartment()
    copy = seed_copy(emulator, compartment, "volume")[1]
    record_running(emulator, copy["id"], "ocid1.volume.oc1.iad.aaaa/../../volumeBackups/x?limit=1")

    answer = drill_pass(drill_function(emulator, function), compartment, maxRestores=1)

    assert answer["outcome"] == "drilled"
    assert [r.path for r in emulator.requests if "aaaa" in r.path or ".." in r.path] == []


def test_a_volume_someone_adds_to_a_drills_group_is_never_marked_nor_deleted(
    emulator: Emulator, function: FunctionFactory
) -> None:
    """Membership proves nothing (UpdateVolumeGroup lets anyone add a volume): only the volumes restored from
    the copy's own member backups are the drill's; an added one is left unmarked, and stays when the group goes."""
    compartment = new_compartment()
    seed_copy(emulator, compartment, "volume_group")
    process = drill_function(emulator, function)
    [started] = drill_pass(process, compartment, maxRestores=1)["drills"]
    emulator.finish_restores()
    group = emulator.volume(started["restored"])
    theirs = emulator.add_volume(
        "volume",
        DESTINATION_REGION,
        compartment,
        availability_domain=group["availabilityDomain"],
        source_details={
            "type": "volumeBackup",
            "id": emulator.add_backup("volume", DESTINATION_REGION, compartment)["id"],
        },
    )["id"]
    emulator.set_group_members(group["id"], [*group["volumeIds"], theirs])

    answer = drill_pass(process, compartment, maxRestores=1)
    emulator.finish_deletions()
    drill_pass(process, compartment, maxRestores=1)

    [entry] = [e for e in answer["drills"] if e["restored"] == group["id"]]
    assert (entry["state"], entry["deleted"]) == ("passed", True), entry
    assert not any(key.startswith("backup-copier-drill-") for key in emulator.volume(theirs)["freeformTags"])
    assert theirs not in deletes(emulator)
    assert state(emulator, theirs) == "AVAILABLE"
    assert set(group["volumeIds"]) <= set(deletes(emulator)), "the restore's own volumes are ended"
