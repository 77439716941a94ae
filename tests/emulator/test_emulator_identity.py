"""Identity's ListCompartments, seen through the real SDK's IdentityClient and signer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import oci
import pytest

from blockstorage_emulator import Emulator, Fault
from local_runtime.credentials import DEFAULT_TENANCY_ID, ResourcePrincipal
from tests.helpers import DESTINATION_REGION, SOURCE_REGION

from .support import ClientFactory, IdentityFactory, send_raw, service_error

PATH = f"/identity/{SOURCE_REGION}/20160918/compartments"


def _tree(emulator: Emulator) -> dict[str, str]:
    """tenancy > a > a1 > a11, tenancy > b: names to OCIDs, created a minute apart."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    ids: dict[str, str] = {}
    for minute, (name, parent) in enumerate([("a", None), ("b", None), ("a1", "a"), ("a11", "a1")]):
        ids[name] = emulator.add_compartment(
            ids[parent] if parent else emulator.tenancy_id, name, time_created=start + timedelta(minutes=minute)
        )
    return ids


def _names(response: oci.response.Response) -> list[str]:
    return [compartment.name for compartment in response.data]


def test_the_tenancy_is_the_test_principals(emulator: Emulator, principal: ResourcePrincipal) -> None:
    assert emulator.tenancy_id == principal.tenancy_id == DEFAULT_TENANCY_ID
    assert Emulator(tenancy_id="ocid1.tenancy.oc1..aaaaaaaaother").tenancy_id == "ocid1.tenancy.oc1..aaaaaaaaother"
    with pytest.raises(ValueError, match=r"starts with ocid1\.tenancy\."):
        Emulator(tenancy_id="ocid1.compartment.oc1..aaaa")


def test_the_tenancy_lists_its_children_or_with_the_subtree_flag_every_compartment(
    emulator: Emulator, identity: IdentityFactory
) -> None:
    ids = _tree(emulator)

    children = identity().list_compartments(emulator.tenancy_id)
    everything = identity().list_compartments(emulator.tenancy_id, compartment_id_in_subtree=True, access_level="ANY")

    assert _names(children) == ["b", "a"]  # newest first
    assert sorted(_names(everything)) == ["a", "a1", "a11", "b"]
    assert emulator.tenancy_id not in [c.id for c in everything.data]
    deepest = next(c for c in everything.data if c.name == "a11")
    assert (deepest.id, deepest.compartment_id, deepest.lifecycle_state) == (ids["a11"], ids["a1"], "ACTIVE")
    assert deepest.time_created == datetime(2025, 1, 1, 0, 3, tzinfo=UTC)
    assert deepest.id.startswith("ocid1.compartment.oc1..")
    assert (deepest.freeform_tags, deepest.defined_tags, deepest.is_accessible) == ({}, {}, None)
    [request] = [r for r in emulator.requests if r.query.get("compartmentIdInSubtree")]
    assert (request.operation, request.path, request.region) == (
        "list_compartments",
        "/20160918/compartments",
        SOURCE_REGION,
    )
    assert request.query == {
        "compartmentId": emulator.tenancy_id,
        "accessLevel": "ANY",
        "compartmentIdInSubtree": "true",
    }
    assert request.headers["authorization"] == "<redacted>"


def test_below_the_tenancy_only_first_level_children_and_no_subtree_flag(
    emulator: Emulator, identity: IdentityFactory
) -> None:
    ids = _tree(emulator)

    assert _names(identity().list_compartments(ids["a"])) == ["a1"]
    assert _names(identity(DESTINATION_REGION).list_compartments(ids["a1"])) == ["a11"]  # compartments are global
    assert _names(identity().list_compartments(ids["a11"])) == []
    refused = service_error(identity().list_compartments, ids["a"], compartment_id_in_subtree=True)
    assert (refused.status, refused.code) == (400, "InvalidParameter")
    assert "compartmentIdInSubtree" in refused.message


