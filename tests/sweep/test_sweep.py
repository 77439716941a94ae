"""The catch-up sweep ({"action": "reconcile"}) end to end: fdk socket, real SDK and signer, emulator.

Every test seeds its own compartment, so the session's shared emulator never shows one
test another's backups. Each asserts the two promises of the sweep: exactly one copy per
(backup, destination), and copies requested oldest first.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from backup_copier.dispatch import parse_request
from backup_copier.shared.errors import InvalidRequest
from backup_copier.sweep.request import ReconcileRequest
from blockstorage_emulator import Emulator, Fault
from local_runtime import samples
from local_runtime.credentials import ResourcePrincipal
from local_runtime.fdk_process import FunctionProcess
from tests.helpers import (
    DESTINATION_REGION,
    KINDS,
    NOW,
    SOURCE_REGION,
    FunctionFactory,
    assert_one_copy_each,
    copies_requested,
    event_for,
    new_compartment,
    seed_backup,
)


def _sweep(process: FunctionProcess, compartment: str, deadline: float = 30.0, **fields: Any) -> dict[str, Any]:
    body = {"action": "reconcile", "compartmentId": compartment, **fields}
    answer = process.invoke(body, deadline_seconds=deadline)
    result: dict[str, Any] = answer.json()
    assert answer.status == (502 if result["outcome"] in ("failed", "rejected") else 200), result
    return result


def _assert_oldest_first(backup_ids: list[str], backups: dict[str, dict[str, Any]]) -> None:
    times = [backups[backup_id]["timeCreated"] for backup_id in backup_ids]
    assert times == sorted(times), "copies were not requested oldest first"


def _members(backups: list[dict[str, Any]]) -> int:
    """How many volume backups the volume group backups among `backups` hold."""
    return sum(len(backup.get("volumeBackupIds") or []) for backup in backups)


def _by_id(backups: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {backup["id"]: backup for backup in backups}


@pytest.fixture
def twin(principal: ResourcePrincipal, emulator: Emulator) -> Iterator[FunctionProcess]:
    """A second container of the same function, with the same settings as function()."""
    environment = {
        **principal.environment(),
        "DESTINATION_REGION": DESTINATION_REGION,
        "BLOCKSTORAGE_ENDPOINT": emulator.endpoint_template,
        "METRICS_ENDPOINT": emulator.metrics_endpoint_template,
    }
    with FunctionProcess(environment) as process:
        yield process


# Requests


def test_sample_body_parses() -> None:
    request = parse_request(json.dumps(samples.load("reconcile.json")).encode())
    assert isinstance(request, ReconcileRequest)
    assert [spec.kind.value for spec in request.specs] == list(KINDS)
    assert request.max_copies == 10


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"compartmentId": "ocid1.volume.oc1.phx." + "a" * 60}, "compartmentId"),
        ({"compartmentId": 42}, "compartmentId"),
        ({"kinds": ["volume", "boot"]}, "kinds.1"),
        ({"kinds": []}, "kinds"),
        ({"sinceHours": 0}, "sinceHours"),
        ({"sinceHours": 10**9}, "sinceHours"),
        ({"maxCopies": 101}, "maxCopies"),
        ({"maxCopies": True}, "maxCopies"),
        ({"destinationRegions": ["mars-1"]}, "destinationRegions"),
        ({"dryRun": "yes"}, "dryRun"),
        ({"compartmentID": "x"}, "compartmentID"),
    ],
)
def test_bad_field_is_named(fields: dict[str, Any], field: str) -> None:
    body = {"action": "reconcile", "compartmentId": new_compartment(), **fields}
    with pytest.raises(InvalidRequest) as caught:
        parse_request(json.dumps(body).encode())
    assert caught.value.field == field


def test_source_region_as_destination_is_rejected(emulator: Emulator, function: FunctionFactory) -> None:
    body = _sweep(function(), new_compartment(), destinationRegions=[SOURCE_REGION])
    assert body["outcome"] == "rejected"
    assert body["reason"].startswith("destinationRegions:")
    assert emulator.requests == []


# Sweeps


def test_empty_compartment(emulator: Emulator, function: FunctionFactory) -> None:
    body = _sweep(function(), new_compartment())
    assert body["outcome"] == "already_copied"
    assert (body["scanned"], body["skipped"], body["alreadyCopied"], body["remaining"]) == (0, 0, 0, 0)
    assert (body["copied"], body["failed"], body["stoppedEarly"], body["scanComplete"]) == ([], [], None, True)
    assert body["sourceRegion"] == SOURCE_REGION
    assert copies_requested(emulator) == []
    # Only reads, each signed and answered, and the sweep's counts posted to Monitoring.
    assert {r.operation for r in emulator.requests} == {"list", "post_metrics"}
    assert all(r.status == 200 for r in emulator.requests)


def test_missing_copies_are_made_oldest_first_across_kinds(emulator: Emulator, function: FunctionFactory) -> None:
    compartment = new_compartment()
    missing = [seed_backup(emulator, compartment, KINDS[i % 3], hours_ago=100 - i) for i in range(6)]
    copied = [seed_backup(emulator, compartment, kind, hours_ago=50, copy_state="AVAILABLE") for kind in KINDS]
    in_progress = seed_backup(emulator, compartment, "volume_group", hours_ago=40, copy_state="CREATING")
    body = _sweep(function(), compartment, maxCopies=20)

    assert body["outcome"] == "copied"
    members = _members([*missing, *copied, in_progress])
    assert members == 8
    assert body["scanned"] == 10 + members
    assert body["skippedByReason"] == {"VolumeGroupMember": members}
    assert body["alreadyCopied"] == 4
    assert [entry["backupId"] for entry in body["copied"]] == [backup["id"] for backup in missing]
    assert body["inFlight"] == 1 + 4  # the volume group copy in progress, and this run's 4 limited copies
    made = copies_requested(emulator)
    assert made == [backup["id"] for backup in missing]
    assert_one_copy_each(emulator, made + [backup["id"] for backup in [*copied, in_progress]])
    for entry in body["copied"]:
        [copy] = emulator.copies_of(entry["backupId"], DESTINATION_REGION)
        assert entry["copyId"] == copy["id"]

    again = _sweep(function(), compartment, maxCopies=20)
    assert again["outcome"] == "already_copied"
    assert again["alreadyCopied"] == 10
    assert copies_requested(emulator) == made


def test_the_sweep_posts_its_counts(emulator: Emulator, function: FunctionFactory) -> None:
    compartment = new_compartment()
    for i in range(5):
        seed_backup(emulator, compartment, "volume", hours_ago=30 - i)
    emulator.inject(Fault(operation="copy", status=400, code="InvalidParameter", count=1))

    body = _sweep(function(), compartment, maxCopies=3)

    assert (len(body["copied"]), len(body["failed"]), body["remaining"]) == (2, 1, 3)
    assert (body["metricsPosted"], body["metricsFailed"]) == (3, 0)
    posted = {m.name: (m.dimensions, m.datapoints[0]["value"]) for m in emulator.posted_metrics(compartment)}
    region = {"sourceRegion": SOURCE_REGION}
    assert posted == {
        "sweep_copies_made": (region, 2),
        "sweep_copies_failed": (region, 1),
        "sweep_copies_remaining": (region, 3),
    }


def test_each_compartment_read_whole_posts_its_own_counts_and_one_not_read_none(
    emulator: Emulator, function: FunctionFactory
) -> None:
    """Issue 22, finding 9: the counts belong to the compartments they count, zero included, so a run
    split over a fan-out's children posts what one run posts (tests/fan_out shows it)."""
    busy, empty, denied = new_compartment(), new_compartment(), new_compartment()
    for i in range(3):
        seed_backup(emulator, busy, "volume", hours_ago=30 - i)
    emulator.deny_compartment(denied)

    scope = {"action": "reconcile", "compartmentIds": [busy, empty, denied], "maxCopies": 2}
    body = function().invoke(scope).json()

    assert body["outcome"] == "failed" and body["compartmentsFailedCount"] == 1
    region = {"sourceRegion": SOURCE_REGION}
    for compartment, (made, remaining) in ((busy, (2, 1)), (empty, (0, 0))):
        posted = {m.name: (m.dimensions, m.datapoints[0]["value"]) for m in emulator.posted_metrics(compartment)}
        assert posted == {
            "sweep_copies_made": (region, made),
            "sweep_copies_failed": (region, 0),
            "sweep_copies_remaining": (region, remaining),
        }, compartment
    assert emulator.posted_metrics(denied) == []
    assert (body["metricsPosted"], body["metricsFailed"]) == (6, 0)

    emulator.clear_metrics()
    unread = _sweep(function(), denied)
    assert (unread["metricsPosted"], unread["metricsReasonCode"]) == (0, "ScanIncomplete")
    assert emulator.posted_metrics() == []


