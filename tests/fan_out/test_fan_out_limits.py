"""Issue 22, finding 3, through the fdk socket: maxCopies and maxDeletes bound the coordinator and all
of its children together. Eleven children (FAN_OUT_BATCH=1) with more work than the limit did, before
the fix, eleven times the limit."""

from __future__ import annotations

from datetime import timedelta

from blockstorage_emulator import Emulator
from tests.helpers import (
    NOW,
    FunctionFactory,
    assert_one_copy_each,
    copies_requested,
    new_compartment,
    seed_backup,
    seed_copy,
)

from .support import children, containers, fan_out_settings, invoke

BATCHES = 11


def test_eleven_children_together_delete_no_more_than_max_deletes(
    emulator: Emulator, function: FunctionFactory
) -> None:
    compartments = [new_compartment() for _ in range(BATCHES)]
    due = []
    for number, compartment in enumerate(compartments):
        # Two expired copies of one volume, kept from keep-last by a newer one: two due in each.
        volume = f"ocid1.volume.oc1.phx.{'d' * 40}{number:020d}"
        for hours_ago in (96, 72):
            expired = NOW - timedelta(days=1)
            due.append(seed_copy(emulator, compartment, hours_ago=hours_ago, expires=expired, volume_id=volume)[1])
        seed_copy(emulator, compartment, hours_ago=24, volume_id=volume)
    settings = fan_out_settings(emulator, batch=1)
    containers(emulator, function)

    answer = invoke(function(**settings), {"action": "expire", "compartmentIds": compartments, "maxDeletes": 5})

    assert (answer["outcome"], answer["batchesStarted"], answer["maxDeletes"]) == ("fanned_out", BATCHES, 5)
    assert sorted(child["maxDeletes"] for child in answer["children"]) == [0] * 6 + [1] * 5
    passes = children(emulator)
    deleted = [entry["copyId"] for expiry in passes for entry in expiry["deleted"]]
    accepted = [r for r in emulator.requests if r.operation == "delete" and r.status < 300]
    assert len(deleted) == len(accepted) == 5 < len(due)
    assert set(deleted) <= {copy["id"] for copy in due}
    # The children given nothing read and counted what waits: every due copy is accounted for.
    assert sum(expiry["remaining"] for expiry in passes) == len(due) - 5
    assert {expiry["reasonCode"] for expiry in passes if not expiry["deleted"]} == {"DeletionsWaiting"}


def test_eleven_children_together_copy_no_more_than_max_copies(emulator: Emulator, function: FunctionFactory) -> None:
    compartments = [new_compartment() for _ in range(BATCHES)]
    missing = [seed_backup(emulator, c, "volume", hours_ago=30 - n) for c in compartments for n in range(2)]
    settings = fan_out_settings(emulator, batch=1)
    containers(emulator, function)
    body = {"action": "reconcile", "compartmentIds": compartments, "maxCopies": 5, "kinds": ["volume"]}

    answer = invoke(function(**settings), body)

    assert (answer["outcome"], answer["batchesStarted"], answer["maxCopies"]) == ("fanned_out", BATCHES, 5)
    sweeps = children(emulator)
    made = copies_requested(emulator)
    assert len(made) == sum(len(sweep["copied"]) for sweep in sweeps) == 5 < len(missing)
    assert_one_copy_each(emulator, made)
    assert sum(sweep["remaining"] for sweep in sweeps) == len(missing) - 5