def test_unknown_compartment_region_and_path_are_not_found(emulator: Emulator, identity: IdentityFactory) -> None:
    unknown = service_error(identity().list_compartments, "ocid1.compartment.oc1..aaaaaaaanosuchthing")
    region = service_error(identity("mars-north-1").list_compartments, emulator.tenancy_id)

    assert (unknown.status, unknown.code) == (404, "NotAuthorizedOrNotFound")
    assert (region.status, region.code) == (404, "NotAuthorizedOrNotFound")


def test_pages_follow_opc_next_page_up_to_a_limit_of_1000(emulator: Emulator, identity: IdentityFactory) -> None:
    created = {emulator.add_compartment(emulator.tenancy_id, f"team-{index}") for index in range(5)}
    client = identity()

    first = client.list_compartments(emulator.tenancy_id, limit=2)
    every = oci.pagination.list_call_get_all_results(client.list_compartments, emulator.tenancy_id, limit=2)
    at_most = client.list_compartments(emulator.tenancy_id, limit=1000)
    too_many = service_error(client.list_compartments, emulator.tenancy_id, limit=1001)

    assert len(first.data) == 2 and first.has_next_page
    assert {c.id for c in every.data} == created
    assert len([r for r in emulator.requests if r.query.get("limit") == "2"]) == 1 + 3
    assert len(at_most.data) == 5 and not at_most.has_next_page
    assert (too_many.status, too_many.code) == (400, "InvalidParameter")


def test_every_lifecycle_state_is_listed_and_can_be_filtered(emulator: Emulator, identity: IdentityFactory) -> None:
    for state in ("CREATING", "ACTIVE", "INACTIVE", "DELETING", "DELETED"):
        emulator.add_compartment(emulator.tenancy_id, state.lower(), lifecycle_state=state)
    later = emulator.add_compartment(emulator.tenancy_id, "retired")
    emulator.set_compartment_state(later, "INACTIVE")

    everything = identity().list_compartments(emulator.tenancy_id, compartment_id_in_subtree=True)
    inactive = identity().list_compartments(emulator.tenancy_id, lifecycle_state="INACTIVE")

    assert sorted(c.lifecycle_state for c in everything.data) == sorted(
        ["CREATING", "ACTIVE", "INACTIVE", "INACTIVE", "DELETING", "DELETED"]
    )
    assert sorted(_names(inactive)) == ["inactive", "retired"]
    # The state value is case-insensitive (the SDK only ever sends it upper-case).
    assert _names(
        identity().base_client.call_api(
            resource_path="/compartments",
            method="GET",
            query_params={"compartmentId": emulator.tenancy_id, "lifecycleState": "deleted"},
            response_type="list[Compartment]",
        )
    ) == ["deleted"]


def test_name_filter_and_sort_by_name(emulator: Emulator, identity: IdentityFactory) -> None:
    for name in ("beta", "alpha", "gamma"):
        emulator.add_compartment(emulator.tenancy_id, name)

    assert _names(identity().list_compartments(emulator.tenancy_id, sort_by="NAME")) == ["alpha", "beta", "gamma"]
    assert _names(identity().list_compartments(emulator.tenancy_id, sort_by="NAME", sort_order="DESC")) == [
        "gamma",
        "beta",
        "alpha",
    ]
    assert _names(identity().list_compartments(emulator.tenancy_id, name="beta")) == ["beta"]
    with pytest.raises(ValueError, match="already has a compartment named"):
        emulator.add_compartment(emulator.tenancy_id, "beta")


