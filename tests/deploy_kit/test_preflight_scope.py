"""The check verifies what the function will serve (issue 24, findings 2, 4 and 8).

It lists the compartments the function copies from when SOURCE_COMPARTMENT_IDS names them, and
otherwise says which compartment it listed and how to check others; each fix names the compartment
and region its statements are for; the copy permissions, which only a copy proves, are an item of
their own naming the statements to verify; and every item names the one dynamic group.
"""

from __future__ import annotations

import json
import re
from typing import Any

from backup_copier.deploy_kit import cli, iam
from blockstorage_emulator import Emulator
from local_runtime.credentials import DEFAULT_COMPARTMENT_ID
from tests.helpers import COMPARTMENT_ID, DESTINATION_REGION, SOURCE_REGION, FunctionFactory

CHECK = {"action": "check"}
FRANKFURT = "eu-frankfurt-1"


def _item(body: dict[str, Any], name: str) -> dict[str, Any]:
    [item] = [check for check in body["checks"] if check["name"] == name]
    return item


def test_source_compartment_ids_are_listed_and_each_fix_names_the_compartment_and_region(
    emulator: Emulator, function: FunctionFactory
) -> None:
    emulator.deny("list", region=DESTINATION_REGION, kind="boot_volume")

    body = function(SOURCE_COMPARTMENT_IDS=COMPARTMENT_ID).invoke(CHECK).json()

    assert {r.query.get("compartmentId") for r in emulator.requests if r.operation == "list"} == {COMPARTMENT_ID}
    listed = _item(body, "compartments checked")
    assert listed["ok"] is True and "verified" not in listed
    assert listed["detail"] == f"{COMPARTMENT_ID}: SOURCE_COMPARTMENT_IDS, the compartments the function copies from"
    [failing] = [check for check in body["checks"] if not check["ok"]]
    heading, *statements = failing["fix"].splitlines()
    assert heading == (
        f"For compartment {COMPARTMENT_ID} (SOURCE_COMPARTMENT_IDS), in {DESTINATION_REGION} (the destination "
        "region), add to the function's policy:"
    )
    assert all(f"in compartment id {COMPARTMENT_ID} " in statement for statement in statements)


def test_without_source_compartment_ids_it_says_which_compartment_it_listed_and_how_to_check_others(
    emulator: Emulator, function: FunctionFactory
) -> None:
    body = function().invoke(CHECK).json()

    assert body["outcome"] == "ready"
    listed = _item(body, "compartments checked")
    assert (listed["ok"], listed["verified"]) == (True, False)
    assert listed["detail"].startswith(
        f"only {DEFAULT_COMPARTMENT_ID}, the function's own compartment: SOURCE_COMPARTMENT_IDS is not set"
    )
    assert 'send {"action": "check", "compartmentIds": ["<backups-compartment-ocid>", ...]}' in listed["detail"]
    assert "fn config function <app> <function> SOURCE_COMPARTMENT_IDS <ocid>" in listed["detail"]


def test_the_copy_permissions_are_an_item_naming_the_copy_statements_of_the_policy(
    emulator: Emulator, function: FunctionFactory
) -> None:
    destinations = f"{DESTINATION_REGION},{FRANKFURT}"

    body = function(SOURCE_COMPARTMENT_IDS=COMPARTMENT_ID, DESTINATION_REGION=destinations).invoke(CHECK).json()

    item = _item(body, f"copy: {SOURCE_REGION} to {DESTINATION_REGION}, {FRANKFURT}")
    assert (item["ok"], item["verified"]) == (True, False)
    assert item["detail"].startswith(
        "not verified: the check cannot prove the copy permissions without copying, and it never copies. A copy "
        f"request is sent to the source region, {SOURCE_REGION}, which needs BOOT_VOLUME_BACKUP_COPY, "
        "BOOT_VOLUME_BACKUP_READ, VOLUME_BACKUP_COPY, VOLUME_BACKUP_READ on the backup's compartment; each "
        f"destination ({DESTINATION_REGION}, {FRANKFURT}) needs BOOT_VOLUME_BACKUP_CREATE, VOLUME_BACKUP_CREATE, "
        "VOLUME_GROUP_BACKUP_CREATE there."
    )
    statements = item["fix"].splitlines()
    assert statements == iam.copy_statements(SOURCE_REGION, [DESTINATION_REGION, FRANKFURT], COMPARTMENT_ID)
    # Exactly the copy and create statements `policies` prints for the same deployment, no other.
    policy = json.loads(
        cli.render(
            [
                "policies",
                "--source-region",
                SOURCE_REGION,
                "--destination",
                destinations,
                "--compartment",
                COMPARTMENT_ID,
                "--function-compartment",
                DEFAULT_COMPARTMENT_ID,
                "--json",
            ]
        )
    )
    copying = [s for s in policy if re.search(r"_COPY'|_CREATE'|to read (boot-)?volume-backups", s)]
    assert statements == copying
    assert not [r for r in emulator.requests if r.operation == "copy"]


def test_without_source_compartment_ids_the_copy_statements_name_no_compartment_of_the_function(
    emulator: Emulator, function: FunctionFactory
) -> None:
    item = _item(function().invoke(CHECK).json(), f"copy: {SOURCE_REGION} to {DESTINATION_REGION}")

    assert item["fix"].splitlines() == iam.copy_statements(
        SOURCE_REGION, [DESTINATION_REGION], "<backups-compartment-ocid>"
    )


def test_every_item_names_the_same_dynamic_group(emulator: Emulator, function: FunctionFactory) -> None:
    for operation in ("list", "post_metrics", "list_compartments"):
        emulator.deny(operation)

    answer = function().invoke(CHECK)

    text = json.dumps(answer.json())
    assert answer.json()["outcome"] == "not_ready"
    assert "<function dynamic group>" not in text
    assert set(re.findall(r"dynamic[- ]group '?([\w<>-]+)", text)) == {iam.DEFAULT_DYNAMIC_GROUP}
