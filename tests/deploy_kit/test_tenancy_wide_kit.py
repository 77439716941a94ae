"""The deploy kit's tenancy-wide pieces: the inspect compartments statement, subtree alarms, subtree schedules."""

from __future__ import annotations

import json
import shlex

import pytest

from backup_copier.deploy_kit import cli as deploy
from backup_copier.deploy_kit import iam
from backup_copier.dispatch import parse_request
from backup_copier.expire.request import ExpireRequest
from backup_copier.report.request import ReportRequest
from backup_copier.shared.errors import InvalidRequest
from backup_copier.sweep.request import ReconcileRequest

TENANCY = "ocid1.tenancy.oc1..aaaaaaaaexampletenancyexampletenancy"
COMPARTMENT = deploy.EXAMPLE_BACKUP_COMPARTMENT
TOPIC = "ocid1.onstopic.oc1.phx.aaaaaaaaexampletopicexampletopic"
STATEMENT = "Allow dynamic-group backup-copier to inspect compartments in tenancy"
POLICIES = [
    "policies",
    "--source-region",
    "phx",
    "--destination",
    "iad",
    "--function-compartment",
    deploy.EXAMPLE_FUNCTION_COMPARTMENT,
]


@pytest.mark.parametrize("compartments", [[], ["--compartment", COMPARTMENT]], ids=["tenancy", "one compartment"])
def test_the_policies_hold_inspect_compartments_in_tenancy(compartments: list[str]) -> None:
    # Compartments are global and listed from the tenancy: the statement is 'in tenancy' even when
    # every other statement is narrowed to one compartment.
    statements = json.loads(deploy.render([*POLICIES, *compartments, "--json"]))
    assert statements.count(STATEMENT) == 1
    assert iam.inspect_compartments_statement() == STATEMENT
    text = deploy.render([*POLICIES, *compartments])
    assert STATEMENT in text.splitlines()
    assert "COMPARTMENT_INSPECT for ListCompartments, to find every compartment of a tenancy-wide" in text
    assert iam.IAM_POLICY_DOC in text


def test_the_statement_follows_the_dynamic_group() -> None:
    statements = json.loads(deploy.render([*POLICIES, "--dynamic-group", "dr-copier", "--json"]))
    assert "Allow dynamic-group dr-copier to inspect compartments in tenancy" in statements


def _alarm_options(printed: str) -> list[dict[str, str]]:
    found = []
    for block in printed.split("\n\n"):
        text = "\n".join(line for line in block.splitlines() if not line.startswith("#"))
        if text:
            words = shlex.split(text.replace("\\\n", " "))
            assert words[:4] == ["oci", "monitoring", "alarm", "create"], words
            found.append(dict(zip(words[4::2], words[5::2], strict=True)))
    return found


def test_subtree_alarms_watch_the_whole_tenancy() -> None:
    printed = deploy.render(["alarms", "--compartment", TENANCY, "--destination", "iad", "--topic", TOPIC, "--subtree"])

    alarms = _alarm_options(printed)
    assert len(alarms) == 3
    for alarm in alarms:
        assert alarm["--metric-compartment-id-in-subtree"] == "true"
        assert alarm["--metric-compartment-id"] == alarm["--compartment-id"] == TENANCY
    assert "tenancy-level permissions" in printed
    # Without --subtree, the flag is not there at all (the CLI's default is false).
    plain = deploy.render(["alarms", "--compartment", TENANCY, "--destination", "iad", "--topic", TOPIC])
    assert all("--metric-compartment-id-in-subtree" not in alarm for alarm in _alarm_options(plain))


def test_subtree_alarms_on_a_compartment_are_refused_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["alarms", "--compartment", COMPARTMENT, "--destination", "iad", "--topic", TOPIC, "--subtree"]
    with pytest.raises(InvalidRequest) as raised:
        deploy.render(argv)
    assert raised.value.field == "--compartment"
    assert "tenancy's OCID" in raised.value.message
    assert deploy.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("error: --compartment: with --subtree it must be the tenancy's OCID")


@pytest.mark.parametrize(
    ("action", "request_type"),
    [("reconcile", ReconcileRequest), ("expire", ExpireRequest), ("report", ReportRequest)],
)
def test_subtree_schedules_start_a_tenancy_wide_action(action: str, request_type: type) -> None:
    argv = ["report-schedule", "--function-id", deploy.EXAMPLE_FUNCTION_ID, "--compartment", TENANCY]
    [resource] = json.loads(deploy.render([*argv, "--subtree", "--action", action]))

    assert resource["id"] == deploy.EXAMPLE_FUNCTION_ID
    [parameter] = resource["parameters"]
    assert parameter == {
        "parameterType": "BODY",
        "value": {"action": action, "compartmentId": TENANCY, "subtree": True},
    }
    request = parse_request(json.dumps(parameter["value"]).encode())
    assert isinstance(request, request_type)
    assert isinstance(request, ReconcileRequest | ExpireRequest | ReportRequest)
    assert (request.scope.compartment_ids, request.scope.subtree, request.scope.is_tenancy) == ((TENANCY,), True, True)


def test_a_subtree_schedule_below_the_tenancy_covers_that_compartment_s_subtree() -> None:
    argv = ["report-schedule", "--function-id", deploy.EXAMPLE_FUNCTION_ID, "--compartment", COMPARTMENT]
    [resource] = json.loads(deploy.render([*argv, "--subtree", "--action", "report", "--since-hours", "48"]))

    request = parse_request(json.dumps(resource["parameters"][0]["value"]).encode())
    assert isinstance(request, ReportRequest)
    assert request.since_hours == 48
    assert (request.scope.compartment_ids, request.scope.subtree, request.scope.is_tenancy) == (
        (COMPARTMENT,),
        True,
        False,
    )


def test_without_subtree_the_schedule_keeps_one_compartment() -> None:
    argv = ["report-schedule", "--function-id", deploy.EXAMPLE_FUNCTION_ID, "--compartment", TENANCY]
    [resource] = json.loads(deploy.render([*argv, "--action", "reconcile"]))

    assert "subtree" not in resource["parameters"][0]["value"]
    request = parse_request(json.dumps(resource["parameters"][0]["value"]).encode())
    assert isinstance(request, ReconcileRequest)
    assert (request.scope.compartment_ids, request.scope.subtree) == ((TENANCY,), False)


def test_an_unknown_action_is_refused_by_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["report-schedule", "--function-id", deploy.EXAMPLE_FUNCTION_ID, "--compartment", TENANCY]
    with pytest.raises(SystemExit):
        deploy.render([*argv, "--action", "check"])
    assert "--action: invalid choice: 'check'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("action", "hours", "problem"),
    [("expire", "48", "the expire action takes no sinceHours"), ("reconcile", "0", "expected more than 0 hours")],
)
def test_a_since_hours_the_function_would_reject_is_refused(action: str, hours: str, problem: str) -> None:
    # Before: `--action expire --since-hours 48` printed a body every run of the schedule was rejected with
    # (sinceHours: is not a field of this request).
    argv = ["report-schedule", "--function-id", deploy.EXAMPLE_FUNCTION_ID, "--compartment", TENANCY, "--subtree"]
    with pytest.raises(InvalidRequest) as raised:
        deploy.render([*argv, "--action", action, "--since-hours", hours])
    assert raised.value.field == "--since-hours"
    assert problem in raised.value.message