def test_a_denied_compartment_hides_its_children_and_its_backups(
    emulator: Emulator, identity: IdentityFactory, client: ClientFactory
) -> None:
    ids = _tree(emulator)
    emulator.add_backup("volume", SOURCE_REGION, ids["a1"])
    emulator.add_backup("volume", SOURCE_REGION, ids["b"])
    emulator.deny_compartment(ids["a1"])

    children = service_error(identity().list_compartments, ids["a1"])
    backups = service_error(client().list_volume_backups, ids["a1"])
    boot_backups = service_error(client(DESTINATION_REGION).list_boot_volume_backups, ids["a1"])
    anyway = identity().list_compartments(emulator.tenancy_id, compartment_id_in_subtree=True, access_level="ANY")
    accessible = identity().list_compartments(
        emulator.tenancy_id, compartment_id_in_subtree=True, access_level="ACCESSIBLE"
    )

    for error in (children, backups, boot_backups):
        assert (error.status, error.code) == (404, "NotAuthorizedOrNotFound")
    assert len(client().list_volume_backups(ids["b"]).data) == 1
    assert _names(identity().list_compartments(ids["a"])) == ["a1"]  # its parent still lists it
    assert sorted(_names(anyway)) == ["a", "a1", "a11", "b"]
    assert sorted(_names(accessible)) == ["a", "a11", "b"]
    assert {c.is_accessible for c in accessible.data} == {True}
    emulator.allow_all()
    assert len(client().list_volume_backups(ids["a1"]).data) == 1
    assert _names(identity().list_compartments(ids["a1"])) == ["a11"]


def test_bad_parameters_are_refused(emulator: Emulator, identity: IdentityFactory) -> None:
    def refused(**query: str) -> tuple[int, str]:
        error = service_error(
            identity().base_client.call_api,
            resource_path="/compartments",
            method="GET",
            query_params=query,
            response_type="list[Compartment]",
        )
        return error.status, error.code

    tenancy = emulator.tenancy_id
    assert refused() == (400, "MissingParameter")
    assert refused(compartmentId=tenancy, accessLevel="SOME") == (400, "InvalidParameter")
    assert refused(compartmentId=tenancy, compartmentIdInSubtree="yes") == (400, "InvalidParameter")
    assert refused(compartmentId=tenancy, lifecycleState="GONE") == (400, "InvalidParameter")
    assert refused(compartmentId=tenancy, sortBy="SIZE") == (400, "InvalidParameter")
    assert refused(compartmentId=tenancy, limit="0") == (400, "InvalidParameter")
    assert refused(compartmentId=tenancy, page="not-a-page") == (400, "InvalidParameter")


def test_signatures_are_verified(emulator: Emulator, identity: IdentityFactory, principal: ResourcePrincipal) -> None:
    status, _, body = send_raw(emulator, "GET", f"{PATH}?compartmentId={emulator.tenancy_id}")
    assert (status, body["code"]) == (401, "NotAuthenticated")

    emulator.revoke(principal.token)
    revoked = service_error(identity().list_compartments, emulator.tenancy_id)
    assert (revoked.status, revoked.code) == (401, "NotAuthenticated")


def test_faults_and_denials_of_list_compartments_apply_to_it_alone(
    emulator: Emulator, identity: IdentityFactory, client: ClientFactory
) -> None:
    emulator.inject(Fault(operation="list_compartments", status=429))
    emulator.inject(Fault(operation="*", status=500))  # Block Storage's: never Identity's

    throttled = service_error(identity().list_compartments, emulator.tenancy_id)
    assert (throttled.status, throttled.code) == (429, "TooManyRequests")
    assert identity().list_compartments(emulator.tenancy_id).status == 200
    assert emulator.faults_remaining() == 1  # the Block Storage fault, still armed
    emulator.deny("list_compartments")
    denied = service_error(identity().list_compartments, emulator.tenancy_id)
    assert (denied.status, denied.code) == (404, "NotAuthorizedOrNotFound")
    assert service_error(client().list_volume_group_backups, emulator.tenancy_id).status == 500
    emulator.allow_all()
    assert identity().list_compartments(emulator.tenancy_id).status == 200
    faulted = [r.fault for r in emulator.requests if r.operation == "list_compartments" and r.fault]
    assert faulted == ["status 429"]


def test_a_dropped_connection(emulator: Emulator, identity: IdentityFactory) -> None:
    emulator.inject(Fault(operation="list_compartments", drop_connection=True))

    with pytest.raises(oci.exceptions.RequestException):
        identity().list_compartments(emulator.tenancy_id)

    assert [r.status for r in emulator.requests] == [0]