def test_a_dry_run_posts_no_count(emulator: Emulator, function: FunctionFactory) -> None:
    compartment = new_compartment()
    seed_backup(emulator, compartment, "volume", hours_ago=3)

    body = _sweep(function(), compartment, dryRun=True)

    assert (body["metricsPosted"], body["metricsReasonCode"]) == (0, "DryRun")
    assert emulator.posted_metrics(compartment) == []


def test_dry_run_lists_the_plan_and_copies_nothing(emulator: Emulator, function: FunctionFactory) -> None:
    compartment = new_compartment()
    missing = [seed_backup(emulator, compartment, KINDS[i % 3], hours_ago=30 - i) for i in range(5)]
    body = _sweep(function(), compartment, dryRun=True, maxCopies=3)

    assert body["outcome"] == "dry_run"
    assert body["dryRun"] is True
    assert [entry["backupId"] for entry in body["planned"]] == [backup["id"] for backup in missing[:3]]
    assert body["copied"] == []
    assert body["remaining"] == 2
    assert body["remainingByReason"] == {"MaxCopies": 2}
    assert body["stoppedEarly"] == "max_copies"
    assert copies_requested(emulator) == []
    assert all(emulator.copies_of(backup["id"]) == [] for backup in missing)


def test_copy_limit_stops_the_run_and_the_next_run_resumes(emulator: Emulator, function: FunctionFactory) -> None:
    compartment = new_compartment()
    # Three copies already in flight from this region leave room for seven.
    for hours in (90, 91, 92):
        seed_backup(emulator, compartment, "volume", hours_ago=hours, copy_state="CREATING")
    missing = [seed_backup(emulator, compartment, "volume", hours_ago=80 - i) for i in range(14)]
    missing.append(seed_backup(emulator, compartment, "volume_group", hours_ago=60))
    process = function()

    first = _sweep(process, compartment, maxCopies=100)
    assert first["outcome"] == "copied"
    assert len(first["copied"]) == 7
    assert (first["stoppedEarly"], first["remaining"], first["inFlight"]) == ("copy_limit", 8, 10)
    assert first["scanComplete"] is True

    waiting = _sweep(process, compartment, maxCopies=100)
    assert (waiting["outcome"], waiting["reasonCode"], waiting["remaining"]) == ("skipped", "CopiesWaiting", 8)
    assert waiting["copied"] == []

    emulator.complete_copies()
    last = _sweep(process, compartment, maxCopies=100)
    assert (last["outcome"], len(last["copied"]), last["remaining"], last["stoppedEarly"]) == ("copied", 8, 0, None)

    made = copies_requested(emulator)
    assert made == [backup["id"] for backup in missing]
    assert_one_copy_each(emulator, made)
    # The limit was respected, never hit: no copy request was refused.
    assert not [r for r in emulator.requests if r.operation == "copy" and r.status != 200]


