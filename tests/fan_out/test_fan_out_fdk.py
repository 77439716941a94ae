"""Fan-out through the fdk socket: bad settings and forged fanOutOf refused, children run in place,
and a body every child would refuse refused by the coordinator, which starts none."""

from __future__ import annotations

import pytest

from blockstorage_emulator import Emulator
from blockstorage_emulator.functions import new_call_id
from tests.helpers import SOURCE_REGION, FunctionFactory, new_compartment, seed_backup

from .support import containers, fan_out_settings


@pytest.fixture
def fan_out_on(emulator: Emulator) -> dict[str, str]:
    return fan_out_settings(emulator, batch=2)


def _functions_calls(emulator: Emulator) -> list[str]:
    return [request.operation for request in emulator.requests if request.operation.endswith("_function")]


@pytest.mark.parametrize(("key", "value"), [("FAN_OUT", "yes"), ("FAN_OUT_BATCH", "5000")])
def test_a_bad_setting_fails_naming_its_key_and_sends_nothing(
    function: FunctionFactory, emulator: Emulator, key: str, value: str
) -> None:
    process = function(**{key: value})

    for _ in range(2):  # and the process keeps serving
        response = process.invoke({"action": "report", "compartmentId": new_compartment()})
        answer = response.json()
        assert (response.status, answer["outcome"], answer["reasonCode"]) == (502, "failed", "InvalidSetting")
        assert (
            answer["reason"].startswith(f"{key}: ") and f"fn config function <app> <function> {key}" in answer["reason"]
        )
    assert emulator.requests == []


@pytest.mark.parametrize(
    "forged",
    [
        "not-a-call-id",
        "01J9ZQ8V7K3M5N6P8R9S0T1V2",  # 25 characters
        "01J9ZQ8V7K3M5N6P8R9S0T1VIL",  # I and L are not Crockford base 32
        '01J9ZQ8V7K3M5N6P8R9S0T1V2W\n{"level":"INFO"}',
        42,
        None,
    ],
)
def test_a_forged_fan_out_of_is_refused_naming_the_field(
    function: FunctionFactory, emulator: Emulator, fan_out_on: dict[str, str], forged: object
) -> None:
    body = {"action": "reconcile", "compartmentId": new_compartment(), "fanOutOf": forged}

    response = function(**fan_out_on).invoke(body)

    answer = response.json()
    assert (response.status, answer["outcome"], answer["reasonCode"]) == (502, "rejected", "InvalidFanOutOf")
    assert answer["reason"].startswith("fanOutOf: ")
    assert "fanOutOf" not in answer  # a refused value is never echoed as the family's name
    assert emulator.requests == []


def test_fan_out_of_belongs_only_to_the_actions_that_fan_out(
    function: FunctionFactory, emulator: Emulator, fan_out_on: dict[str, str]
) -> None:
    response = function(**fan_out_on).invoke({"action": "check", "fanOutOf": new_call_id()})

    assert response.json()["reasonCode"] == "InvalidFanOutOf"
    assert "only expire, reconcile, report are fanned out" in response.json()["reason"]


def test_a_child_runs_in_place_and_its_answer_and_log_line_name_the_coordinator(
    function: FunctionFactory, emulator: Emulator, fan_out_on: dict[str, str]
) -> None:
    coordinator = new_call_id()
    process = function(**fan_out_on)

    response = process.invoke({"action": "report", "compartmentIds": [new_compartment()], "fanOutOf": coordinator})

    answer = response.json()
    assert answer["outcome"] == "reported" and answer["fanOutOf"] == coordinator
    [line] = [line for line in process.log_lines() if line["callId"] == answer["callId"]]
    assert line["fanOutOf"] == coordinator
    # Run in place: the child never looked for itself, let alone invoked anything.
    assert _functions_calls(emulator) == []


@pytest.mark.parametrize("action", ["reconcile", "expire", "report"])
def test_one_compartment_runs_in_place_even_with_fan_out_on(
    function: FunctionFactory, emulator: Emulator, fan_out_on: dict[str, str], action: str
) -> None:
    compartment = new_compartment()
    seed_backup(emulator, compartment, "volume", hours_ago=2, copy_state="AVAILABLE")  # a volume to report

    response = function(**fan_out_on).invoke({"action": action, "compartmentId": compartment})

    assert response.json()["outcome"] not in ("fanned_out", "failed", "rejected")
    assert "fanOutOf" not in response.json()
    assert _functions_calls(emulator) == []


def test_fan_out_of_next_to_subtree_is_rejected_naming_the_field(
    function: FunctionFactory, emulator: Emulator, fan_out_on: dict[str, str]
) -> None:
    """Issue 22, finding 4: this body ran the whole tenancy in place, past the coordinator and FAN_OUT."""
    body = {"action": "expire", "compartmentId": emulator.tenancy_id, "subtree": True, "fanOutOf": new_call_id()}

    response = function(**fan_out_on).invoke(body)

    answer = response.json()
    assert (response.status, answer["outcome"], answer["reasonCode"]) == (502, "rejected", "InvalidFanOutOf")
    assert answer["reason"].startswith("subtree: not allowed with fanOutOf")
    assert emulator.requests == []


@pytest.mark.parametrize("action", ["reconcile", "expire", "report"])
def test_the_coordinator_refuses_a_body_every_child_would_and_starts_none(
    function: FunctionFactory, emulator: Emulator, fan_out_on: dict[str, str], action: str
) -> None:
    """Issue 22, finding 5: the coordinator answered fanned_out, and each child's rejection reached no one."""
    containers(emulator, function)
    body = {"action": action, "compartmentIds": [new_compartment() for _ in range(5)]}
    body["destinationRegions"] = [SOURCE_REGION]
    unsplit = function(**{**fan_out_on, "FAN_OUT": "off"}).invoke(body).json()

    response = function(**fan_out_on).invoke(body)

    answer = response.json()
    assert (response.status, answer["outcome"]) == (502, "rejected")
    # Answered exactly as the action answers it, before anything is read or started.
    assert (answer["reasonCode"], answer["reason"]) == (unsplit["reasonCode"], unsplit["reason"])
    assert answer["reason"].startswith(f"destinationRegions: {SOURCE_REGION} is the region")
    assert emulator.requests == [] and emulator.function_invocations() == []


def test_the_coordinator_refuses_a_setting_every_child_would_and_starts_none(
    function: FunctionFactory, emulator: Emulator, fan_out_on: dict[str, str]
) -> None:
    containers(emulator, function)
    body = {"action": "reconcile", "compartmentIds": [new_compartment() for _ in range(5)]}

    response = function(**fan_out_on, DESTINATION_REGION=SOURCE_REGION).invoke(body)

    answer = response.json()
    assert (response.status, answer["outcome"], answer["reasonCode"]) == (502, "failed", "InvalidSetting")
    assert answer["reason"].startswith(f"DESTINATION_REGION: {SOURCE_REGION} is the region")
    assert emulator.requests == [] and emulator.function_invocations() == []
