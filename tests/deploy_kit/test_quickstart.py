"""`quickstart`: the README's command, its script run twice in bash with the real oci CLI, the control plane and fn.

What the README promises: one command prints the whole setup of one source region, from one set of
inputs, and running its output gives a configured function whose keys agree with the policy and
the rule, ending with the check; running it again changes nothing and creates nothing twice; an
empty value stops it with a sentence before it can reach a later command. What the function then
does with that setup, under that IAM, is test_quickstart_serves.py's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backup_copier.deploy_kit import cli as deploy
from backup_copier.deploy_kit import iam, setup
from backup_copier.deploy_kit.script import Script
from backup_copier.dispatch import parse_request
from backup_copier.expire.request import ExpireRequest
from backup_copier.report.request import ReportRequest
from backup_copier.shared.metrics import COPY_MARK_FAILURES
from backup_copier.shared.settings import load_settings
from backup_copier.sweep.request import ReconcileRequest
from local_runtime.control_plane import ControlPlane, FnCli, workstation
from local_runtime.oci_cli import oci_cli, problems
from tests.deploy_kit.conftest import (
    APP,
    BACKUPS,
    FUNCTION_COMPARTMENT,
    FUNCTION_ID,
    KEY,
    TENANCY,
    TOPIC,
    Scenario,
)
from tests.helpers import PROJECT_ROOT

pytestmark = pytest.mark.timeout(900)  # the session's first run may install oci-cli (about a minute)
REQUESTS = {"reconcile": ReconcileRequest, "expire": ExpireRequest, "report": ReportRequest}


def test_every_oci_command_is_one_the_real_cli_takes(quickstart: Scenario) -> None:
    for calls in quickstart.calls:
        assert problems(oci_cli(), calls) == []
    assert {" ".join(call.path) for call in quickstart.calls[0]} >= {
        "iam region-subscription list",
        "fn function get",
        "iam dynamic-group list",
        "iam dynamic-group create",
        "iam policy list",
        "iam policy create",
        "events rule list",
        "events rule create",
        "resource-scheduler schedule list",
        "resource-scheduler schedule create",
        "monitoring alarm list",
        "monitoring alarm create",
    }
    # The second run updates what the first created.
    assert {" ".join(call.path) for call in quickstart.calls[1]} >= {
        "iam dynamic-group update",
        "iam policy update",
        "events rule update",
        "resource-scheduler schedule update",
        "monitoring alarm update",
    }


def test_every_fn_command_is_the_fn_cli_s(quickstart: Scenario) -> None:
    # FnCli refuses anything the fn CLI would (local_runtime/control_plane/fn_cli.py): each one got through.
    assert [run for run in quickstart.fn.runs if run.exit_code != 0] == []
    assert {run.command for run in quickstart.fn.runs} == {
        "inspect function",
        "config function",
        "update function",
        "invoke",
    }


def test_a_second_run_changes_nothing_and_creates_nothing_twice(quickstart: Scenario) -> None:
    first, second = quickstart.held
    assert second == first
    assert {sent.method for sent in quickstart.writes(0)} == {"POST"}
    assert {sent.method for sent in quickstart.writes(1)} == {"PUT"}
    assert len(quickstart.writes(1)) == len(quickstart.writes(0))
    assert [len(first[collection]) for collection in ("dynamicGroups", "policies", "rules", "schedules", "alarms")] == [
        1,
        2,
        1,
        3,
        4,
    ]
    assert quickstart.function()["config"] == dict(setup_configuration())


def setup_configuration() -> list[tuple[str, str]]:
    return [
        ("DESTINATION_REGION", "us-ashburn-1"),
        ("SOURCE_COMPARTMENT_IDS", BACKUPS),
        ("KMS_KEY_ID_US_ASHBURN_1", KEY),
        ("REQUIRED_FREEFORM_TAG", "dr-copy=true"),
        ("METRICS", "on"),
        ("METRICS_NAMESPACE", "backup_copier"),
    ]


def test_every_iam_call_goes_to_the_home_region(quickstart: Scenario) -> None:
    home = quickstart.plane.home_region
    for call in quickstart.calls[0]:
        if call.path == ("iam", "region-subscription", "list"):
            assert call.options["--region"] == "us-phoenix-1"  # a read, before the home region is known
        elif call.path[0] == "iam":
            assert call.options["--region"] == home, call
        else:
            assert call.options["--region"] == "us-phoenix-1", call


def test_the_function_s_keys_agree_with_the_policy_and_the_rule(quickstart: Scenario) -> None:
    settings = load_settings(quickstart.function()["config"])
    cloud = quickstart.plane
    statements = cloud.named("policies", "backup-copier")["statements"]
    # Exactly what `policies` prints for the same settings, and the metrics grant for the same namespace.
    printed = deploy.render(
        [
            "policies",
            "--source-region",
            "us-phoenix-1",
            "--destination",
            ",".join(settings.destination_regions),
            *[part for c in settings.source_compartment_ids or () for part in ("--compartment", c)],
            *[part for key in settings.kms_key_ids.values() for part in ("--kms-key", key)],
            "--function-compartment",
            FUNCTION_COMPARTMENT,
            "--json",
        ]
    )
    metrics = [
        f"Allow dynamic-group backup-copier to use metrics in compartment id {c} where target.metrics.namespace = "
        f"'{settings.metrics_namespace}'"
        for c in settings.source_compartment_ids or ()
    ]
    assert statements == [*json.loads(printed), *metrics]
    for region in settings.destination_regions:
        assert any(f"'VOLUME_BACKUP_CREATE', request.region = '{iam.region_key(region)}'" in s for s in statements)
    for key in settings.kms_key_ids.values():
        assert iam.kms_statements(key)[0] in statements
    rule = cloud.named("rules", "backup-copier")
    condition = json.loads(rule["condition"])
    tag = settings.required_tag()
    assert tag is not None
    assert condition == deploy.rule_condition(list(settings.source_compartment_ids or ()), f"{tag[0]}={tag[1]}")
    assert condition["data"]["compartmentId"] == list(settings.source_compartment_ids or ())
    assert condition["data"]["freeFormTags"] == {tag[0]: tag[1]}
    assert rule["compartmentId"] == TENANCY
    assert rule["actions"] == {"actions": [{"actionType": "FAAS", "isEnabled": True, "functionId": FUNCTION_ID}]}
    assert iam.events_statement(FUNCTION_COMPARTMENT) in statements


def test_the_dynamic_group_matches_the_function_fn_inspect_named(quickstart: Scenario) -> None:
    group = quickstart.plane.named("dynamicGroups", "backup-copier")
    assert (group["compartmentId"], group["matchingRule"]) == (
        TENANCY,
        iam.dynamic_group_rule(function_id=FUNCTION_ID),
    )


@pytest.mark.parametrize("schedule", setup.SCHEDULES, ids=[s.action for s in setup.SCHEDULES])
def test_each_schedule_starts_the_function_over_the_configured_compartments(
    quickstart: Scenario, schedule: setup.Schedule
) -> None:
    found = quickstart.plane.named("schedules", schedule.display_name)
    assert (found["compartmentId"], found["recurrenceDetails"]) == (FUNCTION_COMPARTMENT, schedule.cron)
    [resource] = found["resources"]
    assert resource["id"] == FUNCTION_ID
    [parameter] = resource["parameters"]
    request = parse_request(json.dumps(parameter["value"]).encode())
    assert isinstance(request, REQUESTS[schedule.action])
    assert isinstance(request, ReconcileRequest | ExpireRequest | ReportRequest)
    settings = load_settings(quickstart.function()["config"])
    assert request.scope.compartment_ids == settings.source_compartment_ids


def test_only_the_three_schedules_may_invoke_the_function(quickstart: Scenario) -> None:
    policy = quickstart.plane.named("policies", "backup-copier-schedules")
    ids = [quickstart.plane.named("schedules", s.display_name)["id"] for s in setup.SCHEDULES]
    principals = ", ".join(f"request.principal.id='{i}'" for i in ids)
    assert policy["compartmentId"] == FUNCTION_COMPARTMENT
    assert policy["statements"] == [
        f"Allow any-user to use fn-invocation in compartment id {FUNCTION_COMPARTMENT} "
        f"where all {{request.principal.type='resourceschedule', any {{{principals}}}}}"
    ]


def test_the_timeout_is_set_by_a_command(quickstart: Scenario) -> None:
    assert quickstart.function()["timeoutInSeconds"] == setup.TIMEOUT_SECONDS == 300
    assert ["update", "function", APP, "backup-copier", "--timeout", "300"] in quickstart.fn_words()


def test_it_ends_with_the_check(quickstart: Scenario) -> None:
    assert [call.body.decode() for call in quickstart.fn.invocations] == [setup.CHECK_BODY, setup.CHECK_BODY]
    assert quickstart.fn_words()[-1] == ["invoke", APP, "backup-copier"]
    assert json.loads(setup.CHECK_BODY) == json.loads((PROJECT_ROOT / "events" / "check.json").read_text())
    assert quickstart.runs[0].stdout.rstrip().endswith("(the check says what it cannot prove)")


def test_the_alarms_watch_the_function_and_its_metrics(quickstart: Scenario) -> None:
    alarms = {alarm["displayName"]: alarm for alarm in quickstart.plane.all("alarms")}
    for alarm in alarms.values():
        assert (alarm["compartmentId"], alarm["destinations"], alarm["isEnabled"]) == (
            FUNCTION_COMPARTMENT,
            [TOPIC],
            True,
        )
    failed = alarms["backup-copier: failed invocations"]
    assert (failed["namespace"], failed["metricCompartmentId"]) == ("oci_faas", FUNCTION_COMPARTMENT)
    assert (
        failed["query"]
        == f'FunctionResponseCount[5m]{{resourceId = "{FUNCTION_ID}", responseType = "Error"}}.sum() > 0'
    )
    marks = alarms["backup-copier: copies that could not be marked"]
    assert (marks["namespace"], marks["metricCompartmentId"]) == ("backup_copier", BACKUPS)
    assert marks["query"] == f"{COPY_MARK_FAILURES}[1h].sum() > 0"
    assert 'destinationRegion = "us-ashburn-1"' in alarms["backup-copier: recovery point in us-ashburn-1"]["query"]


def test_an_empty_capture_stops_the_script_before_anything_changes(scenarios: dict[str, Scenario]) -> None:
    scenario = scenarios["no home region"]
    [run] = scenario.runs
    assert run.returncode != 0
    assert "backup-copier setup stopped: the tenancy's home region is empty" in run.stderr
    assert scenario.plane.writes() == []
    assert scenario.fn.runs == []


def test_a_function_of_another_region_stops_the_script(scenarios: dict[str, Scenario]) -> None:
    scenario = scenarios["function in another region"]
    [run] = scenario.runs
    assert run.returncode != 0
    assert "the OCID of backup-copier in the application APP is 'ocid1.fnfunc.oc1.iad." in run.stderr
    assert "expected ocid1.fnfunc.*.@(phx|us-phoenix-1).*" in run.stderr
    assert scenario.plane.writes() == []


def test_a_dynamic_group_of_another_function_is_not_taken_over(scenarios: dict[str, Scenario]) -> None:
    scenario = scenarios["group of another function"]
    [run] = scenario.runs
    assert run.returncode != 0
    assert "the dynamic group backup-copier matches ALL {resource.type = 'fnfunc', resource.id = " in run.stderr
    assert "One deployment serves one source region and one function" in run.stderr
    assert scenario.plane.writes() == []  # configured the function, changed nothing in IAM


def test_a_check_that_is_not_ready_fails_the_script_saying_what_to_do(tmp_path: Path) -> None:
    answer = json.dumps({"outcome": "not_ready", "checks": [{"name": "settings", "ok": False}]}).encode()
    plane = ControlPlane(TENANCY)
    plane.add_function(FUNCTION_ID, application=APP, compartment_id=FUNCTION_COMPARTMENT)
    fn = FnCli(plane, invoker=lambda call: (502, "application/json", answer))
    only_the_check = Script(("the check alone",), (("APP", APP),), (setup.check_step(),)).render()
    with workstation(tmp_path, oci_cli(), plane, fn) as shell:
        run = shell.run(only_the_check)
    assert run.returncode == 1
    assert '"outcome": "not_ready"' in run.stdout
    assert 'the check did not answer ready: each item with "ok": false says what to fix' in run.stderr
    assert f"echo '{setup.CHECK_BODY}' | fn invoke {APP} backup-copier" in run.stderr
