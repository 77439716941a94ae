"""The control plane's REST answers keep state: what is created is listed, found by name, updated in place."""

from __future__ import annotations

import json

import pytest

from local_runtime.control_plane import ControlPlane

TENANCY = "ocid1.tenancy.oc1..aaaaaaaaexampletenancy"
FUNCTION = "ocid1.fnfunc.oc1.phx.aaaaaaaaexamplefunction"
FUNCTIONS = "ocid1.compartment.oc1..aaaaaaaafunctions"


@pytest.fixture
def plane() -> ControlPlane:
    plane = ControlPlane(TENANCY)
    plane.add_function(FUNCTION, application="dr-app", compartment_id=FUNCTIONS, config={"A": "1"})
    return plane


def test_a_created_policy_is_listed_by_compartment_and_name_and_updated_in_place(plane: ControlPlane) -> None:
    created = plane.answer(
        "POST", "/20160918/policies", {}, {"compartmentId": TENANCY, "name": "backup-copier", "statements": ["a"]}
    )
    assert created.status == 200 and created.body["id"] == "ocid1.policy.oc1..backupcopier"
    assert plane.answer(
        "GET", "/20160918/policies", {"compartmentId": TENANCY, "name": "backup-copier"}, None
    ).body == [created.body]
    assert plane.answer("GET", "/20160918/policies", {"compartmentId": FUNCTIONS}, None).body == []
    updated = plane.answer(
        "PUT", f"/20160918/policies/{created.body['id']}", {}, {"statements": ["b"], "versionDate": ""}
    )
    assert (updated.status, updated.body["statements"]) == (200, ["b"])
    assert [policy.statements for policy in plane.policies()] == [("b",)]
    again = plane.answer(
        "POST", "/20160918/policies", {}, {"compartmentId": FUNCTIONS, "name": "backup-copier", "statements": []}
    )
    assert again.body["id"] == "ocid1.policy.oc1..backupcopier1"


def test_schedules_are_listed_as_items_and_updated_without_a_body(plane: ControlPlane) -> None:
    body = {"action": "report", "compartmentId": TENANCY, "subtree": True}
    created = plane.answer(
        "POST",
        "/20240430/schedules",
        {},
        {
            "compartmentId": FUNCTIONS,
            "displayName": "backup-copier-report",
            "resources": [{"id": FUNCTION, "parameters": [{"parameterType": "BODY", "value": body}]}],
        },
    ).body
    listed = plane.answer(
        "GET", "/20240430/schedules", {"compartmentId": FUNCTIONS, "displayName": "backup-copier-report"}, None
    )
    assert listed.body == {"items": [created]}
    update = plane.answer("PUT", f"/20240430/schedules/{created['id']}", {}, {"recurrenceDetails": "0 * * * *"})
    assert (update.status, update.body) == (202, None) and "opc-work-request-id" in update.headers
    assert plane.schedule_bodies() == {"backup-copier-report": body}
    assert plane.named("schedules", "backup-copier-report")["recurrenceDetails"] == "0 * * * *"


def test_update_function_replaces_the_configuration_whole_as_oci_does(plane: ControlPlane) -> None:
    path = f"/20181201/functions/{FUNCTION}"
    answer = plane.answer("PUT", path, {}, {"config": {"B": "2"}, "timeoutInSeconds": 300})
    assert (answer.status, answer.body) == (200, None)
    function = plane.answer("GET", path.replace("20181201", "20260325"), {}, None).body
    assert (function["config"], function["timeoutInSeconds"]) == ({"B": "2"}, 300)
    app = plane.answer(
        "GET", "/20181201/applications", {"compartmentId": FUNCTIONS, "displayName": "dr-app"}, None
    ).body
    listed = plane.answer(
        "GET", "/20181201/functions", {"applicationId": app[0]["id"], "displayName": "backup-copier"}, None
    )
    assert [f["id"] for f in listed.body] == [FUNCTION]


def test_the_home_region_is_the_subscription_marked_so(plane: ControlPlane) -> None:
    regions = plane.answer("GET", f"/20160918/tenancies/{TENANCY}/regionSubscriptions", {}, None).body
    assert [(r["regionName"], r["regionKey"]) for r in regions if r["isHomeRegion"]] == [("us-ashburn-1", "IAD")]
    assert not [
        r
        for r in ControlPlane(TENANCY, home_region=None)
        .answer("GET", f"/20160918/tenancies/{TENANCY}/regionSubscriptions", {}, None)
        .body
        if r["isHomeRegion"]
    ]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/20160918/users"),
        ("DELETE", "/20160918/policies/ocid1.policy.oc1..nothing"),
        ("GET", "/20181201/functions/ocid1.fnfunc.oc1.phx.unknown"),
        ("GET", "/20170101/policies"),
    ],
)
def test_anything_else_is_404_and_recorded(plane: ControlPlane, method: str, path: str) -> None:
    assert plane.answer(method, path, {}, None).status == 404
    assert (plane.sent[-1].method, plane.sent[-1].path) == (method, path)


@pytest.mark.parametrize(
    ("path", "name_field", "ocid_type"),
    [
        ("/20160918/dynamicGroups", "name", "dynamicgroup"),
        ("/20181201/rules", "displayName", "eventrule"),
        ("/20180401/alarms", "displayName", "alarm"),
    ],
)
def test_every_collection_creates_lists_and_updates(
    plane: ControlPlane, path: str, name_field: str, ocid_type: str
) -> None:
    created = plane.answer(
        "POST", path, {}, {"compartmentId": TENANCY, name_field: "backup-copier", "isEnabled": True}
    ).body
    assert created["id"] == f"ocid1.{ocid_type}.oc1..backupcopier"
    assert plane.answer("GET", path, {"compartmentId": TENANCY, name_field: "backup-copier"}, None).body == [created]
    assert plane.answer("PUT", f"{path}/{created['id']}", {}, {"isEnabled": False}).body["isEnabled"] is False
    assert plane.answer("GET", f"{path}/{created['id']}", {}, None).body["isEnabled"] is False


def test_the_rule_s_condition_is_read_back_parsed(plane: ControlPlane) -> None:
    condition = {
        "eventType": ["com.oraclecloud.blockvolumes.createvolumebackup.end"],
        "data": {"freeformTags": {"dr": "yes"}},
    }
    plane.answer(
        "POST",
        "/20181201/rules",
        {},
        {"compartmentId": TENANCY, "displayName": "backup-copier", "condition": json.dumps(condition)},
    )
    assert plane.rule_condition("backup-copier") == condition
