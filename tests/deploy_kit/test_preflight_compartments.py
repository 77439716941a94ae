"""The preflight check's compartments item, through the fdk socket against the emulator's Identity.

A tenancy-wide sweep, expiry pass or report ("subtree": true) first lists the tenancy's
compartments; the check makes that one call, so a missing `inspect compartments in tenancy`
is found right after deploying instead of by the first scheduled run.
"""

from __future__ import annotations

from typing import Any

from backup_copier.deploy_kit import iam
from blockstorage_emulator import Emulator
from blockstorage_emulator.faults import Fault
from tests.helpers import SOURCE_REGION, FunctionFactory

CHECK = {"action": "check"}
NAME = 'compartments: list the tenancy\'s compartments (for "subtree": true)'


def _item(body: dict[str, Any]) -> dict[str, Any]:
    [item] = [check for check in body["checks"] if check["name"] == NAME]
    return item


def test_the_tenancy_s_compartments_are_listed_once(emulator: Emulator, function: FunctionFactory) -> None:
    emulator.add_compartment(emulator.tenancy_id, "preflight-team")

    answer = function().invoke(CHECK)

    assert answer.status == 200, answer.body
    body = answer.json()
    assert body["outcome"] == "ready"
    item = _item(body)
    assert item["ok"] is True
    assert item["detail"] == f"listed the tenancy's compartments in {SOURCE_REGION}: at least one ACTIVE compartment"
    # One call, one item, on the tenancy of the function's resource principal, as the subtree listing asks.
    [listing] = [r for r in emulator.requests if r.operation == "list_compartments"]
    assert listing.region == SOURCE_REGION
    assert listing.status == 200
    assert listing.query == {
        "compartmentId": emulator.tenancy_id,
        "compartmentIdInSubtree": "true",
        "accessLevel": "ANY",
        "lifecycleState": "ACTIVE",
        "limit": "1",
    }


def test_a_refusal_names_the_inspect_compartments_statement(emulator: Emulator, function: FunctionFactory) -> None:
    emulator.deny("list_compartments")

    answer = function().invoke(CHECK)

    assert answer.status == 502
    body = answer.json()
    assert body["outcome"] == "not_ready"
    # The other items still ran and passed: only this one fails, and says which statement is missing.
    [failing] = [check for check in body["checks"] if not check["ok"]]
    assert failing["name"] == NAME
    assert "404 NotAuthorizedOrNotFound" in failing["detail"]
    heading, statement = failing["fix"].splitlines()
    assert statement == "Allow dynamic-group backup-copier to inspect compartments in tenancy"
    assert statement == iam.inspect_compartments_statement()
    assert heading.startswith(
        f"In the tenancy's root compartment (compartments are global: one statement serves every region, {SOURCE_REGION} included)"
    )
    assert NAME in body["reason"]


def test_a_server_error_is_not_mistaken_for_a_missing_statement(emulator: Emulator, function: FunctionFactory) -> None:
    # More failures than the retry strategy's attempts: the check ends on a 500, never a 404.
    emulator.inject(Fault(operation="list_compartments", status=500, code="InternalServerError", count=20))

    body = function().invoke(CHECK, deadline_seconds=10).json()

    failing = _item(body)
    assert failing["ok"] is False
    assert "500 InternalServerError" in failing["detail"]
    assert "inspect compartments" not in failing["fix"]


def test_an_unreachable_identity_endpoint_names_the_route(emulator: Emulator, function: FunctionFactory) -> None:
    # Nothing listens on port 1, as from a subnet with no route to Oracle Services.
    answer = function(IDENTITY_ENDPOINT="http://127.0.0.1:1/{region}").invoke(CHECK, deadline_seconds=10)

    assert answer.status == 502
    [failing] = [check for check in answer.json()["checks"] if not check["ok"]]
    assert failing["name"] == NAME
    assert "service gateway" in failing["fix"]
