"""The drill's IAM: the kit's statements are enough for every kind, and the check proves the drill's reads."""

from __future__ import annotations

import json

from backup_copier.deploy_kit import cli as deploy
from backup_copier.deploy_kit import iam, recovery_point
from blockstorage_emulator import Emulator
from local_runtime.credentials import ResourcePrincipal
from tests.helpers import DESTINATION_REGION, SOURCE_REGION, FunctionFactory, new_compartment, seed_copy

from .support import drill_function, drill_pass

FUNCTION_COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaadrillfunctioncompartment"


def test_the_kits_statements_let_a_drill_restore_mark_and_delete_every_kind(
    emulator: Emulator, function: FunctionFactory, principal: ResourcePrincipal
) -> None:
    compartment = new_compartment()
    for kind in ("volume", "boot_volume", "volume_group"):
        seed_copy(emulator, compartment, kind)
    kit = deploy.render(
        [
            *("policies", "--source-region", SOURCE_REGION, "--destination", DESTINATION_REGION),
            *("--compartment", compartment, "--function-compartment", FUNCTION_COMPARTMENT, "--drills", "--json"),
        ]
    )
    # Statements whose grantee is a service (Events, Block Volume's use of a key) are not the function's.
    statements = [line for line in json.loads(kit) if not line.startswith("Allow service ")]
    statements += recovery_point.metrics_statements([compartment])
    emulator.enforce_policies(statements, {"backup-copier": iam.dynamic_group_rule(function_id=principal.resource_id)})
    process = drill_function(emulator, function)

    started = drill_pass(process, compartment, maxRestores=3)
    emulator.finish_restores()
    passed = drill_pass(process, compartment, maxRestores=3)
    emulator.finish_deletions()
    members = drill_pass(process, compartment, maxRestores=3)

    assert (started["outcome"], started["started"], started["metricsFailed"]) == ("drilled", 3, 0), started["reason"]
    assert (passed["outcome"], passed["passed"], passed["deleted"]) == ("drilled", 3, 3), passed["reason"]
    assert members["outcome"] == "drilled" and members["deleted"] >= 2, members["reason"]
    assert [r for r in emulator.requests if r.status == 404] == []


def test_the_check_proves_the_drills_reads_and_names_the_statement_a_refusal_lacks(
    emulator: Emulator, function: FunctionFactory
) -> None:
    compartment = new_compartment()
    emulator.deny("list_volumes", region=DESTINATION_REGION)
    emulator.deny("list_availability_domains")

    answer = drill_function(emulator, function).invoke(
        {"action": "check", "compartmentIds": [compartment], "drill": True}
    )

    checks = {check["name"]: check for check in answer.json()["checks"]}
    domains = checks[f"drill {DESTINATION_REGION}: list availability domains"]
    volumes = checks[f"drill {DESTINATION_REGION}: list volumes"]
    assert (domains["ok"], domains["fix"]) == (False, iam.inspect_compartments_statement())
    assert volumes["ok"] is False
    assert volumes["fix"] == (
        f"Allow dynamic-group backup-copier to inspect volumes in compartment id {compartment} "
        "where request.region = 'iad'"
    )
    assert answer.json()["outcome"] == "not_ready"
    assert [r for r in emulator.requests if r.method not in ("GET",) and r.operation != "post_metrics"] == []
