"""The tenancy-wide list calls, read as raw bytes through the SDK's own client into records (records.py).

Every list call of a pass over many compartments goes through here: ListVolumeBackups,
ListBootVolumeBackups, ListVolumeGroupBackups (sources and destination copies alike) and
Identity's ListCompartments. Single-resource calls (get, copy, update, delete) keep the SDK's
models: there are few of them.

The request is the one the SDK's generated method builds, made by the same client: its
`base_client.call_api` (oci/base_client.py) with its signer, endpoint and session, the same
resource path, query and headers, and the same retry wrapping (shared/retries.py's deadline-aware
strategy; `_bound_timeout` still finds the client as `call_api.__self__`). Only the response type
differs: `response_type="bytes"`, for which `BaseClient.request` returns `response.content`
untouched (the `BYTES_RESPONSE_TYPE` branch, oci 2.189). The generated methods cannot ask for it:
they hard-code `response_type="list[VolumeBackup]"` and refuse unknown keyword arguments
(core/blockstorage_client.py `list_volume_backups`: "Don't accept unknown kwargs").

Why not the client option `skip_deserialization` (BaseClient.__init__ keeps it;
`BaseClient.deserialize_response_data` then returns `json.loads` of the body): it is a client's
option, so the passes would need a second client per region and thread beside the one the
copy, mark and delete calls use (they need models); and it hands over Python lists and dicts,
which must then be validated again, while pydantic-core reads the bytes once. On a page of
1,000 marked copies (docs/performance.md, bench/parse_table.py): about 5.5 ms of CPU and a
4.4 MiB peak that way, against about 3.5 ms and 1.35 MiB from the bytes, and 35 ms and 5.6 MiB
for the SDK's models.

One page is in memory at a time: its bytes are dropped once read, and each record is let go
as it is handed over, before the next page is fetched.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Generic

from oci import retry

from ..shared.context import Invocation
from ..shared.errors import ListPageUnreadable
from ..shared.kinds import BackupKind, KindSpec
from .listing import PAGE_SIZE, check_time
from .records import (
    RECORDS,
    UNTAGGED_RECORDS,
    BackupRecord,
    CompartmentRecord,
    ItemProblem,
    PageReader,
    Record,
    UnreadablePage,
)

# The answer names this many malformed items; the count is always whole.
MAX_MALFORMED_NAMED = 20
_JSON_HEADERS = {"accept": "application/json", "content-type": "application/json"}


@dataclass(frozen=True)
class ListOperation(Generic[Record]):
    """One List operation as SDK 2.189's generated method builds it."""

    # The API's name for the operation, as the answer names it.
    name: str
    # The generated method's operation_name and api_reference_link, passed on as it passes them.
    sdk_name: str
    resource_path: str
    api_reference_link: str
    # Keyword -> query parameter, in the generated method's order (compartmentId comes first).
    query: tuple[tuple[str, str], ...]
    reader: PageReader[Record]

    def query_params(self, compartment_id: str, filters: dict[str, Any]) -> dict[str, Any]:
        known = dict(self.query)
        unknown = sorted(set(filters) - set(known))
        if unknown:
            # As the generated method answers a keyword it does not take: a bug, not a service error.
            raise ValueError(f"{self.sdk_name} got unknown kwargs: {unknown!r}")
        params: dict[str, Any] = {"compartmentId": compartment_id}
        for keyword, parameter in self.query:
            if filters.get(keyword) is not None:
                params[parameter] = filters[keyword]
        return params


