"""Issue 17 through the fdk socket: a coordinator fans out, its children run detached, each in a
container of its own (tests/fan_out/support.py), and together they do what one unsplit run does."""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from blockstorage_emulator import Emulator, Fault, PostedMetric
from blockstorage_emulator.functions import new_call_id
from tests.helpers import (
    NOW,
    SOURCE_REGION,
    FunctionFactory,
    assert_one_copy_each,
    copies_requested,
    new_compartment,
    seed_backup,
    seed_copy,
)

from .support import FUNCTION_COMPARTMENT, children, containers, fan_out_settings, invoke

VOLUME_ONLY = {"kinds": ["volume"]}


def _streams(posted: list[PostedMetric]) -> dict[tuple[str, str, tuple[tuple[str, str], ...]], list[float]]:
    """Each stream Monitoring received (compartment, metric, dimensions), with every value posted to it."""
    streams: dict[tuple[str, str, tuple[tuple[str, str], ...]], list[float]] = {}
    for metric in posted:
        key = (metric.compartment_id, metric.name, tuple(sorted(metric.dimensions.items())))
        streams.setdefault(key, []).extend(point["value"] for point in metric.datapoints)
    return streams


def _seed_world(emulator: Emulator, compartments: list[str], every: int) -> dict[str, list[dict[str, Any]]]:
    """Every `every`-th compartment holds an expired marked copy with a newer marked copy of the
    same volume (so keep-last does not protect the old one); every other one of those, a volume
    backup without its copy: fewer than the copy limit, so that the limit does not decide which."""
    world: dict[str, list[dict[str, Any]]] = {"missing": [], "expired": []}
    for position, compartment in enumerate(compartments[::every]):
        if position % 2 == 0:
            world["missing"].append(seed_backup(emulator, compartment, "volume", hours_ago=10 + position))
        volume = f"ocid1.volume.oc1.phx.{'f' * 40}{position:020d}"
        _, expired = seed_copy(emulator, compartment, hours_ago=72, expires=NOW - timedelta(days=1), volume_id=volume)
        seed_copy(emulator, compartment, hours_ago=24, volume_id=volume)
        world["expired"].append(expired)
    return world


def test_a_thousand_compartments_become_ten_children_that_do_what_one_unsplit_run_does(
    emulator: Emulator, function: FunctionFactory
) -> None:
    compartments = [new_compartment() for _ in range(1000)]
    world = _seed_world(emulator, compartments, every=50)
    settings = fan_out_settings(emulator, batch=100)
    coordinator = function(**settings)
    pool = containers(emulator, function)
    unsplit = function(**{**settings, "FAN_OUT": "off"})
    scope = {"compartmentIds": compartments, **VOLUME_ONLY}

    # The report: ten children posting at once post exactly the streams one unsplit run posts.
    alone = invoke(unsplit, {"action": "report", **scope})
    posted_alone = _streams(emulator.posted_metrics())
    emulator.clear_metrics()
    answer = invoke(coordinator, {"action": "report", **scope})
    assert (answer["outcome"], answer["batches"], answer["batchesStarted"]) == ("fanned_out", 10, 10)
    assert [child["compartments"] for child in answer["children"]] == [100] * 10
    reports = children(emulator)
    assert len(reports) == 10 and {report["fanOutOf"] for report in reports} == {answer["callId"]}
    assert sum(report["compartmentsScanned"] for report in reports) == alone["compartmentsScanned"] == 1000
    assert sum(report["totals"]["volumes"] for report in reports) == alone["totals"]["volumes"]
    posted_split = _streams(emulator.posted_metrics())
    assert posted_split.keys() == posted_alone.keys()
    # Each stream got one value from one child: no child wrote another's stream.
    assert all(len(values) == 1 for values in posted_split.values())
    for key, values in posted_split.items():
        assert values[0] == pytest.approx(posted_alone[key][0], abs=0.01), key

    # The sweep and the expiry pass: the children copy and delete exactly what one run over the
    # whole scope would (what that is, tests/scope/test_tenancy_wide.py shows for an unsplit run;
    # running one here too would double this test's time).
    emulator.clear_function_invocations()
    emulator.clear_requests()
    invoke(coordinator, {"action": "reconcile", **scope})
    sweeps = children(emulator)
    assert len(sweeps) == 10 and {sweep["outcome"] for sweep in sweeps} <= {"copied", "already_copied", "skipped"}
    assert sum(len(sweep["copied"]) for sweep in sweeps) == len(world["missing"])
    assert sorted(copies_requested(emulator)) == sorted(backup["id"] for backup in world["missing"])
    assert_one_copy_each(emulator, [backup["id"] for backup in world["missing"]])

    emulator.clear_function_invocations()
    invoke(coordinator, {"action": "expire", "compartmentIds": compartments})
    passes = children(emulator)
    deleted = [entry["copyId"] for expiry in passes for entry in expiry["deleted"]]
    assert sorted(deleted) == sorted(copy["id"] for copy in world["expired"])
    # One search by fanOutOf finds each family's log lines, and only theirs.
    family = [line for line in pool.log_lines() if line.get("fanOutOf") == answer["callId"]]
    assert len(family) == 10
    assert Counter(line["outcome"] for line in family) == Counter(report["outcome"] for report in reports)
    assert {line["callId"] for line in family} == {report["callId"] for report in reports}


