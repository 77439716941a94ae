"""`tenancy-setup`: the quickstart's script for every compartment of a tenancy, run in bash for real.

The same mechanism as the quickstart (conftest.py's scenarios, local_runtime/control_plane): the
real oci CLI against the control plane, fn with the fn CLI's syntax. What differs is the scope: one
rule with no compartment filter, statements `in tenancy`, schedules with "subtree": true on the
tenancy, alarms on the tenancy's subtree, and SOURCE_COMPARTMENT_IDS unset.
"""

from __future__ import annotations

import json

import pytest

from backup_copier.deploy_kit import cli as deploy
from backup_copier.deploy_kit import iam, setup
from backup_copier.dispatch import parse_request
from backup_copier.drill.request import DrillRequest
from backup_copier.expire.request import ExpireRequest
from backup_copier.report.request import ReportRequest
from backup_copier.shared.errors import InvalidRequest
from backup_copier.shared.metrics import (
    COPY_MARK_FAILURES,
    DRILL_AGE_HOURS,
    DRILLS_FAILED,
    RPO_HOURS,
    VOLUMES_BREACHING,
)
from backup_copier.sweep.request import ReconcileRequest
from local_runtime.oci_cli import oci_cli, problems
from tests.deploy_kit.conftest import (
    APP,
    FUNCTION_COMPARTMENT,
    FUNCTION_ID,
    KEY,
    TENANCY,
    TENANCY_SETUP,
    TOPIC,
    Scenario,
)

pytestmark = pytest.mark.timeout(900)  # the session's first run may install oci-cli (about a minute)
REQUESTS = {"reconcile": ReconcileRequest, "expire": ExpireRequest, "report": ReportRequest, "drill": DrillRequest}
SCHEDULES = (*setup.SCHEDULES, setup.DRILL_SCHEDULE)


@pytest.fixture(scope="module")
def tenancy(scenarios: dict[str, Scenario]) -> Scenario:
    scenario = scenarios["tenancy-setup"]
    [run] = scenario.runs
    assert run.returncode == 0, run.stderr
    return scenario


def test_every_command_is_one_the_real_cli_takes(tenancy: Scenario) -> None:
    [calls] = tenancy.calls
    assert problems(oci_cli(), calls) == []


def test_the_home_region_given_is_where_iam_goes(tenancy: Scenario) -> None:
    [calls] = tenancy.calls
    assert ("iam", "region-subscription", "list") not in [call.path for call in calls]
    assert {call.options["--region"] for call in calls if call.path[0] == "iam"} == {"us-ashburn-1"}


def test_the_function_is_configured_for_every_compartment(tenancy: Scenario) -> None:
    config = tenancy.function()["config"]
    assert config == {
        "DESTINATION_REGION": "us-ashburn-1,eu-frankfurt-1",
        "KMS_KEY_ID_US_ASHBURN_1": KEY,
        "METRICS": "on",
        "METRICS_NAMESPACE": "backup_copier",
    }
    # A filter an earlier quickstart set would answer events from other compartments `skipped`.
    unset = [call[3:] for call in tenancy.fn_words() if call[:3] == ["unset", "config", "function"]]
    assert unset == [
        [APP, "backup-copier", key]
        for key in ("SOURCE_COMPARTMENT_IDS", "KMS_KEY_ID_EU_FRANKFURT_1", "REQUIRED_FREEFORM_TAG")
    ]
    assert tenancy.function()["timeoutInSeconds"] == 300


def test_the_policy_is_the_kit_s_at_tenancy_level_with_metrics(tenancy: Scenario) -> None:
    policy = tenancy.plane.named("policies", "backup-copier")
    assert policy["compartmentId"] == TENANCY
    kit = json.loads(
        deploy.render(
            [
                "policies",
                "--source-region",
                "phx",
                "--destination",
                "iad,fra",
                "--kms-key",
                KEY,
                "--function-compartment",
                FUNCTION_COMPARTMENT,
                "--drills",
                "--json",
            ]
        )
    )
    metrics = (
        "Allow dynamic-group backup-copier to use metrics in tenancy where target.metrics.namespace = 'backup_copier'"
    )
    assert policy["statements"] == [*kit, metrics]
    # Everything the function does, it may do in every compartment; only the Events service is narrowed.
    narrowed = [line for line in policy["statements"] if " in tenancy" not in line]
    assert narrowed == [iam.events_statement(FUNCTION_COMPARTMENT)]


def test_one_events_rule_in_the_root_compartment_without_a_filter(tenancy: Scenario) -> None:
    rule = tenancy.plane.named("rules", "backup-copier")
    assert (rule["compartmentId"], rule["isEnabled"]) == (TENANCY, True)
    assert json.loads(rule["condition"]) == deploy.rule_condition()
    assert rule["actions"] == {"actions": [{"actionType": "FAAS", "isEnabled": True, "functionId": FUNCTION_ID}]}


@pytest.mark.parametrize("schedule", SCHEDULES, ids=[s.action for s in SCHEDULES])
def test_each_schedule_s_body_is_a_tenancy_wide_request_the_function_accepts(
    tenancy: Scenario, schedule: setup.Schedule
) -> None:
    found = tenancy.plane.named("schedules", schedule.display_name)
    assert (found["action"], found["recurrenceType"], found["compartmentId"]) == (
        "START_RESOURCE",
        "CRON",
        FUNCTION_COMPARTMENT,
    )
    [resource] = found["resources"]
    assert resource["id"] == FUNCTION_ID
    [parameter] = resource["parameters"]
    assert parameter["value"] == {"action": schedule.action, "compartmentId": TENANCY, "subtree": True}
    request = parse_request(json.dumps(parameter["value"]).encode())
    assert isinstance(request, REQUESTS[schedule.action])
    assert isinstance(request, ReconcileRequest | ExpireRequest | ReportRequest | DrillRequest)
    assert request.scope.is_tenancy