# The query of each operation, in core/blockstorage_client.py's order (list_volume_backups,
# list_boot_volume_backups, list_volume_group_backups) and identity/identity_client.py's
# (list_compartments). The volume group list takes no source or state filter.
BACKUP_LISTS: dict[BackupKind, ListOperation[BackupRecord]] = {
    BackupKind.VOLUME: ListOperation(
        "ListVolumeBackups",
        "list_volume_backups",
        "/volumeBackups",
        "https://docs.oracle.com/iaas/api/#/en/iaas/20160918/VolumeBackup/ListVolumeBackups",
        (
            ("volume_id", "volumeId"),
            ("limit", "limit"),
            ("page", "page"),
            ("display_name", "displayName"),
            ("source_volume_backup_id", "sourceVolumeBackupId"),
            ("sort_by", "sortBy"),
            ("sort_order", "sortOrder"),
            ("lifecycle_state", "lifecycleState"),
        ),
        PageReader(RECORDS[BackupKind.VOLUME]),
    ),
    BackupKind.BOOT_VOLUME: ListOperation(
        "ListBootVolumeBackups",
        "list_boot_volume_backups",
        "/bootVolumeBackups",
        "https://docs.oracle.com/iaas/api/#/en/iaas/20160918/BootVolumeBackup/ListBootVolumeBackups",
        (
            ("boot_volume_id", "bootVolumeId"),
            ("limit", "limit"),
            ("page", "page"),
            ("display_name", "displayName"),
            ("source_boot_volume_backup_id", "sourceBootVolumeBackupId"),
            ("sort_by", "sortBy"),
            ("sort_order", "sortOrder"),
            ("lifecycle_state", "lifecycleState"),
        ),
        PageReader(RECORDS[BackupKind.BOOT_VOLUME]),
    ),
    BackupKind.VOLUME_GROUP: ListOperation(
        "ListVolumeGroupBackups",
        "list_volume_group_backups",
        "/volumeGroupBackups",
        "https://docs.oracle.com/iaas/api/#/en/iaas/20160918/VolumeGroupBackup/ListVolumeGroupBackups",
        (
            ("volume_group_id", "volumeGroupId"),
            ("limit", "limit"),
            ("page", "page"),
            ("display_name", "displayName"),
            ("sort_by", "sortBy"),
            ("sort_order", "sortOrder"),
        ),
        PageReader(RECORDS[BackupKind.VOLUME_GROUP]),
    ),
}
# The same operations read into records without their freeform tags and more (records.py), for a pass that reads none.
UNTAGGED_BACKUP_LISTS: dict[BackupKind, ListOperation[BackupRecord]] = {
    kind: replace(operation, reader=PageReader(UNTAGGED_RECORDS[kind])) for kind, operation in BACKUP_LISTS.items()
}
LIST_COMPARTMENTS: ListOperation[CompartmentRecord] = ListOperation(
    "ListCompartments",
    "list_compartments",
    "/compartments",
    "https://docs.oracle.com/iaas/api/#/en/identity/20160918/Compartment/ListCompartments",
    (
        ("page", "page"),
        ("limit", "limit"),
        ("access_level", "accessLevel"),
        ("compartment_id_in_subtree", "compartmentIdInSubtree"),
        ("name", "name"),
        ("sort_by", "sortBy"),
        ("sort_order", "sortOrder"),
        ("lifecycle_state", "lifecycleState"),
    ),
    PageReader(CompartmentRecord),
)


@dataclass(frozen=True)
class Malformed:
    """An item of a list page that is not a record: where it came from and why; never acted on."""

    operation: str
    region: str
    compartment_id: str
    item_id: str | None
    page: int
    position: int
    problem: str
    # The page's request id, by which Oracle can find the response that carried the item.
    opc_request_id: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "region": self.region,
            "compartmentId": self.compartment_id,
            "id": self.item_id,
            "page": self.page,
            "position": self.position,
            "problem": self.problem,
            "opcRequestId": self.opc_request_id,
        }


@dataclass
class MalformedItems:
    """Every malformed item the reads met: all counted, the first MAX_MALFORMED_NAMED named.

    One per compartment read (a worker's own), absorbed into the scope's in the caller's
    thread once the compartment was read whole, as the passes' other findings are.
    """

    count: int = 0
    named: list[Malformed] = field(default_factory=list)

    def add(self, malformed: Malformed) -> None:
        self.count += 1
        if len(self.named) < MAX_MALFORMED_NAMED:
            self.named.append(malformed)

    def absorb(self, other: MalformedItems) -> None:
        self.count += other.count
        self.named += other.named[: MAX_MALFORMED_NAMED - len(self.named)]

    def to_json(self) -> dict[str, Any]:
        return {"count": self.count, "items": [malformed.to_json() for malformed in self.named]}


