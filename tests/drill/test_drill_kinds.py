"""Restore drills end to end, through the fdk socket against the emulator: each kind over several passes."""

from __future__ import annotations

import json

from blockstorage_emulator import Emulator
from tests.helpers import DESTINATION_REGION, FunctionFactory, new_compartment, seed_copy

from .support import (
    DRILL_COPY,
    DRILL_FUNCTION,
    DRILL_GROUP,
    DRILL_LAST,
    DRILL_PASSED,
    DRILL_RESOURCE,
    DRILL_RUNNING,
    FUNCTION_ID,
    deletes,
    drill_function,
    drill_pass,
    state,
)


def test_each_kind_is_restored_then_passes_and_is_deleted_with_every_member(
    emulator: Emulator, function: FunctionFactory
) -> None:
    compartment = new_compartment()
    copies = {kind: seed_copy(emulator, compartment, kind)[1] for kind in ("volume", "boot_volume", "volume_group")}
    process = drill_function(emulator, function)
    first_domain = emulator.availability_domains(DESTINATION_REGION)[0]

    started = drill_pass(process, compartment, maxRestores=3)

    assert (started["outcome"], started["started"], started["inFlight"]) == ("drilled", 3, 3)
    restored = {entry["kind"]: entry["restored"] for entry in started["drills"]}
    creates = {r.operation: json.loads(r.body) for r in emulator.requests if r.operation.startswith("create_")}
    assert creates["create_volume"]["vpusPerGB"] == 0 and creates["create_volume"]["sizeInGBs"] == 50
    # CreateBootVolumeDetails allows no 0: 10 (Balanced) is the lowest a boot volume has.
    assert creates["create_boot_volume"]["vpusPerGB"] == 10
    # CreateVolumeGroupDetails has no size, performance or key: the group is restored as its backup says.
    assert not {"vpusPerGB", "sizeInGBs", "kmsKeyId"} & set(creates["create_volume_group"])
    assert {body["availabilityDomain"] for body in creates.values()} == {first_domain}
    assert {body["compartmentId"] for body in creates.values()} == {compartment}
    for kind, copy in copies.items():
        resource = emulator.volume(restored[kind])
        assert resource["freeformTags"][DRILL_FUNCTION] == FUNCTION_ID
        assert resource["freeformTags"][DRILL_COPY] == copy["id"]
        assert resource["freeformTags"][DRILL_RESOURCE] == resource["id"]
        assert emulator.backup(copy["id"])["freeformTags"][DRILL_RUNNING] == resource["id"]

    # A volume never drilled posts its oldest copy's age as drill_age_hours: a lower bound (seed_copy: 48 h ago).
    ages = [m for m in emulator.posted_metrics(compartment) if m.name == "drill_age_hours"]
    assert len(ages) == 3 and all(47 < m.datapoints[0]["value"] < 49 for m in ages)

    emulator.begin_restoring()
    restoring = drill_pass(process, compartment, maxRestores=3)

    assert [entry["state"] for entry in restoring["drills"]] == ["restoring"] * 3
    assert (restoring["started"], restoring["inFlight"]) == (0, 3)
    group = emulator.volume(restored["volume_group"])
    members = [emulator.volume(member) for member in group["volumeIds"]]
    # A group's create-request tags do not reach its members: the drill marked each one itself.
    assert [m["freeformTags"][DRILL_GROUP] for m in members] == [group["id"]] * len(members)
    assert all(m["freeformTags"][DRILL_RESOURCE] == m["id"] for m in members)

    emulator.finish_restores()
    passed = drill_pass(process, compartment, maxRestores=3)

    assert (passed["outcome"], passed["passed"], passed["deleted"], passed["started"]) == ("drilled", 3, 3, 0)
    assert all(entry["restoreMinutes"] >= 0 and entry["hydrated"] is False for entry in passed["drills"])
    assert {state(emulator, resource) for resource in restored.values()} == {"TERMINATING"}
    for copy in copies.values():
        tags = emulator.backup(copy["id"])["freeformTags"]
        assert DRILL_RUNNING not in tags
        assert tags[DRILL_LAST].startswith("passed ") and DRILL_PASSED in tags
    minutes = [m for m in emulator.posted_metrics(compartment) if m.name == "restore_minutes"]
    assert sorted(m.dimensions["kind"] for m in minutes) == ["boot_volume", "volume", "volume_group"]
    volumes = {
        copies["volume"]["volumeId"],
        copies["boot_volume"]["bootVolumeId"],
        copies["volume_group"]["volumeGroupId"],
    }
    assert {m.dimensions["resourceId"] for m in minutes} == volumes
    ages = [m for m in emulator.posted_metrics(compartment) if m.name == "drill_age_hours"][-3:]
    assert [m.datapoints[0]["value"] < 0.1 for m in ages] == [True] * 3
    # Deleting the group left its volumes (Oracle: only the group is deleted); they are still in it.
    assert {state(emulator, m["id"]) for m in members} == {"AVAILABLE"}

    emulator.finish_deletions()
    emulator.clear_requests()
    after = drill_pass(process, compartment, maxRestores=3)

    assert sorted(deletes(emulator)[:2]) == sorted(m["id"] for m in members)
    assert {state(emulator, m["id"]) for m in members} == {"TERMINATING"}
    assert [e["deleted"] for e in after["drills"] if e.get("group") == group["id"]] == [True] * len(members)
