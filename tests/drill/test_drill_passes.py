"""A drill's passes through the fdk socket: failed drills, turns across volumes and passes, and the dry run."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from blockstorage_emulator import Emulator
from tests.helpers import NOW, FunctionFactory, new_compartment, seed_copy

from .support import DRILL_LAST, deletes, drill_function, drill_pass, seed_drill, state


def test_a_faulty_and_a_timed_out_drill_fail_the_pass_and_are_deleted(
    emulator: Emulator, function: FunctionFactory
) -> None:
    compartment = new_compartment()
    faulty_copy = seed_copy(emulator, compartment, "volume")[1]
    slow_copy = seed_copy(emulator, compartment, "boot_volume")[1]
    faulty = seed_drill(emulator, compartment, faulty_copy, state="FAULTY", minutes_ago=20)
    # Still RESTORING past DRILL_TIMEOUT_MINUTES (120 by default) after its create request.
    slow = seed_drill(emulator, compartment, slow_copy, kind="boot_volume", state="RESTORING", minutes_ago=121)

    answer = drill_pass(drill_function(emulator, function), compartment, maxRestores=1)

    assert (answer["outcome"], answer["failed"], answer["deleted"]) == ("failed", 2, 2)
    codes = {entry["restored"]: entry["reasonCode"] for entry in answer["drills"] if entry["state"] == "failed"}
    assert codes == {faulty["id"]: "RestoreFaulty", slow["id"]: "RestoreTimedOut"}
    assert answer["reasonCode"] in codes.values() and "2 drills failed" in answer["reason"]
    assert {state(emulator, faulty["id"]), state(emulator, slow["id"])} == {"TERMINATING"}
    assert emulator.backup(faulty_copy["id"])["freeformTags"][DRILL_LAST].startswith("failed ")
    assert emulator.backup(slow_copy["id"])["freeformTags"][DRILL_LAST].split()[2] == "RestoreTimedOut"
    failed = [m for m in emulator.posted_metrics(compartment) if m.name == "drills_failed"]
    assert [m.datapoints[0]["value"] for m in failed] == [2]
    # Both volumes had their turn in this pass: none starts again before the next.
    assert answer["started"] == 0


def test_drills_take_turns_never_drilled_first_and_max_restores_holds_across_the_scope_and_passes(
    emulator: Emulator, function: FunctionFactory
) -> None:
    first, second = new_compartment(), new_compartment()
    drilled_long_ago = seed_copy(emulator, first, "volume")[1]
    nine_days_ago = (NOW - timedelta(days=9)).strftime("%Y-%m-%dT%H:%M:%SZ")
    emulator.set_freeform_tags(
        drilled_long_ago["id"],
        {**drilled_long_ago["freeformTags"], DRILL_LAST: f"passed {nine_days_ago} 12 ocid1.volume.oc1.iad.gone"},
    )
    never = {seed_copy(emulator, compartment, "volume")[1]["id"] for compartment in (first, second, second)}
    process = drill_function(emulator, function)
    scope = {"compartmentIds": [first, second], "maxRestores": 1}

    answers = [drill_pass(process, **scope), drill_pass(process, **scope)]
    for _ in range(3):
        emulator.finish_restores()
        answers.append(drill_pass(process, **scope))

    started = [_copies(answer, "started") for answer in answers]
    assert [len(copies) for copies in started] == [1, 0, 1, 1, 1]
    assert (answers[0]["volumesWaiting"], answers[1]["inFlight"]) == (3, 1), "maxRestores holds across passes"
    # Every never-drilled volume has its turn before the one drilled nine days ago, each once.
    assert started[0] | started[2] | started[3] == never
    assert started[4] == {drilled_long_ago["id"]}
    assert [len(_copies(answer, "passed")) for answer in answers] == [0, 0, 1, 1, 1]


def _copies(answer: dict[str, Any], wanted: str) -> set[str]:
    return {entry["copy"] for entry in answer["drills"] if entry["state"] == wanted}


def test_a_dry_run_creates_and_deletes_nothing_and_says_what_it_would_do(
    emulator: Emulator, function: FunctionFactory
) -> None:
    compartment = new_compartment()
    done_copy, waiting_copy = (seed_copy(emulator, compartment, "volume")[1] for _ in range(2))
    done = seed_drill(emulator, compartment, done_copy, state="AVAILABLE")
    done_tags = emulator.backup(done_copy["id"])["freeformTags"]

    answer = drill_pass(drill_function(emulator, function), compartment, dryRun=True)

    assert answer["outcome"] == "dry_run" and answer["dryRun"] is True
    assert {(e["copy"], e["state"], e.get("wouldDelete", False)) for e in answer["drills"]} == {
        (done_copy["id"], "passed", True),
        (waiting_copy["id"], "wouldStart", False),
    }
    assert [r.method for r in emulator.requests if r.method != "GET"] == []
    assert state(emulator, done["id"]) == "AVAILABLE"
    assert emulator.backup(done_copy["id"])["freeformTags"] == done_tags
    assert deletes(emulator) == [] and emulator.posted_metrics(compartment) == []


def test_a_drill_whose_copy_expired_passes_and_writes_nothing_on_the_copy(
    emulator: Emulator, function: FunctionFactory
) -> None:
    """The expiry pass deleted the copy being drilled (TERMINATING): its record goes with it (docs/drills.md),
    so the verdict is not written there, and that is no failure (no RecordFailed, no retried 409)."""
    compartment = new_compartment()
    copy = seed_copy(emulator, compartment, "volume")[1]
    drill = seed_drill(emulator, compartment, copy, state="AVAILABLE")
    emulator.set_lifecycle_state(copy["id"], "TERMINATING")

    answer = drill_pass(drill_function(emulator, function), compartment, maxRestores=1)

    assert (answer["outcome"], answer["passed"], answer["deleted"]) == ("drilled", 1, 1), answer
    assert deletes(emulator) == [drill["id"]]
    assert [r.path for r in emulator.requests if r.method == "PUT" and copy["id"] in r.path] == []