def test_a_fanned_out_reports_children_post_every_stream_within_the_tenancys_rate(
    emulator: Emulator, function: FunctionFactory
) -> None:
    """Issue 23: each child posted at the function's whole rate, so children posting at once asked
    Monitoring for more than its 50 calls a second and lost streams to 429s. Now each child posts in
    its slot of the function's calls: three children of 1,500 volumes each post together no faster than
    one run, every stream gets there at the first try, and they are exactly one unsplit run's."""
    settings = fan_out_settings(emulator, batch=2)
    containers(emulator, function, count=3)  # one container each, as OCI runs detached calls: all at once
    compartments = [new_compartment() for _ in range(6)]
    for compartment in compartments:
        for minutes in range(750):
            emulator.seed_backup(
                "volume", SOURCE_REGION, compartment, time_created=NOW - timedelta(minutes=60 + minutes)
            )
    scope = {"compartmentIds": compartments, **VOLUME_ONLY}

    alone = invoke(function(**{**settings, "FAN_OUT": "off"}), {"action": "report", **scope})
    posted_alone = _streams(emulator.posted_metrics())
    emulator.clear_metrics()
    emulator.clear_requests()
    answer = invoke(function(**settings), {"action": "report", **scope})
    reports = children(emulator)

    assert (answer["outcome"], answer["batchesStarted"], len(reports)) == ("fanned_out", 3, 3)
    assert (alone["metricsPosted"], alone["metricsFailed"]) == (len(posted_alone), 0) == (4500 + 2 * 6, 0)
    assert [report["metricsFailed"] for report in reports] == [0, 0, 0]
    assert sum(report["metricsPosted"] for report in reports) == alone["metricsPosted"]
    throttled = [r for r in emulator.requests if r.operation == "post_metrics" and r.status == 429]
    assert throttled == []
    posted_split = _streams(emulator.posted_metrics())
    assert posted_split.keys() == posted_alone.keys() and all(len(values) == 1 for values in posted_split.values())
    for key, values in posted_split.items():
        assert values[0] == pytest.approx(posted_alone[key][0], abs=0.01), key


def test_a_child_never_fans_out(emulator: Emulator, function: FunctionFactory) -> None:
    settings = fan_out_settings(emulator, batch=2)
    compartments = [new_compartment() for _ in range(5)]
    coordinator = new_call_id()

    answer = invoke(
        function(**settings),
        {"action": "report", "compartmentIds": compartments, "fanOutOf": coordinator, **VOLUME_ONLY},
    )

    assert answer["outcome"] == "reported" and answer["fanOutOf"] == coordinator
    assert answer["compartmentsScanned"] == 5
    assert [request for request in emulator.requests if request.operation.endswith("_function")] == []
    assert emulator.function_invocations() == []