def backup_records(
    clients: Any,
    invocation: Invocation,
    region: str,
    spec: KindSpec,
    compartment_id: str,
    order: str,
    malformed: MalformedItems,
    *,
    tags: bool = True,
    **filters: Any,
) -> Iterator[BackupRecord]:
    """Every backup of `spec`'s kind in the compartment, by creation time in `order` (ASC or DESC):
    listing.pages(), as records; the items that are not records go to `malformed`. With
    tags=False, records without their freeform tags, the fields only tag-reading passes use and
    the compartment's OCID (None, records.py), for a pass that reads no tag."""
    return records(
        clients.for_region(region),
        (BACKUP_LISTS if tags else UNTAGGED_BACKUP_LISTS)[spec.kind],
        invocation,
        region,
        compartment_id,
        malformed,
        sort_by="TIMECREATED",
        sort_order=order,
        **filters,
    )


def compartment_records(
    identity_client: Any,
    invocation: Invocation,
    region: str,
    compartment_id: str,
    malformed: MalformedItems,
    **filters: Any,
) -> Iterator[CompartmentRecord]:
    """The compartments ListCompartments returns under `compartment_id`, as records."""
    return records(identity_client, LIST_COMPARTMENTS, invocation, region, compartment_id, malformed, **filters)


def records(
    client: Any,
    operation: ListOperation[Record],
    invocation: Invocation,
    region: str,
    compartment_id: str,
    malformed: MalformedItems,
    *,
    page_size: int = PAGE_SIZE,
    **filters: Any,
) -> Iterator[Record]:
    """Every item of a paged List operation, page_size at a time, checking the time before each page."""
    next_page: str | None = None
    number = 0
    while True:
        check_time(invocation)
        number += 1
        query = operation.query_params(compartment_id, {**filters, "limit": page_size, "page": next_page})
        response = request_page(client, operation, invocation, query)
        body: bytes = response.data
        next_page = response.headers.get("opc-next-page")
        request_id = response.headers.get("opc-request-id")
        del response
        try:
            found, problems = operation.reader.read(body)
        except UnreadablePage as unreadable:
            raise ListPageUnreadable(
                f"{operation.name} in {region} for compartment {compartment_id} answered page {number} with "
                f"something that is not a list of items ({unreadable}; opc-request-id {request_id}), so that "
                "compartment could not be read. This is on OCI's side: run again later, and if it persists, give "
                "Oracle Support the opc-request-id."
            ) from None
        del body
        for problem in problems:
            malformed.add(_malformed(operation, region, compartment_id, number, problem, request_id))
        # Handed over one at a time and let go: a caller that folds and drops its records
        # frees the page as it goes, not once it is done with the whole of it.
        found.reverse()
        while found:
            yield found.pop()
        if not next_page:
            return


def request_page(client: Any, operation: ListOperation[Any], invocation: Invocation, query: dict[str, Any]) -> Any:
    """The generated method's request and retry wrapping (blockstorage_client.py list_volume_backups),
    with response_type="bytes"."""
    base_client = client.base_client
    headers = dict(_JSON_HEADERS)
    arguments: dict[str, Any] = {
        "resource_path": operation.resource_path,
        "method": "GET",
        "query_params": query,
        "header_params": headers,
        "response_type": "bytes",
        "allow_control_chars": None,
        "enable_strict_url_encoding": None,
        "operation_name": operation.sdk_name,
        "api_reference_link": operation.api_reference_link,
        "required_arguments": ["compartmentId"],
    }
    strategy = base_client.get_preferred_retry_strategy(
        operation_retry_strategy=invocation.retry_strategy, client_retry_strategy=client.retry_strategy
    )
    if not strategy:
        return base_client.call_api(**arguments)
    if not isinstance(strategy, retry.NoneRetryStrategy):
        base_client.add_opc_client_retries_header(headers)
        strategy.add_circuit_breaker_callback(client.circuit_breaker_callback)
    return strategy.make_retrying_call(base_client.call_api, **arguments)


def _malformed(
    operation: ListOperation[Any],
    region: str,
    compartment_id: str,
    page: int,
    problem: ItemProblem,
    request_id: str | None,
) -> Malformed:
    return Malformed(
        operation.name, region, compartment_id, problem.item_id, page, problem.position, problem.problem, request_id
    )
