"""Issue 15: one schedule per action for a whole tenancy, through the fdk socket.

A tree of compartments four levels deep below one root, with INACTIVE and DELETED ones
beside the ACTIVE ones; the sweep, the expiry pass and the report over `"subtree": true`.
"""

from __future__ import annotations

import uuid

import pytest

from blockstorage_emulator import Emulator
from tests.helpers import (
    DESTINATION_REGION,
    FunctionFactory,
    assert_one_copy_each,
    copies_requested,
    seed_backup,
)

from .conftest import Tree, invoke


def test_the_sweep_copies_in_every_active_compartment_and_nowhere_else(
    emulator: Emulator, function: FunctionFactory, tree: Tree
) -> None:
    result = invoke(function(), {"action": "reconcile", "compartmentId": tree.root, "subtree": True})

    assert result["outcome"] == "copied", result["reason"]
    assert result["compartmentsScanned"] == len(tree.active)
    assert (result["compartmentsFailed"], result["compartmentsRemaining"]["count"]) == ([], 0)
    made = copies_requested(emulator)
    assert sorted(made) == sorted(tree.missing[c]["id"] for c in tree.active)
    assert_one_copy_each(emulator, made)
    for compartment in tree.gone:
        assert emulator.copies_of(tree.missing[compartment]["id"]) == []
    # Oldest first across the whole scope, whichever worker read which compartment.
    assert made == [b["id"] for b in sorted((tree.missing[c] for c in tree.active), key=lambda b: b["timeCreated"])]
    assert not [r for r in emulator.requests if r.query.get("compartmentId") in tree.gone]


def test_the_expiry_pass_deletes_in_every_active_compartment_and_nowhere_else(
    emulator: Emulator, function: FunctionFactory, tree: Tree
) -> None:
    result = invoke(function(), {"action": "expire", "compartmentId": tree.root, "subtree": True})

    assert result["outcome"] == "expired", result["reason"]
    deleted = {entry["copyId"] for entry in result["deleted"]}
    assert deleted == {tree.expired[c]["id"] for c in tree.active}
    for compartment in tree.gone:
        assert emulator.backup(tree.expired[compartment]["id"])["lifecycleState"] == "AVAILABLE"
    assert result["compartmentsScanned"] == len(tree.active)


def test_the_report_covers_every_active_compartment_and_posts_into_each(
    emulator: Emulator, function: FunctionFactory, tree: Tree
) -> None:
    result = invoke(function(), {"action": "report", "compartmentId": tree.root, "subtree": True})

    assert result["compartmentsScanned"] == len(tree.active)
    reported = {volume["compartmentId"] for volume in result["volumes"]}
    assert reported == set(tree.active)
    for compartment in tree.active:
        posted = emulator.posted_metrics(compartment)
        assert {m.name for m in posted} == {"copy_rpo_hours", "volumes_breaching", "volumes_uncovered"}, compartment
    for compartment in tree.gone:
        assert emulator.posted_metrics(compartment) == []


def test_a_denied_compartment_is_named_and_the_rest_is_done(
    emulator: Emulator, function: FunctionFactory, tree: Tree
) -> None:
    denied = tree.active[3]  # b1: its children (c1, d1) cannot be found either
    emulator.deny_compartment(denied)

    result = invoke(function(), {"action": "reconcile", "compartmentId": tree.root, "subtree": True})

    assert result["outcome"] == "failed"
    assert result["reasonCode"] == "NotAuthorizedOrNotFound"
    # b1 counts in the scope though it was never read (its children could not be listed): four
    # compartments were found, one failed, three were done.
    assert "1 of 4 compartments could not be read, so the run is incomplete; the other 3 were done" in result["reason"]
    assert result["compartmentsScanned"] == 3
    [failure] = result["compartmentsFailed"]
    assert failure["compartmentId"] == denied and failure["reasonCode"] == "NotAuthorizedOrNotFound"
    assert "run the preflight check" in failure["reason"]
    done = [c for c in tree.active if c not in tree.active[3:]]
    assert sorted(copies_requested(emulator)) == sorted(tree.missing[c]["id"] for c in done)


