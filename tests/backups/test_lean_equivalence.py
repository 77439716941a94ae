"""The lean reader against the SDK's models, over one seeded tenancy: every field a record holds, the same value.

The tenancy has several compartments, all three kinds, two regions, marked and unmarked copies,
a FAULTY copy, copies in flight, retention locks, volume group members and a policy backup's
expiration time; every list is read three items a page, so every read crosses pages. The same
lists are read by the SDK's generated methods (the models every pass reads today) and by the
lean reader, and each record must equal its model, field by field, in the same order.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from backup_copier.backups.lean_listing import (
    BACKUP_LISTS,
    LIST_COMPARTMENTS,
    UNTAGGED_BACKUP_LISTS,
    MalformedItems,
    records,
)
from backup_copier.shared.context import Invocation
from backup_copier.shared.deadline import Deadline
from backup_copier.shared.kinds import SPECS, BackupKind
from backup_copier.shared.retries import AttemptLog
from blockstorage_emulator import Emulator
from tests.helpers import DESTINATION_REGION, SOURCE_REGION, seed_backup

from .conftest import Clients
from .tenancy import seed_tenancy

PAGE = 3


@pytest.fixture(scope="module")
def tenancy(emulator: Emulator) -> tuple[str, list[str]]:
    return seed_tenancy(emulator)


def invocation() -> Invocation:
    return Invocation("01EQUIVALENCE", Deadline(60), AttemptLog())


def sdk_models(list_call: Any, compartment_id: str, **filters: Any) -> Iterator[Any]:
    """What listing.paged() hands the passes today: the SDK's models, page by page."""
    page = None
    while True:
        response = list_call(
            compartment_id,
            limit=PAGE,
            retry_strategy=invocation().retry_strategy,
            **filters,
            **({"page": page} if page else {}),
        )
        yield from response.data
        page = response.headers.get("opc-next-page")
        if not page:
            return


def differences(models: list[Any], found: list[Any]) -> list[str]:
    """Each field of each record that is not the model's value, of the model's type (a timestamp at its offset)."""
    assert len(found) == len(models), (len(found), len(models))
    wrong = []
    for model, record in zip(models, found, strict=True):
        for name in (field.name for field in dataclasses.fields(record)):
            mine, theirs = getattr(record, name), getattr(model, name)
            if isinstance(theirs, datetime):
                same = isinstance(mine, datetime) and mine == theirs and mine.utcoffset() == theirs.utcoffset()
            else:
                same = mine == theirs and type(mine) is type(theirs)
            if not same:
                wrong.append(f"{model.id} {name}: lean {mine!r} != SDK {theirs!r}")
    return wrong


def listings() -> Iterator[tuple[str, BackupKind, dict[str, Any]]]:
    """Every read a pass makes: sources oldest first, copies newest first, copies in flight."""
    for kind in BackupKind:
        yield SOURCE_REGION, kind, {"sort_by": "TIMECREATED", "sort_order": "ASC"}
        yield DESTINATION_REGION, kind, {"sort_by": "TIMECREATED", "sort_order": "DESC"}
        if kind is not BackupKind.VOLUME_GROUP:
            yield (
                DESTINATION_REGION,
                kind,
                {"sort_by": "TIMECREATED", "sort_order": "DESC", "lifecycle_state": "CREATING"},
            )


def test_every_record_field_equals_the_sdk_models(clients: Clients, tenancy: tuple[str, list[str]]) -> None:
    _, compartments = tenancy
    wrong: list[str] = []
    seen: dict[str, set[Any]] = {}
    for compartment in compartments:
        for region, kind, filters in listings():
            client = clients.blockstorage.for_region(region)
            models = list(sdk_models(getattr(client, SPECS[kind].list_operation), compartment, **filters))
            malformed = MalformedItems()
            found = list(
                records(
                    client, BACKUP_LISTS[kind], invocation(), region, compartment, malformed, page_size=PAGE, **filters
                )
            )
            assert malformed.count == 0
            wrong += differences(models, found)
            for record in found:
                for name in (field.name for field in dataclasses.fields(record)):
                    value = getattr(record, name)
                    seen.setdefault(name, set()).add(repr(value) if isinstance(value, dict) else value)
    assert wrong == []
    # The tenancy exercised what the passes decide on, so the comparison above compared something.
    assert {"AVAILABLE", "FAULTY", "CREATING"} <= seen["lifecycle_state"]
    assert {True, False, None} <= seen["is_retention_lock_enabled"] and True in seen["is_prevent_deletion_enabled"]
    assert len(seen["time_retention_expires_at"]) > 1 and len(seen["expiration_time"]) > 1
    assert len(seen["volume_group_backup_id"]) > 1 and len(seen["source_volume_group_backup_id"]) > 1
    assert any("backup-copier-copy" in tags for tags in seen["freeform_tags"])


