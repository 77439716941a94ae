"""The deploy kit's recovery-point commands: the metrics grant, the report schedule and the two alarms."""

from __future__ import annotations

import json
import re
import shlex

import pytest

from backup_copier.deploy_kit import cli as deploy
from backup_copier.deploy_kit import recovery_point
from backup_copier.dispatch import parse_request
from backup_copier.report.request import ReportRequest
from backup_copier.shared import metrics
from backup_copier.shared.errors import InvalidRequest
from backup_copier.shared.settings import load_settings

COMPARTMENT = deploy.EXAMPLE_BACKUP_COMPARTMENT
TOPIC = "ocid1.onstopic.oc1.phx.aaaaaaaaexampletopicexampletopic"
# Required by `oci monitoring alarm create` (oci-cli's monitoring_cli.py, with --query-text from its extension).
REQUIRED_ALARM_OPTIONS = {
    "--compartment-id",
    "--metric-compartment-id",
    "--display-name",
    "--namespace",
    "--query-text",
    "--severity",
    "--destinations",
    "--is-enabled",
}
# The shape Oracle's MQL examples have: metric[interval]{dimension = "value"}.statistic() > threshold, or .absent(period).
_MQL = re.compile(
    r'(?P<metric>[a-z_]+)\[(?P<interval>\d+[mh])\](\{destinationRegion = "(?P<region>[a-z0-9-]+)"\})?'
    r"\.((?P<statistic>max|sum)\(\) > (?P<threshold>[0-9.]+)|absent\((?P<period>\d+h)\))"
)


def _commands(printed: str) -> list[dict[str, str]]:
    """Each printed `oci monitoring alarm create` command as {option: value}."""
    found = []
    for block in printed.split("\n\n"):
        text = "\n".join(line for line in block.splitlines() if not line.startswith("#"))
        if not text:
            continue
        words = shlex.split(text.replace("\\\n", " "))
        assert words[:4] == ["oci", "monitoring", "alarm", "create"], words
        found.append(dict(zip(words[4::2], words[5::2], strict=True)))
    return found


def test_the_metrics_statement_is_narrowed_to_the_namespace() -> None:
    printed = deploy.render(["metrics-policy", "--compartment", COMPARTMENT, "--namespace", "dr_copies", "--json"])

    assert json.loads(printed) == [
        f"Allow dynamic-group backup-copier to use metrics in compartment id {COMPARTMENT} "
        "where target.metrics.namespace = 'dr_copies'"
    ]


@pytest.mark.parametrize("namespace", ["oci_copies", "1copies", "dr-copies"])
def test_a_namespace_the_function_would_refuse_is_refused(namespace: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        deploy.render(["metrics-policy", "--compartment", COMPARTMENT, "--namespace", namespace])
    assert raised.value.field == "--namespace"


def test_the_schedule_starts_the_function_with_a_report_it_accepts() -> None:
    argv = ["report-schedule", "--function-id", deploy.EXAMPLE_FUNCTION_ID, "--compartment", COMPARTMENT]
    [resource] = json.loads(deploy.render([*argv, "--since-hours", "168"]))

    assert resource["id"] == deploy.EXAMPLE_FUNCTION_ID
    [parameter] = resource["parameters"]
    assert parameter["parameterType"] == "BODY"
    request = parse_request(json.dumps(parameter["value"]).encode())
    assert isinstance(request, ReportRequest)
    assert (request.scope.compartment_ids, request.since_hours) == ((COMPARTMENT,), 168)
    assert recovery_point.REPORT_CRON.split()[1:] == ["*", "*", "*", "*"]  # hourly


def test_three_alarms_for_one_destination_ready_for_the_cli() -> None:
    printed = deploy.render(
        ["alarms", "--compartment", COMPARTMENT, "--destination", "iad", "--topic", TOPIC, "--rpo-target-hours", "30"]
    )

    rpo, absence, marks = _commands(printed)
    for command in (rpo, absence, marks):
        assert set(command) >= REQUIRED_ALARM_OPTIONS
        assert command["--namespace"] == "backup_copier"
        assert command["--compartment-id"] == command["--metric-compartment-id"] == COMPARTMENT
        assert json.loads(command["--destinations"]) == [TOPIC]
        assert command["--severity"] in ("CRITICAL", "ERROR", "WARNING", "INFO")
    rpo_query = _MQL.fullmatch(rpo["--query-text"])
    assert rpo_query is not None, rpo["--query-text"]
    assert (rpo_query["metric"], rpo_query["region"], rpo_query["threshold"]) == (
        metrics.RPO_HOURS,
        "us-ashburn-1",
        "30",
    )
    absence_query = _MQL.fullmatch(absence["--query-text"])
    assert absence_query is not None, absence["--query-text"]
    assert (absence_query["metric"], absence_query["period"]) == (metrics.VOLUMES_BREACHING, "2h")
    # A copy that could not be marked never expires: any one in the hour is an alarm.
    marks_query = _MQL.fullmatch(marks["--query-text"])
    assert marks_query is not None, marks["--query-text"]
    assert (marks_query["metric"], marks_query["statistic"], marks_query["threshold"]) == (
        metrics.COPY_MARK_FAILURES,
        "sum",
        "0",
    )
    # Each cites Oracle's pages above its command.
    assert printed.count(recovery_point.MQL_DOC) == 3
    assert recovery_point.ABSENCE_DOC in printed


def test_the_default_threshold_is_the_function_s_default_target() -> None:
    printed = deploy.render(["alarms", "--compartment", COMPARTMENT, "--destination", "iad,fra", "--topic", TOPIC])

    commands = _commands(printed)
    assert len(commands) == 4
    target = load_settings({"DESTINATION_REGION": "iad"}).rpo_target_hours
    assert [c["--query-text"].endswith(f"> {target:g}") for c in commands[:2]] == [True, True]
    assert [_MQL.fullmatch(c["--query-text"])["region"] for c in commands[:2]] == ["us-ashburn-1", "eu-frankfurt-1"]


@pytest.mark.parametrize(
    ("option", "value"),
    [("--topic", "ocid1.compartment.oc1..aaaa"), ("--rpo-target-hours", "0"), ("--destination", "atlantis")],
)
def test_bad_alarm_options_are_named(option: str, value: str) -> None:
    argv = {"--compartment": COMPARTMENT, "--destination": "iad", "--topic": TOPIC, option: value}
    with pytest.raises(InvalidRequest) as raised:
        deploy.render(["alarms", *[part for pair in argv.items() for part in pair]])
    assert raised.value.field == option
