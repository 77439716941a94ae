"""A copy that could not be marked is never silent (issue 24, finding 7): WARNING, and copy_mark_failures.

Such a copy never expires. The answer says so (marked: false, markReasonCode); the log line is a
WARNING even though the outcome is a success; and the count is posted into the source backup's
compartment, by destination region, where the deploy kit's alarm reads it. An invocation that
marked every copy posts nothing (test_event_path_posts_nothing.py).
"""

from __future__ import annotations

import logging
from typing import Any

from backup_copier.deploy_kit import recovery_point
from backup_copier.shared import logs
from backup_copier.shared.metrics import COPY_MARK_FAILURES
from backup_copier.shared.result import CopyResult, InvocationResult, Outcome
from blockstorage_emulator import Emulator
from blockstorage_emulator.telemetry import PostedMetric
from local_runtime.fdk_process import FunctionProcess
from tests.helpers import DESTINATION_REGION, SOURCE_REGION, FunctionFactory, event_for, new_compartment


def _line(process: FunctionProcess, call_id: str) -> dict[str, Any]:
    [line] = [line for line in process.log_lines() if line.get("callId") == call_id]
    return line


def _counted(posted: list[PostedMetric]) -> list[tuple[str, str, dict[str, str], float]]:
    return [
        (m.namespace, m.compartment_id, m.dimensions, m.datapoints[0]["value"])
        for m in posted
        if m.name == COPY_MARK_FAILURES
    ]


def test_an_unmarked_copy_is_a_warning_and_a_count_the_alarm_reads(
    emulator: Emulator, function: FunctionFactory
) -> None:
    compartment = new_compartment()
    backup = emulator.add_backup("volume", SOURCE_REGION, compartment)
    emulator.deny("update", region=DESTINATION_REGION)
    process = function()

    answer = process.invoke(event_for("volume", backup["id"], compartmentId=compartment))

    body = answer.json()
    assert (answer.status, body["outcome"], body["markFailures"]) == (200, "copied", 1)
    [copy] = body["copies"]
    assert (copy["marked"], copy["markReasonCode"]) == (False, "NotAuthorizedOrNotFound")
    # Not "run the check", which cannot prove an update: the permission, where, and the statements to add.
    assert f"lacks VOLUME_BACKUP_UPDATE in {DESTINATION_REGION}: add the mark statements" in copy["markReason"]
    assert _line(process, body["callId"])["level"] == "WARNING"
    posted = emulator.posted_metrics(compartment)
    assert _counted(posted) == [("backup_copier", compartment, {"destinationRegion": DESTINATION_REGION}, 1.0)]
    assert [m.region for m in posted] == [SOURCE_REGION]
    assert body["metricsPosted"] == 1
    # The deploy kit's alarm on it: the same metric, summed over any destination region.
    assert recovery_point.mark_failures_alarm().query == f"{COPY_MARK_FAILURES}[1h].sum() > 0"


def test_the_sweep_counts_the_marks_it_could_not_mend_with_its_own_counts(
    emulator: Emulator, function: FunctionFactory
) -> None:
    compartment = new_compartment()
    made_by_event = emulator.add_backup("volume", SOURCE_REGION, compartment, display_name="by-event")
    emulator.deny("update", region=DESTINATION_REGION)
    function().invoke(event_for("volume", made_by_event["id"], compartmentId=compartment))
    emulator.complete_copies()
    emulator.add_backup("volume", SOURCE_REGION, compartment, display_name="by-sweep")
    emulator.clear_metrics()

    process = function()
    body = process.invoke({"action": "reconcile", "compartmentId": compartment}).json()

    # One copy made now and left unmarked, one made earlier whose mark could not be mended.
    [made] = body["copied"]
    assert made["marked"] is False
    [unmended] = body["failed"]
    assert unmended["reasonCode"] == "NotAuthorizedOrNotFound"
    assert body["markFailures"] == 2
    assert _line(process, body["callId"])["level"] == "ERROR"  # the failed repair fails the sweep
    posted = emulator.posted_metrics(compartment)
    assert _counted(posted) == [("backup_copier", compartment, {"destinationRegion": DESTINATION_REGION}, 2.0)]
    assert {m.name for m in posted} == {
        "sweep_copies_made",
        "sweep_copies_failed",
        "sweep_copies_remaining",
        COPY_MARK_FAILURES,
    }


def test_the_log_level_is_decided_by_the_result() -> None:
    copied = InvocationResult(Outcome.COPIED, copies=[CopyResult(DESTINATION_REGION, Outcome.COPIED)])
    unmarked = InvocationResult(Outcome.COPIED, mark_failures=1)
    assert [logs.level(r) for r in (copied, unmarked, InvocationResult(Outcome.FAILED, mark_failures=1))] == [
        logging.INFO,
        logging.WARNING,
        logging.ERROR,
    ]
    assert '"level":"WARNING"' in logs.render(unmarked)
