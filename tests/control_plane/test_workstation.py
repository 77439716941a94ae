"""A script run for real: bash, the real oci CLI against the control plane, fn, and the emulator enforcing the result.

One run (each oci command starts the CLI, a second or two): it reads the home region, creates the
dynamic group and then, on its second pass, finds and updates it; creates a policy and a schedule;
configures, times out, inspects and invokes the function with fn. The test then reads what the run
left (the matching rule, the statements, the function's configuration, the schedule's body) and
has the emulator enforce it, through the real SDK and signer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import oci
import pytest

from blockstorage_emulator import Emulator
from local_runtime.control_plane import ControlPlane, FnCli, FnInvocation, ScriptRun, enforce_recorded_iam, workstation
from local_runtime.credentials import ResourcePrincipal, issue_resource_principal
from local_runtime.oci_cli import oci_cli

TENANCY = "ocid1.tenancy.oc1..aaaaaaaaworkstationtenancy"
FUNCTION = "ocid1.fnfunc.oc1.phx.aaaaaaaaworkstationfunction"
FUNCTIONS = "ocid1.compartment.oc1..aaaaaaaaworkstationfunctions"
BACKUPS = "ocid1.compartment.oc1..aaaaaaaaworkstationbackups"
OTHER = "ocid1.compartment.oc1..aaaaaaaaworkstationother"
RULE = f"ALL {{resource.type = 'fnfunc', resource.id = '{FUNCTION}'}}"
STATEMENT = f"Allow dynamic-group backup-copier to inspect volume-family in compartment id {BACKUPS}"
REPORT = {"action": "report", "compartmentId": BACKUPS}
SCRIPT = f"""set -euo pipefail
home=$(oci iam region-subscription list --tenancy-id {TENANCY} --query 'data[?"is-home-region"]."region-name" | [0]' --raw-output)
test -n "$home"
for pass in create update; do
  group=$(oci iam dynamic-group list --compartment-id {TENANCY} --region "$home" --all \\
    --query "data[?name=='backup-copier'].id | [0]" --raw-output)
  if [ -z "$group" ]; then
    oci iam dynamic-group create --compartment-id {TENANCY} --region "$home" --name backup-copier \\
      --description "created" --matching-rule "{RULE}" >/dev/null
  else
    oci iam dynamic-group update --dynamic-group-id "$group" --region "$home" --description "updated" --force >/dev/null
  fi
done
oci iam policy create --compartment-id {TENANCY} --region "$home" --name backup-copier --description "its grants" \\
  --statements '["{STATEMENT}"]' >/dev/null
schedule=$(oci resource-scheduler schedule create --region us-phoenix-1 --compartment-id {FUNCTIONS} \\
  --display-name backup-copier-report --action START_RESOURCE --recurrence-type CRON --recurrence-details "23 * * * *" \\
  --resources '[{{"id": "{FUNCTION}", "parameters": [{{"parameterType": "BODY", "value": {json.dumps(REPORT)}}}]}}]' \\
  --query data.id --raw-output)