def test_limit_held_by_other_compartments_stops_at_once(emulator: Emulator, function: FunctionFactory) -> None:
    elsewhere = new_compartment()
    for hours in range(10):
        seed_backup(emulator, elsewhere, "volume", hours_ago=hours + 1, copy_state="CREATING")
    compartment = new_compartment()
    missing = [seed_backup(emulator, compartment, "volume", hours_ago=5 - i) for i in range(3)]
    boot = seed_backup(emulator, compartment, "boot_volume", hours_ago=1)

    body = _sweep(function(), compartment)
    # The service's LimitExceeded is not retried until the deadline: the run moves on.
    assert body["durationMs"] < 10_000
    assert body["outcome"] == "copied"
    assert [entry["backupId"] for entry in body["copied"]] == [boot["id"]]
    assert body["failed"] == []
    assert (body["stoppedEarly"], body["remainingByReason"]) == ("copy_limit", {"CopyLimit": 3})
    refused = [r for r in emulator.requests if r.operation == "copy" and r.status == 400]
    assert [r.error_code for r in refused] == ["LimitExceeded"]
    assert all(emulator.copies_of(backup["id"]) == [] for backup in missing)


def test_boot_volume_backups_are_copied_one_at_a_time(emulator: Emulator, function: FunctionFactory) -> None:
    compartment = new_compartment()
    boot_volume = "ocid1.bootvolume.oc1.phx." + uuid.uuid4().hex * 2
    chain = [
        seed_backup(emulator, compartment, "boot_volume", hours_ago=30 - i, volume_id=boot_volume) for i in range(3)
    ]
    process = function()
    made: list[str] = []
    for expected in chain:
        body = _sweep(process, compartment)
        assert [entry["backupId"] for entry in body["copied"]] == [expected["id"]]
        made.append(expected["id"])
        emulator.complete_copies()
    assert body["remaining"] == 0
    assert copies_requested(emulator) == made
    assert_one_copy_each(emulator, made)