def test_records_read_without_tags_are_the_same_but_for_their_tags(
    clients: Clients, tenancy: tuple[str, list[str]]
) -> None:
    """The report's reads (tags=False): every field they read as the tagged record's; the others not read."""
    _, compartments = tenancy
    client = clients.blockstorage.for_region(DESTINATION_REGION)
    filters = {"sort_by": "TIMECREATED", "sort_order": "DESC"}
    for kind in BackupKind:
        tagged, untagged = (
            list(
                records(
                    client, lists[kind], invocation(), DESTINATION_REGION, compartments[0], MalformedItems(), **filters
                )
            )
            for lists in (BACKUP_LISTS, UNTAGGED_BACKUP_LISTS)
        )
        assert len(tagged) == len(untagged) and any(record.freeform_tags for record in tagged)
        for theirs, mine in zip(tagged, untagged, strict=True):
            assert mine.freeform_tags is None and mine.compartment_id is None
            for field in dataclasses.fields(mine):
                if field.init:
                    assert getattr(mine, field.name) == getattr(theirs, field.name), (kind, field.name)
                else:
                    assert getattr(mine, field.name) is None, (kind, field.name)


def test_compartments_read_the_same(clients: Clients, tenancy: tuple[str, list[str]]) -> None:
    parent, compartments = tenancy
    client = clients.identity.for_region(SOURCE_REGION)
    filters = {"access_level": "ANY"}
    models = list(sdk_models(client.list_compartments, parent, **filters))
    found = list(
        records(
            client, LIST_COMPARTMENTS, invocation(), SOURCE_REGION, parent, MalformedItems(), page_size=PAGE, **filters
        )
    )
    assert differences(models, found) == []
    assert {record.id for record in found if record.lifecycle_state == "ACTIVE"} == set(compartments)
    assert {record.lifecycle_state for record in found} == {"ACTIVE", "INACTIVE"}


def test_a_malformed_item_fails_the_sdks_page_and_is_named_by_the_lean_reader(
    emulator: Emulator, clients: Clients
) -> None:
    """Today one bad timestamp fails the whole read; the lean reader keeps the page's other items."""
    compartment = emulator.add_compartment(emulator.tenancy_id, f"malformed-{uuid.uuid4().hex[:8]}")
    ids = [seed_backup(emulator, compartment, "volume", hours_ago=hours)["id"] for hours in (5, 4, 3, 2, 1)]
    emulator.serve_fields(ids[1], {}, withhold=("id",))
    emulator.serve_fields(ids[3], {"timeCreated": "2026-02-30T00:00:00.000Z"})
    client = clients.blockstorage.for_region(SOURCE_REGION)
    filters = {"sort_by": "TIMECREATED", "sort_order": "ASC"}
    with pytest.raises(Exception, match="Failed to parse"):
        list(sdk_models(client.list_volume_backups, compartment, **filters))
    malformed = MalformedItems()
    found = list(
        records(
            client,
            BACKUP_LISTS[BackupKind.VOLUME],
            invocation(),
            SOURCE_REGION,
            compartment,
            malformed,
            page_size=PAGE,
            **filters,
        )
    )
    assert [record.id for record in found] == [ids[0], ids[2], ids[4]]
    assert malformed.count == 2
    assert [(item.page, item.position, item.item_id) for item in malformed.named] == [(1, 1, None), (2, 0, ids[3])]
    assert malformed.named[1].problem.startswith("timeCreated: Input should be a valid datetime")


def test_the_emulator_sends_timestamps_as_oci_does(clients: Clients, tenancy: tuple[str, list[str]]) -> None:
    """RFC 3339 in UTC with milliseconds and a Z, as Oracle's API reference shows them ("2016-08-25T21:10:29.600Z"):
    the records are read from what the emulator puts on the wire, so it must be what OCI puts there."""
    _, compartments = tenancy
    client = clients.blockstorage.for_region(DESTINATION_REGION)
    body = client.base_client.call_api(
        resource_path="/volumeBackups",
        method="GET",
        query_params={"compartmentId": compartments[0]},
        header_params={"accept": "application/json", "content-type": "application/json"},
        response_type="bytes",
    ).data
    stamps = re.findall(rb'"(time[A-Za-z]*|expirationTime)": "([^"]*)"', body)
    assert {name for name, _ in stamps} >= {b"timeCreated", b"timeRequestReceived", b"timeRetentionExpiresAt"}
    assert [value for _, value in stamps if not re.fullmatch(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", value)] == []