def test_the_sweep_and_report_run_hourly_and_the_expiry_daily(tenancy: Scenario) -> None:
    crons = {s["displayName"]: s["recurrenceDetails"].split() for s in tenancy.plane.all("schedules")}
    minute, hour, *rest = crons["backup-copier-sweep"]
    assert (minute.isdigit(), hour, rest) == (True, "*", ["*", "*", "*"])
    minute, hour, *rest = crons["backup-copier-report"]
    assert (minute.isdigit(), hour, rest) == (True, "*", ["*", "*", "*"])
    minute, hour, *rest = crons["backup-copier-expiry"]
    assert (minute.isdigit(), hour.isdigit(), rest) == (True, True, ["*", "*", "*"])
    assert crons["backup-copier-drill"] == ["*/15", "*", "*", "*", "*"]


def test_the_alarms_watch_every_compartment_of_the_tenancy(tenancy: Scenario) -> None:
    alarms = {alarm["displayName"]: alarm for alarm in tenancy.plane.all("alarms")}
    own = [alarm for alarm in alarms.values() if alarm["namespace"] == "backup_copier"]
    for alarm in own:
        assert (alarm["metricCompartmentId"], alarm["metricCompartmentIdInSubtree"]) == (TENANCY, True)
    for alarm in alarms.values():
        assert (alarm["compartmentId"], alarm["destinations"]) == (FUNCTION_COMPARTMENT, [TOPIC])
    queries = sorted(alarm["query"].split("[")[0] for alarm in own)
    assert queries == sorted(
        [RPO_HOURS, RPO_HOURS, VOLUMES_BREACHING, COPY_MARK_FAILURES, DRILLS_FAILED, DRILL_AGE_HOURS]
    )
    assert alarms["backup-copier: failed invocations"]["namespace"] == "oci_faas"


def test_the_alarm_creators_iam_is_printed() -> None:
    printed = deploy.render(TENANCY_SETUP)
    assert "Allow group <alarm-creators> to manage alarms in compartment id" in printed
    assert "Allow group <alarm-creators> to read metrics in tenancy" in printed
    assert "tenancy-level permissions" in printed


def _argv(**changes: str | None) -> list[str]:
    given = dict(zip(TENANCY_SETUP[1::2], TENANCY_SETUP[2::2], strict=True))
    given.update(changes)
    return ["tenancy-setup", *[part for name, value in given.items() if value is not None for part in (name, value)]]


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--tenancy", FUNCTION_COMPARTMENT),
        ("--app", "my app"),
        ("--source-region", "atlantis"),
        ("--source-region", "phx,iad"),
        ("--destination", "atlantis"),
        ("--destination", "iad,phx"),  # the source region
        ("--topic", FUNCTION_COMPARTMENT),
        ("--kms-key", "ocid1.key.oc1.ap-tokyo-1.bbpsaxx6aaeug.abuwcljsexamplekey"),  # not a destination's
        ("--kms-key", "ocid1.volume.oc1.iad.aaaa"),
        ("--namespace", "oci_copies"),
        ("--home-region", "atlantis"),
        ("--tag", "=true"),
        ("--rpo-target-hours", "0"),
        ("--drill-age-hours", "0"),
    ],
)
def test_every_bad_option_is_named_and_nothing_is_printed(
    option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(InvalidRequest) as raised:
        deploy.render(_argv(**{option: value}))
    assert raised.value.field == option
    assert deploy.main(_argv(**{option: value})) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"error: {option}: ")


def test_the_optional_options_can_be_left_out() -> None:
    printed = deploy.render(_argv(**{"--kms-key": None, "--home-region": None}))
    assert "key-delegate" not in printed
    assert "iam region-subscription list" in printed
    assert "target.metrics.namespace = 'dr_copies'" in deploy.render(_argv(**{"--namespace": "dr_copies"}))
    off = deploy.render(_argv(**{"--metrics": "off"}))
    assert "use metrics" not in off
    assert "METRICS off" in off
    assert "copy_rpo_hours" not in off
    assert "FunctionResponseCount" in off
    without_drills = deploy.render(_argv(**{"--drills": None, "--drill-age-hours": None}))
    assert "backup-copier-drill" not in without_drills and "VOLUME_DELETE" not in without_drills
    assert '{"action": "check"}' in without_drills


def test_the_drills_are_scheduled_granted_alarmed_and_checked(tenancy: Scenario) -> None:
    statements = tenancy.plane.named("policies", "backup-copier")["statements"]
    deletes = [line for line in statements if "VOLUME_DELETE'" in line or "VOLUME_GROUP_DELETE'" in line]
    # Deleting volumes is granted in the destination regions only, never where the backups' volumes live.
    assert deletes and all("any {request.region = 'iad', request.region = 'fra'}" in line for line in deletes)
    assert [call.body.decode() for call in tenancy.fn.invocations] == [setup.DRILL_CHECK_BODY]
    age = tenancy.plane.named("alarms", "backup-copier: a volume's last passed drill is too old")
    assert age["query"] == f"{DRILL_AGE_HOURS}[1h].max() > 192"
