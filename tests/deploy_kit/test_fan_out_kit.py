"""The fan-out kit: its statements and commands as printed, and the check with FAN_OUT=on through the fdk socket."""

from __future__ import annotations

import json
import shlex
from typing import Any

import pytest

from backup_copier.deploy_kit import cli as deploy
from backup_copier.shared.errors import InvalidRequest
from blockstorage_emulator import Emulator
from tests.helpers import SOURCE_REGION, FunctionFactory

FUNCTION_ID = "ocid1.fnfunc.oc1.phx.aaaaaaaafanoutchecktests"
FUNCTION_COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaafunctionsexamplecompartment"
TOPIC = "ocid1.onstopic.oc1.phx.aaaaaaaaexamplefailuretopic"
READ = f"Allow dynamic-group backup-copier to read fn-function in compartment id {FUNCTION_COMPARTMENT}"
INVOKE = f"Allow dynamic-group backup-copier to use fn-invocation in compartment id {FUNCTION_COMPARTMENT}"
KIT = ["fan-out", "--function-id", FUNCTION_ID, "--function-compartment", FUNCTION_COMPARTMENT]
POLICIES = [
    "policies",
    "--source-region",
    "us-phoenix-1",
    "--destination",
    "us-ashburn-1",
    "--function-compartment",
    FUNCTION_COMPARTMENT,
    "--json",
]


def _command(printed: str) -> list[str]:
    [line] = [line for line in printed.splitlines() if line.startswith("oci fn function update")]
    return shlex.split(line)


def test_the_kit_prints_both_statements_and_the_update_giving_children_an_hour() -> None:
    printed = deploy.render(KIT)

    assert READ in printed.splitlines() and INVOKE in printed.splitlines()
    words = _command(printed)
    assert words[:5] == ["oci", "fn", "function", "update", "container-function"]
    assert words[words.index("--function-id") + 1] == FUNCTION_ID
    assert words[words.index("--detached-mode-timeout-in-seconds") + 1] == "3600"
    assert "--failure-destination" not in words
    assert "fn config function <app> <function> FAN_OUT on" in printed


def test_a_failure_topic_becomes_the_notification_destination() -> None:
    words = _command(deploy.render([*KIT, "--failure-topic", TOPIC]))

    destination = json.loads(words[words.index("--failure-destination") + 1])
    assert destination == {"kind": "NOTIFICATION", "topicId": TOPIC}
    # The CLI asks before replacing a complex setting; a printed command must not stop to ask.
    assert "--force" in words


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (
            ["fan-out", "--function-id", "ocid1.instance.oc1.phx.aaaa", "--function-compartment", FUNCTION_COMPARTMENT],
            "--function-id",
        ),
        (
            ["fan-out", "--function-id", FUNCTION_ID, "--function-compartment", "ocid1.vcn.oc1..aaaa"],
            "--function-compartment",
        ),
        ([*KIT, "--failure-topic", "ocid1.compartment.oc1..aaaa"], "--failure-topic"),
    ],
)
def test_each_bad_option_is_named(argv: list[str], option: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        deploy.render(argv)
    assert raised.value.field == option


def test_the_policy_has_the_statements_only_when_fan_out_is_used() -> None:
    without = json.loads(deploy.render(POLICIES))
    with_fan_out = json.loads(deploy.render([*POLICIES, "--fan-out"]))

    assert READ not in without and INVOKE not in without
    assert with_fan_out == [*without, READ, INVOKE]


# The check, through the fdk socket


@pytest.fixture
def fan_out_settings(emulator: Emulator) -> dict[str, str]:
    emulator.add_function(
        SOURCE_REGION,
        FUNCTION_COMPARTMENT,
        function_id=FUNCTION_ID,
        timeout_in_seconds=300,
        detached_mode_timeout_in_seconds=3600,
    )
    return {"FAN_OUT": "on", "FUNCTIONS_ENDPOINT": emulator.functions_endpoint_template, "FN_FN_ID": FUNCTION_ID}


def _fan_out_checks(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["name"]: check for check in answer["checks"] if check["name"].startswith("fan-out")}


def test_the_check_reads_the_function_and_invokes_nothing(
    emulator: Emulator, function: FunctionFactory, fan_out_settings: dict[str, str]
) -> None:
    answer = function(**fan_out_settings).invoke({"action": "check"}).json()

    checks = _fan_out_checks(answer)
    reads = checks["fan-out: the function reads itself"]
    assert reads["ok"] and "up to 3600 s" in reads["detail"] and "300 s" in reads["detail"]
    invokes = checks["fan-out: the function invokes itself"]
    assert invokes["ok"] and invokes["verified"] is False and "use fn-invocation" in invokes["fix"]
    operations = [request.operation for request in emulator.requests if request.operation.endswith("_function")]
    assert operations == ["get_function"]
    assert emulator.function_invocations() == []


@pytest.mark.parametrize("detached", [None, 300, 60])
def test_a_detached_timeout_not_above_the_synchronous_one_is_not_ready(
    emulator: Emulator, function: FunctionFactory, fan_out_settings: dict[str, str], detached: int | None
) -> None:
    emulator.update_function(FUNCTION_ID, detachedModeTimeoutInSeconds=detached)

    answer = function(**fan_out_settings).invoke({"action": "check"}).json()

    reads = _fan_out_checks(answer)["fan-out: the function reads itself"]
    assert answer["outcome"] == "not_ready" and not reads["ok"]
    assert "no more time than one synchronous invocation" in reads["detail"]
    assert "--detached-mode-timeout-in-seconds 3600" in reads["fix"]


def test_get_function_denied_names_read_fn_function(
    emulator: Emulator, function: FunctionFactory, fan_out_settings: dict[str, str]
) -> None:
    emulator.deny("get_function")

    answer = function(**fan_out_settings).invoke({"action": "check"}).json()

    reads = _fan_out_checks(answer)["fan-out: the function reads itself"]
    assert answer["outcome"] == "not_ready" and not reads["ok"]
    assert "NotAuthorizedOrNotFound" in reads["detail"]
    assert "to read fn-function in compartment id" in reads["fix"]


def test_without_fan_out_the_check_does_not_read_the_function(emulator: Emulator, function: FunctionFactory) -> None:
    answer = function().invoke({"action": "check"}).json()

    assert _fan_out_checks(answer) == {}
    assert [request for request in emulator.requests if request.operation.endswith("_function")] == []
