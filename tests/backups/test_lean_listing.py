"""The lean list reads through the real SDK client, signer and retry strategy, against the emulator over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from oci.exceptions import ServiceError

from backup_copier.backups.lean_listing import (
    BACKUP_LISTS,
    LIST_COMPARTMENTS,
    MAX_MALFORMED_NAMED,
    Malformed,
    MalformedItems,
    backup_records,
    compartment_records,
    records,
)
from backup_copier.backups.listing import PAGE_SIZE, OutOfTime
from backup_copier.shared.context import Invocation
from backup_copier.shared.deadline import Deadline
from backup_copier.shared.kinds import SPECS, BackupKind
from backup_copier.shared.retries import AttemptLog
from blockstorage_emulator import Emulator, Fault
from tests.helpers import SOURCE_REGION, new_compartment

from .conftest import Clients

# Headers that differ between any two requests, whoever makes them.
_PER_REQUEST = {"opc-request-id", "date", "authorization"}


def invocation(seconds: float = 30.0) -> Invocation:
    return Invocation("01LEANCALL", Deadline(seconds), AttemptLog())


def seeded(emulator: Emulator, kind: str, count: int) -> tuple[str, list[str]]:
    compartment = new_compartment()
    ids = [emulator.add_backup(kind, SOURCE_REGION, compartment)["id"] for _ in range(count)]
    return compartment, ids


def _request(emulator: Emulator) -> tuple[Any, ...]:
    sent = emulator.requests[-1]
    headers = {name: value for name, value in sent.headers.items() if name not in _PER_REQUEST}
    return sent.region, sent.method, sent.path, sent.query, headers


@pytest.mark.parametrize("kind", list(BackupKind))
def test_the_request_is_the_one_the_generated_method_sends(
    emulator: Emulator, clients: Clients, kind: BackupKind
) -> None:
    """Same path, query and headers (retry header included) as the SDK's own list method, with the same strategy."""
    spec = SPECS[kind]
    compartment, _ = seeded(emulator, kind.value, 1)
    call = invocation()
    filters: dict[str, Any] = {}
    if kind is not BackupKind.VOLUME_GROUP:
        filters["lifecycle_state"] = "AVAILABLE"
    client = clients.blockstorage.for_region(SOURCE_REGION)
    getattr(client, spec.list_operation)(
        compartment,
        limit=PAGE_SIZE,
        retry_strategy=call.retry_strategy,
        sort_by="TIMECREATED",
        sort_order="DESC",
        **filters,
    )
    generated = _request(emulator)
    found = list(
        backup_records(
            clients.blockstorage, call, SOURCE_REGION, spec, compartment, "DESC", MalformedItems(), **filters
        )
    )
    assert len(found) == 1
    assert _request(emulator) == generated
    assert generated[4]["opc-client-retries"] == "true"


def test_list_compartments_is_the_generated_request(emulator: Emulator, clients: Clients) -> None:
    parent = emulator.add_compartment(emulator.tenancy_id, "lean-parent")
    child = emulator.add_compartment(parent, "lean-child")
    call = invocation()
    client = clients.identity.for_region(SOURCE_REGION)
    filters = {"access_level": "ANY", "lifecycle_state": "ACTIVE"}
    client.list_compartments(parent, limit=PAGE_SIZE, retry_strategy=call.retry_strategy, **filters)
    generated = _request(emulator)
    found = list(compartment_records(client, call, SOURCE_REGION, parent, MalformedItems(), **filters))
    assert [(record.id, record.lifecycle_state) for record in found] == [(child, "ACTIVE")]
    assert _request(emulator) == generated


def test_every_page_is_read_and_each_record_let_go(emulator: Emulator, clients: Clients) -> None:
    compartment, ids = seeded(emulator, "volume", 5)
    call = invocation()
    found = records(
        clients.blockstorage.for_region(SOURCE_REGION),
        BACKUP_LISTS[BackupKind.VOLUME],
        call,
        SOURCE_REGION,
        compartment,
        MalformedItems(),
        page_size=2,
        sort_by="TIMECREATED",
        sort_order="ASC",
    )
    assert [record.id for record in found] == ids
    lists = [request for request in emulator.requests if request.operation == "list"]
    assert [request.query.get("limit") for request in lists] == ["2", "2", "2"]
    assert "page" not in lists[0].query and all("page" in request.query for request in lists[1:])


def test_no_time_for_a_page_means_no_request(emulator: Emulator, clients: Clients) -> None:
    compartment, _ = seeded(emulator, "volume", 1)
    with pytest.raises(OutOfTime):
        next(
            backup_records(
                clients.blockstorage,
                invocation(seconds=2.5),
                SOURCE_REGION,
                SPECS[BackupKind.VOLUME],
                compartment,
                "ASC",
                MalformedItems(),
            )
        )
    assert emulator.requests == []