echo "schedule $schedule"
fn config function dr-app backup-copier SOURCE_COMPARTMENT_IDS {BACKUPS}
fn config function dr-app backup-copier LEFTOVER ""
fn update function dr-app backup-copier --timeout 300
echo "function $(fn inspect function dr-app backup-copier id)"
echo '{{"action": "check"}}' | fn invoke dr-app backup-copier
"""


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ScriptRun, ControlPlane, FnCli]]:
    plane = ControlPlane(TENANCY)
    plane.add_function(FUNCTION, application="dr-app", compartment_id=FUNCTIONS, config={"LEFTOVER": "x"})
    fn = FnCli(plane, invoker=lambda call: (200, "application/json", b'{"outcome": "ready"}'))
    with workstation(tmp_path_factory.mktemp("workstation"), oci_cli(), plane, fn) as shell:
        yield shell.run(SCRIPT), plane, fn


@pytest.mark.timeout(900)  # the first run on a machine installs oci-cli (about a minute)
def test_the_script_ran_every_command_through_the_real_cli_and_fn(ran: tuple[ScriptRun, ControlPlane, FnCli]) -> None:
    run, plane, fn = ran
    assert run.returncode == 0, run.stderr
    assert [" ".join(call[:3]) for call in run.oci_calls] == [
        "iam region-subscription list",
        "iam dynamic-group list",
        "iam dynamic-group create",
        "iam dynamic-group list",
        "iam dynamic-group update",
        "iam policy create",
        "resource-scheduler schedule create",
    ]
    assert [r.command for r in run.fn_runs] == ["config function"] * 2 + [
        "update function",
        "inspect function",
        "invoke",
    ]
    assert run.stdout.splitlines() == [
        f"schedule {plane.named('schedules', 'backup-copier-report')['id']}",
        f"dr-app backup-copier updated SOURCE_COMPARTMENT_IDS with {BACKUPS}",
        "dr-app backup-copier updated LEFTOVER with ",
        "dr-app backup-copier updated",
        f'function "{FUNCTION}"',  # fn prints a property as JSON: the quotes are the script's to strip
        '{"outcome": "ready"}',
    ]
    assert fn.invocations == [FnInvocation(FUNCTION, b'{"action": "check"}\n', "text/plain", "")]


def test_the_run_s_effects_are_kept_as_oci_would_keep_them(ran: tuple[ScriptRun, ControlPlane, FnCli]) -> None:
    _, plane, _ = ran
    assert plane.dynamic_groups() == {"backup-copier": RULE}
    assert plane.named("dynamicGroups", "backup-copier")["description"] == "updated"  # one group, updated in place
    assert [(p.compartment_id, p.statements) for p in plane.policies()] == [(TENANCY, (STATEMENT,))]
    assert plane.schedule_bodies() == {"backup-copier-report": REPORT}
    function = plane.function(FUNCTION)
    assert (function["config"], function["timeoutInSeconds"]) == ({"SOURCE_COMPARTMENT_IDS": BACKUPS}, 300)
    # The home region's requests went to the IAM collection; nothing was sent that the plane does not serve.
    assert not [sent for sent in plane.sent if sent.path.startswith("/20160918/") and "NotFound" in str(sent)]


@pytest.fixture
def function_principal(tmp_path: Path) -> ResourcePrincipal:
    return issue_resource_principal(tmp_path / "rp", "us-phoenix-1", resource_id=FUNCTION)


def test_the_emulator_enforces_the_recorded_iam(
    ran: tuple[ScriptRun, ControlPlane, FnCli],
    function_principal: ResourcePrincipal,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, plane, _ = ran
    for name, value in function_principal.environment().items():
        monkeypatch.setenv(name, value)
    with Emulator(tenancy_id=TENANCY) as emulator:
        emulator.trust(function_principal.token, function_principal.public_key_pem)
        for compartment in (BACKUPS, OTHER, FUNCTIONS):
            emulator.add_compartment(TENANCY, compartment_id=compartment)
        enforce_recorded_iam(emulator, plane)
        storage = oci.core.BlockstorageClient(
            {"region": "us-phoenix-1"},
            signer=oci.auth.signers.get_resource_principals_signer(),
            service_endpoint=emulator.endpoint_template.format(region="us-phoenix-1"),
            retry_strategy=oci.retry.NoneRetryStrategy(),
        )
        assert storage.list_volume_backups(compartment_id=BACKUPS).status == 200
        with pytest.raises(oci.exceptions.ServiceError) as refused:
            storage.list_volume_backups(compartment_id=OTHER)
        assert (refused.value.status, refused.value.code) == (404, "NotAuthorizedOrNotFound")


def test_a_run_that_created_no_policy_has_nothing_to_enforce() -> None:
    with Emulator() as emulator, pytest.raises(ValueError, match="no policy"):
        enforce_recorded_iam(emulator, ControlPlane(TENANCY))