def test_deadline_stops_the_run_and_the_next_run_resumes(emulator: Emulator, function: FunctionFactory) -> None:
    compartment = new_compartment()
    missing = [seed_backup(emulator, compartment, "volume", hours_ago=20 - i) for i in range(8)]
    process = function()
    _sweep(process, new_compartment())  # a warm container: the import of a cold one would eat the short deadline
    emulator.inject(Fault(operation="copy", delay_seconds=0.6, count=100))

    cut = _sweep(process, compartment, maxCopies=20, deadline=6.0)
    assert cut["outcome"] == "copied"
    # The compartment was read whole first; the deadline then cut the copying, and every copy not
    # made is counted as waiting for the next run, none dropped in silence.
    assert (cut["stoppedEarly"], cut["scanComplete"]) == ("deadline", True)
    assert 1 <= len(cut["copied"]) < 8
    assert cut["remainingByReason"] == {"Deadline": 8 - len(cut["copied"])}
    # It answered before the platform's deadline, with the time the fdk needs to send it.
    assert cut["durationMs"] < 6_000

    emulator.clear_faults()
    resumed = _sweep(process, compartment, maxCopies=20)
    assert resumed["alreadyCopied"] == len(cut["copied"])
    assert len(resumed["copied"]) == 8 - len(cut["copied"])
    assert (resumed["stoppedEarly"], resumed["remaining"]) == (None, 0)

    made = copies_requested(emulator)
    assert made == [backup["id"] for backup in missing]
    assert_one_copy_each(emulator, made)