def test_a_throttled_page_is_retried_within_the_deadline(emulator: Emulator, clients: Clients) -> None:
    """The invocation's strategy wraps the call: it retries, counts, and cuts the client's timeout to the time left."""
    compartment, ids = seeded(emulator, "boot_volume", 2)
    emulator.inject(Fault(operation="list", status=429, code="TooManyRequests", count=2))
    call = invocation(seconds=12)
    found = list(
        backup_records(
            clients.blockstorage,
            call,
            SOURCE_REGION,
            SPECS[BackupKind.BOOT_VOLUME],
            compartment,
            "ASC",
            MalformedItems(),
        )
    )
    assert [record.id for record in found] == ids
    assert (call.attempts.attempts, call.attempts.retries) == (3, 2)
    assert call.attempts.retried_errors == {"429 TooManyRequests": 2}
    connect, read = clients.blockstorage.for_region(SOURCE_REGION).base_client.timeout
    assert read <= 10.0 and connect <= read


def test_a_refusal_is_the_sdks_service_error(emulator: Emulator, clients: Clients) -> None:
    compartment, _ = seeded(emulator, "volume", 1)
    emulator.deny_compartment(compartment)
    with pytest.raises(ServiceError) as refused:
        list(
            backup_records(
                clients.blockstorage,
                invocation(),
                SOURCE_REGION,
                SPECS[BackupKind.VOLUME],
                compartment,
                "ASC",
                MalformedItems(),
            )
        )
    assert (refused.value.status, refused.value.code) == (404, "NotAuthorizedOrNotFound")


def test_malformed_items_are_counted_named_and_left_out(emulator: Emulator, clients: Clients) -> None:
    compartment, ids = seeded(emulator, "volume", 4)
    emulator.serve_fields(ids[1], {}, withhold=("id",))
    emulator.serve_fields(ids[2], {"timeCreated": "yesterday"})
    malformed = MalformedItems()
    found = list(
        records(
            clients.blockstorage.for_region(SOURCE_REGION),
            BACKUP_LISTS[BackupKind.VOLUME],
            invocation(),
            SOURCE_REGION,
            compartment,
            malformed,
            page_size=3,
            sort_by="TIMECREATED",
            sort_order="ASC",
        )
    )
    assert [record.id for record in found] == [ids[0], ids[3]]
    first_page = next(request for request in emulator.requests if request.operation == "list")
    assert malformed.count == 2
    assert [item.to_json() | {"opcRequestId": None} for item in malformed.named] == [
        {
            "operation": "ListVolumeBackups",
            "region": SOURCE_REGION,
            "compartmentId": compartment,
            "id": None,
            "page": 1,
            "position": 1,
            "problem": "id: Field required",
            "opcRequestId": None,
        },
        {
            "operation": "ListVolumeBackups",
            "region": SOURCE_REGION,
            "compartmentId": compartment,
            "id": ids[2],
            "page": 1,
            "position": 2,
            "problem": "timeCreated: Input should be a valid datetime, input is too short (got 'yesterday')",
            "opcRequestId": None,
        },
    ]
    # The response's id: the client's request id and the service's, by which Oracle finds the page.
    assert all(
        str(item.opc_request_id).startswith(first_page.headers["opc-request-id"] + "/") for item in malformed.named
    )


def test_the_count_is_whole_and_the_names_capped() -> None:
    def some(count: int) -> MalformedItems:
        items = MalformedItems()
        for position in range(count):
            items.add(Malformed("ListVolumeBackups", SOURCE_REGION, "c", None, 1, position, "id: Field required", None))
        return items

    scope = some(15)
    scope.absorb(some(15))
    assert scope.count == 30 and len(scope.named) == MAX_MALFORMED_NAMED
    assert scope.to_json()["count"] == 30 and len(scope.to_json()["items"]) == MAX_MALFORMED_NAMED


def test_a_filter_the_operation_does_not_take_is_refused_before_any_request(
    emulator: Emulator, clients: Clients
) -> None:
    with pytest.raises(ValueError, match="list_volume_group_backups got unknown kwargs: \\['lifecycle_state'\\]"):
        next(
            backup_records(
                clients.blockstorage,
                invocation(),
                SOURCE_REGION,
                SPECS[BackupKind.VOLUME_GROUP],
                new_compartment(),
                "ASC",
                MalformedItems(),
                lifecycle_state="CREATING",
            )
        )
    assert emulator.requests == []
    assert LIST_COMPARTMENTS.query_params("c", {"compartment_id_in_subtree": True}) == {
        "compartmentId": "c",
        "compartmentIdInSubtree": True,
    }
