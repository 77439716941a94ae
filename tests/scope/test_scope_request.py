"""The scope's fields in each action's body: every mistake named by its field, nothing sent."""

from __future__ import annotations

import json
from typing import Any

import pytest

from backup_copier.dispatch import parse_request
from backup_copier.shared.errors import InvalidRequest
from backup_copier.shared.scope import MAX_COMPARTMENT_IDS, Scope
from blockstorage_emulator import Emulator
from tests.helpers import FunctionFactory, new_compartment, seed_backup

ACTIONS = ("reconcile", "expire", "report")
TENANCY = "ocid1.tenancy.oc1..aaaaaaaa" + "t" * 30
COMPARTMENTS = [new_compartment() for _ in range(3)]


def _parse(action: str, **fields: Any) -> Any:
    return parse_request(json.dumps({"action": action, **fields}).encode())


@pytest.mark.parametrize("action", ACTIONS)
def test_todays_body_keeps_its_meaning(action: str) -> None:
    assert _parse(action, compartmentId=COMPARTMENTS[0]).scope == Scope((COMPARTMENTS[0],))


@pytest.mark.parametrize("action", ACTIONS)
def test_a_subtree_and_a_list_are_scopes(action: str) -> None:
    assert _parse(action, compartmentId=TENANCY, subtree=True).scope == Scope((TENANCY,), subtree=True)
    assert _parse(action, compartmentIds=COMPARTMENTS).scope == Scope(tuple(COMPARTMENTS))


BAD = [
    ({"compartmentId": COMPARTMENTS[0], "compartmentIds": COMPARTMENTS}, "compartmentIds", "not both"),
    ({}, "compartmentId", "is required"),
    ({"compartmentIds": []}, "compartmentIds", "at least 1"),
    ({"compartmentIds": [new_compartment() for _ in range(MAX_COMPARTMENT_IDS + 1)]}, "compartmentIds", "at most 1000"),
    ({"compartmentIds": [*COMPARTMENTS, COMPARTMENTS[1]]}, "compartmentIds[3]", "repeats compartmentIds[1]"),
    ({"compartmentIds": [COMPARTMENTS[0], "ocid1.volume.oc1.phx." + "a" * 60]}, "compartmentIds[1]", "OCID of kind"),
    ({"compartmentIds": [COMPARTMENTS[0], "../../x"]}, "compartmentIds[1]", "OCID"),
    ({"compartmentIds": COMPARTMENTS[0]}, "compartmentIds", "list"),
    ({"compartmentIds": COMPARTMENTS, "subtree": True}, "subtree", "compartmentId only"),
    ({"compartmentId": TENANCY, "subtree": "true"}, "subtree", "boolean"),
    ({"compartmentId": TENANCY, "subtree": 1}, "subtree", "boolean"),
    ({"compartmentId": "ocid1.instance.oc1.phx." + "a" * 60, "subtree": True}, "compartmentId", "OCID of kind"),
]


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize(("fields", "field", "says"), BAD)
def test_each_bad_scope_is_named(action: str, fields: dict[str, Any], field: str, says: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        _parse(action, **fields)
    assert caught.value.field == field
    assert says in caught.value.message, caught.value.message


@pytest.mark.parametrize("action", ACTIONS)
def test_a_bad_scope_sends_nothing_and_the_function_keeps_serving(
    emulator: Emulator, function: FunctionFactory, action: str
) -> None:
    process = function()
    for fields, field, _ in BAD:
        answer = process.invoke({"action": action, **fields})
        assert answer.status == 502
        assert (answer.json()["outcome"], answer.json()["reason"].split(":")[0]) == ("rejected", field)
    assert emulator.requests == []
    compartment = new_compartment()
    seed_backup(emulator, compartment, "volume", hours_ago=2, copy_state="AVAILABLE")  # a volume to report
    served = process.invoke({"action": action, "compartmentIds": [compartment]})
    assert served.status == 200, served.json()
    assert served.json()["compartmentsScanned"] == 1