def test_invoke_denied_fails_naming_the_statement(emulator: Emulator, function: FunctionFactory) -> None:
    settings = fan_out_settings(emulator, batch=2)
    containers(emulator, function)
    emulator.deny("invoke_function")
    compartments = [new_compartment() for _ in range(5)]

    answer = invoke(function(**settings), {"action": "reconcile", "compartmentIds": compartments, **VOLUME_ONLY})

    assert (answer["outcome"], answer["reasonCode"]) == ("failed", "NotAuthorizedOrNotFound")
    assert f"to use fn-invocation in compartment id {FUNCTION_COMPARTMENT}" in answer["reason"]
    assert answer["compartmentsRemaining"] == {"count": 5, "compartmentIds": compartments}
    assert answer["batchesStarted"] == 0 and emulator.function_invocations() == []
    # Nothing was read either: the coordinator does not fall back to doing the scope itself.
    assert [request for request in emulator.requests if request.operation == "list"] == []


def test_throttled_then_accepted(emulator: Emulator, function: FunctionFactory) -> None:
    settings = fan_out_settings(emulator, batch=2)
    containers(emulator, function)
    emulator.inject(Fault(operation="invoke_function", status=429, code="TooManyRequests", count=3))
    compartments = [new_compartment() for _ in range(5)]

    answer = invoke(function(**settings), {"action": "report", "compartmentIds": compartments, **VOLUME_ONLY})

    assert (answer["outcome"], answer["batchesStarted"], answer["retries"]) == ("fanned_out", 3, 3)
    assert answer["retriedErrors"] == {"429 TooManyRequests": 3}
    assert sorted(c for report in children(emulator) for c in [report["compartmentsScanned"]]) == [1, 2, 2]


def test_two_coordinators_at_once_copy_once_and_delete_once(emulator: Emulator, function: FunctionFactory) -> None:
    settings = fan_out_settings(emulator, batch=2)
    containers(emulator, function)
    compartments = [new_compartment() for _ in range(6)]
    missing = [seed_backup(emulator, c, "volume", hours_ago=5 + n) for n, c in enumerate(compartments)]
    expired = []
    for n, compartment in enumerate(compartments):
        volume = f"ocid1.volume.oc1.phx.{'e' * 40}{n:020d}"
        expired.append(
            seed_copy(emulator, compartment, hours_ago=72, expires=NOW - timedelta(days=1), volume_id=volume)[1]
        )
        seed_copy(emulator, compartment, hours_ago=24, volume_id=volume)
    coordinators = [function(**settings), function(**settings, COORDINATOR="1")]

    def both(body: dict[str, Any]) -> list[dict[str, Any]]:
        answers: list[dict[str, Any]] = []
        threads = [threading.Thread(target=lambda p=p: answers.append(invoke(p, body))) for p in coordinators]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return answers

    started = both({"action": "reconcile", "compartmentIds": compartments, **VOLUME_ONLY})
    assert [answer["outcome"] for answer in started] == ["fanned_out", "fanned_out"]
    assert len({answer["callId"] for answer in started}) == 2
    sweeps = children(emulator)
    assert len(sweeps) == 6
    # Each backup copied once: the second family found the copy, or its request met the same retry token.
    assert_one_copy_each(emulator, [backup["id"] for backup in missing])

    emulator.clear_function_invocations()
    emulator.clear_requests()
    both({"action": "expire", "compartmentIds": compartments})
    passes = children(emulator)
    entries = [entry for expiry in passes for entry in expiry["deleted"]]
    # Each due copy deleted by exactly one pass; a pass of the other family found it already going.
    deleted_by = Counter(entry["copyId"] for entry in entries if not entry.get("alreadyGone"))
    assert sorted(deleted_by) == sorted(copy["id"] for copy in expired) and set(deleted_by.values()) == {1}
    assert {entry["copyId"] for entry in entries} == set(deleted_by)
    accepted = Counter(
        r.path.rsplit("/", 1)[1] for r in emulator.requests if r.operation == "delete" and r.status < 300
    )
    assert set(accepted.values()) == {1}