def test_two_sweeps_at_once_make_one_copy_each(
    emulator: Emulator, function: FunctionFactory, twin: FunctionProcess
) -> None:
    compartment = new_compartment()
    missing = [seed_backup(emulator, compartment, KINDS[i % 3], hours_ago=40 - i) for i in range(9)]
    answers: list[dict[str, Any]] = []
    threads = [
        threading.Thread(target=lambda p=process: answers.append(_sweep(p, compartment, maxCopies=20)))
        for process in (function(), twin)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(answers) == 2
    assert all(answer["outcome"] in ("copied", "already_copied") for answer in answers)
    made = copies_requested(emulator)
    assert sorted(made) == sorted(backup["id"] for backup in missing)
    assert_one_copy_each(emulator, made)
    _assert_oldest_first(made, _by_id(missing))
    # Where both asked for the same copy, both name the one copy made.
    copy_ids = {entry["backupId"]: entry["copyId"] for answer in answers for entry in answer["copied"]}
    for answer in answers:
        for entry in answer["copied"]:
            assert copy_ids[entry["backupId"]] == entry["copyId"]


def test_sweep_racing_events_makes_one_copy_each(
    emulator: Emulator, function: FunctionFactory, twin: FunctionProcess
) -> None:
    compartment = new_compartment()
    missing = [seed_backup(emulator, compartment, KINDS[i % 3], hours_ago=40 - i) for i in range(9)]
    sweep_call = "01SWEEPRACE" + uuid.uuid4().hex[:10].upper()
    answers: list[dict[str, Any]] = []

    events = [event_for(KINDS[i % 3], backup["id"], compartmentId=compartment) for i, backup in enumerate(missing)]
    process = function()

    def send_events() -> None:
        # Newest first: the opposite of the sweep's order, so the two meet in the middle.
        for event in reversed(events):
            process.invoke(event)

    def sweep() -> None:
        body = {"action": "reconcile", "compartmentId": compartment, "maxCopies": 20}
        answers.append(twin.invoke(body, call_id=sweep_call).json())

    threads = [threading.Thread(target=send_events), threading.Thread(target=sweep)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    [answer] = answers
    assert answer["outcome"] in ("copied", "already_copied"), answer
    made = copies_requested(emulator)
    assert sorted(made) == sorted(backup["id"] for backup in missing)
    assert_one_copy_each(emulator, made)
    _assert_oldest_first(copies_requested(emulator, call_id=sweep_call), _by_id(missing))


# Scale: 2,500 backups in a private emulator, so the session's shared one stays small for
# the tests that follow.


@pytest.fixture(scope="module")
def large(principal: ResourcePrincipal) -> Iterator[tuple[Emulator, FunctionProcess]]:
    with Emulator() as own:
        own.trust(principal.token, principal.public_key_pem)
        environment = {
            **principal.environment(),
            "DESTINATION_REGION": DESTINATION_REGION,
            "BLOCKSTORAGE_ENDPOINT": own.endpoint_template,
            "METRICS_ENDPOINT": own.metrics_endpoint_template,
        }
        with FunctionProcess(environment) as process:
            yield own, process


def test_thousands_of_backups_are_caught_up_over_runs(large: tuple[Emulator, FunctionProcess]) -> None:
    emulator, process = large
    compartment = new_compartment()
    total = 2_500
    chained_boot_volume = "ocid1.bootvolume.oc1.phx." + uuid.uuid4().hex * 2
    other_region_backup = emulator.add_backup("volume", "eu-frankfurt-1", compartment)
    expected_skips = {"NotCopyable": 0, "OutsideWindow": 0, "NotYetAvailable": 0, "CopyOfAnotherBackup": 0}
    missing: list[dict[str, Any]] = []
    already = 0
    backups: list[dict[str, Any]] = []
    for i in range(total):
        kind = KINDS[i % 3]
        hours_ago = 160 - i * (150 / total)
        bucket = i % 50
        if bucket == 0:
            backups.append(seed_backup(emulator, compartment, kind, hours_ago, state="FAULTY"))
            expected_skips["NotCopyable"] += 1
        elif bucket == 1:
            backups.append(seed_backup(emulator, compartment, kind, hours_ago + 400))
            expected_skips["OutsideWindow"] += 1
        elif bucket == 2 and i > total - 100:
            backups.append(seed_backup(emulator, compartment, kind, hours_ago, state="CREATING"))
            expected_skips["NotYetAvailable"] += 1
        elif bucket == 3 and i < 300:
            # Copies made into this region from elsewhere are not this sweep's to copy on.
            copy = emulator.add_backup(
                "volume",
                SOURCE_REGION,
                compartment,
                time_created=NOW - timedelta(hours=hours_ago),
                source_backup_id=other_region_backup["id"],
            )
            backups.append(copy)
            expected_skips["CopyOfAnotherBackup"] += 1
        elif bucket == 4:
            volume_id = chained_boot_volume if kind == "boot_volume" and i < 500 else None
            backups.append(seed_backup(emulator, compartment, kind, hours_ago, volume_id=volume_id))
            missing.append(backups[-1])
        else:
            backups.append(seed_backup(emulator, compartment, kind, hours_ago, copy_state="AVAILABLE"))
            already += 1
    by_id = _by_id(backups)
    limited = [b for b in missing if ".bootvolumebackup." not in b["id"]]
    chained = [b for b in missing if b.get("bootVolumeId") == chained_boot_volume]
    assert len(missing) == 50 and len(limited) > 30 and len(chained) >= 3

    runs: list[dict[str, Any]] = []
    made_per_run: list[list[str]] = []
    while not runs or runs[-1]["remaining"]:
        assert len(runs) < 12, runs[-1]
        emulator.clear_requests()
        runs.append(_sweep(process, compartment, maxCopies=100, deadline=60.0))
        made_per_run.append(copies_requested(emulator))
        emulator.complete_copies()

    first = runs[0]
    # A volume group backup's volume backups are listed too, and never copied on their own.
    expected_skips["VolumeGroupMember"] = _members(backups)
    assert first["scanned"] == total + expected_skips["VolumeGroupMember"]
    assert first["skippedByReason"] == {key: value for key, value in sorted(expected_skips.items()) if value}
    assert first["alreadyCopied"] == already
    assert first["scanComplete"] is True
    assert first["stoppedEarly"] == "copy_limit"
    assert len(json.dumps(first)) < 40_000, "the answer must stay small however large the compartment"
    for made in made_per_run:
        _assert_oldest_first(made, by_id)
    made = [backup_id for run in made_per_run for backup_id in run]
    assert sorted(made) == sorted(b["id"] for b in missing)
    assert_one_copy_each(emulator, made)
    # Across runs, each chain of incremental backups is copied in order: the limited kinds
    # as one queue, and the boot volume whose copies run one at a time.
    _assert_oldest_first([b for b in made if b in {x["id"] for x in limited}], by_id)
    _assert_oldest_first([b for b in made if b in {x["id"] for x in chained}], by_id)
    window_start = (NOW - timedelta(hours=168)).isoformat()
    skipped = [
        b["id"]
        for b in backups
        if b["lifecycleState"] != "AVAILABLE" or datetime.fromisoformat(b["timeCreated"]).isoformat() < window_start
    ]
    assert (
        len(skipped)
        == expected_skips["NotCopyable"] + expected_skips["OutsideWindow"] + expected_skips["NotYetAvailable"]
    )
    assert all(emulator.copies_of(backup_id) == [] for backup_id in skipped)
