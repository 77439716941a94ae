"""Injected faults through the real fdk socket and SDK: the final outcome, the attempts,
no duplicate copy, and an answer before the deadline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from blockstorage_emulator import Emulator, Fault
from local_runtime.credentials import ResourcePrincipal
from tests.helpers import DESTINATION_REGION, FunctionFactory, event_for
from tests.reliability.conftest import FIGURES, count_copies, deliver

TRANSIENT = [
    Fault(operation="copy", status=429, count=2),
    Fault(operation="copy", status=500, count=2),
    Fault(operation="get", status=503, count=2),
    Fault(operation="list", status=503, count=1),
    Fault(operation="copy", status=400, code="LimitExceeded", count=3),
    Fault(operation="copy", drop_connection=True, count=1),
    Fault(operation="get", drop_connection=True, count=2),
    Fault(operation="copy", status=409, code="IncorrectState", count=1),
]


@pytest.mark.parametrize("fault", TRANSIENT, ids=[f"{f.operation}-{f.describe()}" for f in TRANSIENT])
def test_transient_fault_is_retried_to_exactly_one_copy(
    fault: Fault, emulator: Emulator, function: FunctionFactory, new_backup: Callable[..., dict[str, Any]]
) -> None:
    backup = new_backup("volume")
    emulator.inject(fault)
    FIGURES.faults_injected += fault.count
    _, result = deliver(function(), event_for("volume", backup["id"]), deadline_seconds=20)

    assert result["outcome"] == "copied", result
    assert result["retries"] == fault.count
    # get, list, copy, record on the source, mark the copy; plus one per fault
    assert result["attempts"] == 5 + fault.count
    assert emulator.faults_remaining() == 0
    assert len(emulator.copies_of(backup["id"], DESTINATION_REGION)) == 1
    count_copies(emulator, [backup["id"]], DESTINATION_REGION)
    FIGURES.faults_survived += fault.count


def test_dropped_answer_after_the_copy_was_made_still_gives_one_copy(
    emulator: Emulator, function: FunctionFactory, new_backup: Callable[..., dict[str, Any]]
) -> None:
    """The worst case for duplicates: the service made the copy but the answer was lost."""
    backup = new_backup("volume_group")
    # A slow copy answer past the per-attempt read timeout: the copy exists, the client gave up.
    emulator.inject(Fault(operation="copy", delay_seconds=4.0, count=1))
    FIGURES.faults_injected += 1
    first, first_result = deliver(function(), event_for("volume_group", backup["id"]), deadline_seconds=5)
    assert first.status == 502
    assert first_result["outcome"] == "failed"
    assert "Still failing after" in first_result["reason"]
    # Redelivery finds the copy the lost answer made.
    _, again = deliver(function(), event_for("volume_group", backup["id"]), duplicate=True)
    assert again["outcome"] in ("already_copied", "copied")
    assert len(emulator.copies_of(backup["id"], DESTINATION_REGION)) == 1
    count_copies(emulator, [backup["id"]], DESTINATION_REGION)
    FIGURES.faults_survived += 1


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        (Fault(operation="copy", status=400, code="LimitExceeded", count=1000), "LimitExceeded"),
        (Fault(operation="copy", status=429, count=1000), "TooManyRequests"),
        (Fault(operation="get", delay_seconds=30.0, count=1), "ConnectionFailed"),
    ],
    ids=["limit-never-clears", "throttled-throughout", "slower-than-deadline"],
)
def test_persistent_fault_answers_failed_before_the_deadline(
    fault: Fault, code: str, emulator: Emulator, function: FunctionFactory, new_backup: Callable[..., dict[str, Any]]
) -> None:
    backup = new_backup("volume")
    emulator.inject(fault)
    FIGURES.faults_injected += 1
    answer, result = deliver(function(), event_for("volume", backup["id"]), deadline_seconds=5)
    assert answer.status == 502
    assert result["outcome"] == "failed"
    assert result["reasonCode"] == code
    assert "attempts in" in result["reason"]
    if code == "LimitExceeded":
        assert "limit of concurrent cross-region copies" in result["reason"]
    assert emulator.copies_of(backup["id"]) == []
    emulator.clear_faults()
    FIGURES.faults_survived += 1  # survived: a clear answer in time, not a killed container


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        (Fault(operation="get", status=404, code="NotAuthorizedOrNotFound", count=1), "NotAuthorizedOrNotFound"),
        (Fault(operation="copy", status=400, code="InvalidParameter", count=1), "InvalidParameter"),
    ],
    ids=["404", "400-invalid-parameter"],
)
def test_permanent_fault_is_not_retried(
    fault: Fault, code: str, emulator: Emulator, function: FunctionFactory, new_backup: Callable[..., dict[str, Any]]
) -> None:
    backup = new_backup("boot_volume")
    emulator.inject(fault)
    FIGURES.faults_injected += 1
    answer, result = deliver(function(), event_for("boot_volume", backup["id"]))
    assert answer.status == 502
    assert result["reasonCode"] == code
    assert result["retries"] == 0
    assert emulator.copies_of(backup["id"]) == []
    FIGURES.faults_survived += 1


def test_rotated_session_token_is_picked_up_after_a_401(
    emulator: Emulator,
    function: FunctionFactory,
    new_backup: Callable[..., dict[str, Any]],
    principal: ResourcePrincipal,
) -> None:
    process = function()
    backup = new_backup("volume")
    deliver(process, event_for("volume", backup["id"]))  # the container now holds the current token
    old = principal.token
    emulator.trust(principal.rotate(), principal.public_key_pem)
    emulator.revoke(old)
    emulator.clear_requests()
    FIGURES.faults_injected += 1

    second = new_backup("volume")
    _, result = deliver(process, event_for("volume", second["id"]))
    assert result["outcome"] == "copied"
    # The SDK's resource-principal signer re-reads the token file after one 401.
    assert [r.status for r in emulator.requests][:2] == [401, 200]
    assert len(emulator.copies_of(second["id"])) == 1
    FIGURES.faults_survived += 1