def test_the_copy_limit_exceeded_across_children_loses_nothing(emulator: Emulator, function: FunctionFactory) -> None:
    """Children count only their own compartments' copies in flight, so together they ask for more
    than the 10 Oracle allows; the service's LimitExceeded defers the rest to the next sweep."""
    settings = fan_out_settings(emulator, batch=2)
    containers(emulator, function)
    compartments = [new_compartment() for _ in range(4)]
    missing = [
        seed_backup(emulator, compartment, "volume", hours_ago=20 - n - 5 * position)
        for position, compartment in enumerate(compartments)
        for n in range(4)
    ]
    # 20 shared by two children: each may copy its own eight.
    body = {"action": "reconcile", "compartmentIds": compartments, "maxCopies": 20, **VOLUME_ONLY}

    invoke(function(**settings), body)
    first = children(emulator)

    made = copies_requested(emulator)
    assert len(made) == 10  # the service's limit, reached by two children together
    refused = [r for r in emulator.requests if r.operation == "copy" and r.error_code == "LimitExceeded"]
    assert refused, "each child saw room for its own eight: together they met the service's limit"
    assert {sweep["outcome"] for sweep in first} <= {"copied"}  # deferred, not failed
    deferred = sum(sweep["remainingByReason"].get("CopyLimit", 0) for sweep in first)
    assert deferred == len(missing) - 10

    emulator.complete_copies()
    emulator.clear_function_invocations()
    invoke(function(**settings), body)
    children(emulator)
    assert_one_copy_each(emulator, [backup["id"] for backup in missing])


def test_a_subtree_is_expanded_by_the_coordinator_and_an_unlistable_compartment_named(
    emulator: Emulator, function: FunctionFactory
) -> None:
    settings = fan_out_settings(emulator, batch=2)
    containers(emulator, function)
    root = emulator.add_compartment(emulator.tenancy_id, f"fan-out-{new_call_id()[-8:]}")
    kids = [emulator.add_compartment(root, f"kid{n}") for n in range(3)]
    emulator.add_compartment(kids[2], "grandchild")
    emulator.deny_compartment(kids[2])  # its children cannot be listed, so its subtree is unknown

    answer = invoke(function(**settings), {"action": "report", "compartmentId": root, "subtree": True, **VOLUME_ONLY})

    assert (answer["outcome"], answer["compartments"], answer["batches"]) == ("fanned_out", 3, 2)
    assert [failure["compartmentId"] for failure in answer["compartmentsFailed"]] == [kids[2]]
    assert "Not split, so not run" in answer["reason"]
    bodies = [call.body for call in emulator.function_invocations()]
    assert all(b'"subtree"' not in body and b'"compartmentId"' not in body for body in bodies)
    reports = children(emulator)
    assert sum(report["compartmentsScanned"] for report in reports) == 3
    assert {report["fanOutOf"] for report in reports} == {answer["callId"]}


def test_a_listed_item_that_is_no_compartment_is_named_by_the_coordinator_as_by_an_unsplit_run(
    emulator: Emulator, function: FunctionFactory
) -> None:
    """The coordinator expands the scope itself: an item of the listing that is no compartment gives no
    child its batch, so the coordinator's answer names it in malformedItems, as the unsplit run's does."""
    settings = fan_out_settings(emulator, batch=2)
    containers(emulator, function)
    root = emulator.add_compartment(emulator.tenancy_id, f"fan-out-{new_call_id()[-8:]}")
    kids = [emulator.add_compartment(root, f"kid{n}") for n in range(2)]
    emulator.add_compartment(root, "odd", compartment_id="not-an-ocid")
    body = {"action": "report", "compartmentId": root, "subtree": True, **VOLUME_ONLY}

    try:
        unsplit = invoke(function(), body)
        answer = invoke(function(**settings), body)
    finally:  # the session's emulator is shared: later tenancy-wide runs must not meet it
        emulator.set_compartment_state("not-an-ocid", "DELETED")

    assert answer["outcome"] == "fanned_out" and answer["compartments"] == 3
    for result in (unsplit, answer):
        assert result["malformedItems"]["count"] == 1, result
        [named] = result["malformedItems"]["items"]
        assert (named["operation"], named["compartmentId"], named["id"]) == ("ListCompartments", root, "not-an-ocid")
    given = [json.loads(call.body)["compartmentIds"] for call in emulator.function_invocations()]
    assert sorted(compartment for batch in given for compartment in batch) == sorted([root, *kids])
    assert sum(child["compartmentsScanned"] for child in children(emulator)) == 3