def test_the_expiry_pass_deletes_nothing_in_a_compartment_one_region_could_not_list(
    emulator: Emulator, function: FunctionFactory, tree: Tree
) -> None:
    second = "eu-frankfurt-1"
    emulator.deny("list", region=second, kind="volume_group")
    body = {"action": "expire", "compartmentId": tree.root, "subtree": True}

    result = invoke(function(), {**body, "destinationRegions": [DESTINATION_REGION, second]})

    assert result["outcome"] == "failed"
    assert result["deleted"] == [] and result["compartmentsScanned"] == 0
    assert result["compartmentsFailedCount"] == len(tree.active)
    assert "Nothing was deleted in a compartment not listed whole" in result["reason"]
    assert not [r for r in emulator.requests if r.operation == "delete"]


def test_the_tenancy_itself_is_a_scope(emulator: Emulator, function: FunctionFactory, tree: Tree) -> None:
    result = invoke(
        function(), {"action": "report", "compartmentId": emulator.tenancy_id, "subtree": True, "sinceHours": 1}
    )

    # The tenancy, and every ACTIVE compartment in it (other tests add theirs too).
    assert result["compartmentsScanned"] >= len(tree.active) + 1
    listings = [r for r in emulator.requests if r.operation == "list_compartments"]
    assert len(listings) == 1, "one paged listing of the whole tenancy"
    assert listings[0].query["compartmentIdInSubtree"] == "true"
    assert listings[0].query["accessLevel"] == "ANY"


def test_a_tenancy_that_cannot_be_listed_names_the_statement(emulator: Emulator, function: FunctionFactory) -> None:
    emulator.deny("list_compartments")

    result = invoke(function(), {"action": "report", "compartmentId": emulator.tenancy_id, "subtree": True})

    assert (result["outcome"], result["reasonCode"]) == ("failed", "NotAuthorizedOrNotFound")
    assert "to inspect compartments in tenancy" in result["reason"]
    assert [r.operation for r in emulator.requests] == ["list_compartments"]


@pytest.mark.parametrize("action", ["report", "reconcile", "expire"])
def test_one_worker_and_sixteen_give_the_same_answer(
    emulator: Emulator, function: FunctionFactory, tree: Tree, action: str
) -> None:
    body = {"action": action, "compartmentId": tree.root, "subtree": True, "dryRun": True}
    if action == "report":
        del body["dryRun"]
    answers = [invoke(function(MAX_CONCURRENCY=str(workers)), body) for workers in (1, 16)]

    volatile = {"callId", "durationMs", "attempts", "retries", "retriedErrors", "asOf", "metricsPosted"}
    one, sixteen = ({k: v for k, v in answer.items() if k not in volatile} for answer in answers)
    if action == "report":
        for answer in (one, sixteen):
            for volume in answer["volumes"]:
                for region in volume["regions"]:
                    region["rpoHours"] = round(region["rpoHours"], 1)  # the two runs are a moment apart
    assert one == sixteen


def test_the_copy_limit_counts_copies_in_flight_across_the_scope(emulator: Emulator, function: FunctionFactory) -> None:
    """15 missing copies in 5 compartments; 10 in flight in a sixth start none, 7 in flight start 3."""
    for in_flight, started in ((10, 0), (7, 3)):
        compartments = [emulator.add_compartment(emulator.tenancy_id) for _ in range(6)]
        missing = [
            seed_backup(emulator, compartment, "volume", hours_ago=30 - i - 3 * n)
            for n, compartment in enumerate(compartments[:5])
            for i in range(3)
        ]
        flying = [
            seed_backup(emulator, compartments[5], "volume", hours_ago=40 + i, copy_state="CREATING")
            for i in range(in_flight)
        ]
        emulator.clear_requests()

        result = invoke(function(), {"action": "reconcile", "compartmentIds": compartments})

        assert result["inFlight"] == in_flight + started  # the ones found, and the ones it started
        made = copies_requested(emulator)
        oldest = sorted(missing, key=lambda backup: backup["timeCreated"])[:started]
        assert made == [backup["id"] for backup in oldest]
        # The sweep's own count stopped it: it never asked the service past the limit.
        assert not [r for r in emulator.requests if r.operation == "copy" and r.status != 200]
        assert result["remainingByReason"] == {"CopyLimit": 15 - started}
        assert result["stoppedEarly"] == "copy_limit"
        for backup in flying:
            emulator.set_lifecycle_state(emulator.copies_of(backup["id"])[0]["id"], "AVAILABLE")
        emulator.complete_copies()


def test_a_deadline_cut_leaves_whole_compartments_for_the_next_run(
    emulator: Emulator, function: FunctionFactory
) -> None:
    compartments = [emulator.add_compartment(emulator.tenancy_id) for _ in range(12)]
    missing = {c: seed_backup(emulator, c, "volume", hours_ago=5) for c in compartments}
    process = function(MAX_CONCURRENCY="2")
    invoke(process, {"action": "reconcile", "compartmentIds": [compartments[0]], "dryRun": True})  # warm
    emulator.clear_requests()
    emulator.set_latency("list", 0.05)

    cut = invoke(process, {"action": "reconcile", "compartmentIds": compartments}, deadline=5.0)

    remaining = cut["compartmentsRemaining"]
    assert cut["outcome"] == "failed" and cut["reasonCode"] == "DeadlineReached"
    assert remaining["count"] > 0 and cut["compartmentsScanned"] > 0
    assert cut["compartmentsScanned"] + remaining["count"] == len(compartments)
    assert remaining["compartmentIds"] == [c for c in compartments if c in remaining["compartmentIds"]]
    made = set(copies_requested(emulator))
    # Nothing half-applied: no copy of a backup in a compartment left for the next run.
    assert not made & {missing[c]["id"] for c in remaining["compartmentIds"]}
    assert len(made) == cut["compartmentsScanned"]

    emulator.clear_faults()
    emulator.complete_copies()  # the copy limit would hold back the rest, not the deadline
    resumed = invoke(process, {"action": "reconcile", "compartmentIds": compartments, "maxCopies": 20})
    assert resumed["outcome"] == "copied" and resumed["compartmentsRemaining"]["count"] == 0
    assert_one_copy_each(emulator, [backup["id"] for backup in missing.values()])


def test_throttling_is_retried_and_every_compartment_is_read(emulator: Emulator, function: FunctionFactory) -> None:
    compartments = [emulator.add_compartment(emulator.tenancy_id) for _ in range(8)]
    for compartment in compartments:
        seed_backup(emulator, compartment, "volume", hours_ago=3, copy_state="AVAILABLE")
    emulator.limit_call_rate("blockstorage", 15)

    result = invoke(
        function(MAX_CONCURRENCY="8"), {"action": "reconcile", "compartmentIds": compartments, "dryRun": True}, 60.0
    )

    assert result["compartmentsScanned"] == len(compartments), result["reason"]
    assert result["alreadyCopied"] == len(compartments)
    assert result["retriedErrors"].get("429 TooManyRequests", 0) > 0, "the limit was never reached: nothing tested"


def test_a_boot_volume_is_never_copied_twice_at_once_across_compartments(
    emulator: Emulator, function: FunctionFactory
) -> None:
    """Its backups were moved: one compartment holds the older, another the newer. One copy starts."""
    compartments = [emulator.add_compartment(emulator.tenancy_id) for _ in range(2)]
    boot_volume = "ocid1.bootvolume.oc1.phx." + uuid.uuid4().hex * 2
    older, newer = (
        seed_backup(emulator, compartment, "boot_volume", hours_ago=hours, volume_id=boot_volume)
        for compartment, hours in zip(compartments, (6, 3), strict=True)
    )

    result = invoke(function(), {"action": "reconcile", "compartmentIds": compartments})

    assert copies_requested(emulator) == [older["id"]]
    assert result["remainingByReason"] == {"BootVolumeBusy": 1}
    assert emulator.copies_of(newer["id"]) == []


def test_a_malformed_backup_is_named_never_copied_and_the_rest_is_done(
    emulator: Emulator, function: FunctionFactory, tree: Tree
) -> None:
    """Issue 23: a listed backup with a timestamp that is not one failed the whole run; it is now counted
    and named in the answer (with the page's opc-request-id), and never acted on."""
    bad = seed_backup(emulator, tree.active[1], "volume", hours_ago=5)
    emulator.serve_fields(bad["id"], {"timeCreated": "2026-02-30T00:00:00.000Z"})

    result = invoke(function(), {"action": "reconcile", "compartmentId": tree.root, "subtree": True})

    assert result["outcome"] == "copied" and result["compartmentsScanned"] == len(tree.active)
    assert result["malformedItems"]["count"] == 1
    [named] = result["malformedItems"]["items"]
    assert (named["operation"], named["compartmentId"], named["id"]) == ("ListVolumeBackups", tree.active[1], bad["id"])
    assert named["problem"].startswith("timeCreated: Input should be a valid datetime") and named["opcRequestId"]
    copied = copies_requested(emulator)
    assert bad["id"] not in copied
    assert_one_copy_each(emulator, [tree.missing[c]["id"] for c in tree.active])