def _seed_sweep_world(emulator: Emulator, compartments: list[str]) -> None:
    """Compartment by position: two missing volume backups; two boot volume backups of one boot volume
    (one copied, one waits for it: BootVolumeBusy); one backup already copied; nothing; one missing
    boot volume backup; one still being made. Few enough copies for any child's share of maxCopies."""
    first, busy, copied, _, boot, creating = compartments
    for hours_ago in (30, 29):
        seed_backup(emulator, first, "volume", hours_ago=hours_ago)
    boot_volume = f"ocid1.bootvolume.oc1.phx.{new_call_id().lower()}"
    for hours_ago in (28, 27):
        seed_backup(emulator, busy, "boot_volume", hours_ago=hours_ago, volume_id=boot_volume)
    seed_backup(emulator, copied, "volume", hours_ago=26, copy_state="AVAILABLE")
    seed_backup(emulator, boot, "boot_volume", hours_ago=25)
    seed_backup(emulator, creating, "volume", hours_ago=1, state="CREATING")


def _by_position(
    streams: dict[tuple[str, str, tuple[tuple[str, str], ...]], list[float]], compartments: list[str]
) -> dict[tuple[int, str, tuple[tuple[str, str], ...]], list[float]]:
    position = {compartment: index for index, compartment in enumerate(compartments)}
    return {
        (position[compartment], name, dimensions): values for (compartment, name, dimensions), values in streams.items()
    }


def test_a_fanned_out_sweep_posts_exactly_the_streams_of_one_unsplit_sweep(
    emulator: Emulator, function: FunctionFactory
) -> None:
    """Issue 22, finding 9: each child posted its counts into its batch's first compartment, so an alarm
    on the sweep's counts read one batch. Two worlds seeded alike, one swept whole, one fanned out."""
    settings = fan_out_settings(emulator, batch=2)
    containers(emulator, function)
    whole, split = [new_compartment() for _ in range(6)], [new_compartment() for _ in range(6)]
    _seed_sweep_world(emulator, whole)
    _seed_sweep_world(emulator, split)

    alone = invoke(function(**{**settings, "FAN_OUT": "off"}), {"action": "reconcile", "compartmentIds": whole})
    posted_alone = _by_position(_streams(emulator.posted_metrics()), whole)
    emulator.clear_metrics()
    answer = invoke(function(**settings), {"action": "reconcile", "compartmentIds": split})
    sweeps = children(emulator)
    posted_split = _by_position(_streams(emulator.posted_metrics()), split)

    assert (answer["outcome"], answer["batchesStarted"], len(sweeps)) == ("fanned_out", 3, 3)
    assert (
        (len(alone["copied"]), alone["remaining"])
        == (4, 1)
        == (
            sum(len(sweep["copied"]) for sweep in sweeps),
            sum(sweep["remaining"] for sweep in sweeps),
        )
    )
    # Three streams for each compartment, zero included, each written once, by whichever run read it.
    assert len(posted_split) == 3 * 6 and all(len(values) == 1 for values in posted_split.values())
    assert posted_split == posted_alone
    made = {position: values[0] for (position, name, _), values in posted_split.items() if name == "sweep_copies_made"}
    remaining = {p: v[0] for (p, name, _), v in posted_split.items() if name == "sweep_copies_remaining"}
    assert (made, remaining) == ({0: 2, 1: 1, 2: 0, 3: 0, 4: 1, 5: 0}, {0: 0, 1: 1, 2: 0, 3: 0, 4: 0, 5: 0})
