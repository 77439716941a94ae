"""What the SDK's models alone take to deserialize the list pages a scale cell read: the yardstick
of issue 23's target for the whole function's CPU per backup read.

After each cell, the emulator's request log names every list page the function fetched
(ListVolumeBackups, ListBootVolumeBackups, ListVolumeGroupBackups, Identity's ListCompartments).
Every compartment of one shape holds the same backups under other names of the same length
(tenancy.py counts its OCIDs at a fixed width), so a page is known by its class: the
compartment's shape, the region, the operation and the query but for the compartment. One page
of each class is fetched again through the SDK's own client (`base_client.call_api` with
`response_type="bytes"`, the body as the function received it), and the bench process times
`deserialize_response_data(body, "list[VolumeBackup]")` (and its kin) on it: the median of RUNS
parses, CPU of the parsing thread (time.thread_time), the bench's own heap (the emulator's
million backups) frozen out of garbage collection, as bench/parse_table.py does. A cell's figure
is the sum over the pages it read, each at its class's time. Classes are timed once per world.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import oci

from blockstorage_emulator.dispatch import RecordedRequest

from .tenancy import Tenancy
from .world import World

RUNS = 5
_API_VERSION = "/20160918"
_BACKUP_TYPES = {
    "volume": "list[VolumeBackup]",
    "boot_volume": "list[BootVolumeBackup]",
    "volume_group": "list[VolumeGroupBackup]",
}
_BACKUP_LIST = "list"  # the emulator's name of the three backup List operations (routes.py)
_COMPARTMENT_LIST = "list_compartments"
_COMPARTMENT_TYPE = "list[Compartment]"
_HEADERS = {"accept": "application/json", "content-type": "application/json"}

# (shape or tenancy size, region, operation, kind, the query without its compartment)
PageClass = tuple[str, str, str, str | None, tuple[tuple[str, str], ...]]


@dataclass(frozen=True)
class Reading:
    """The list pages one cell fetched, and what the SDK's models take to deserialize them."""

    pages: int
    items: int  # backups and compartments
    sdk_seconds: float  # CPU


@dataclass(frozen=True)
class _Timed:
    items: int
    seconds: float


class SdkCost:
    """Times each class of page once, for every cell of one world."""

    def __init__(self, tenancy: Tenancy) -> None:
        self._tenancy = tenancy
        self._timed: dict[PageClass, _Timed] = {}
        self._clients: dict[tuple[str, str], Any] = {}

    def of(self, requests: list[RecordedRequest]) -> Reading:
        """The list pages among `requests` (one cell's log), and the SDK models' CPU to deserialize them."""
        pages = items = 0
        seconds = 0.0
        for request in requests:
            key = self._class_of(request)
            if key is None:
                continue
            timed = self._timed.get(key)
            if timed is None:
                timed = self._timed[key] = self._time(request)
            pages += 1
            items += timed.items
            seconds += timed.seconds
        return Reading(pages, items, seconds)

    def _class_of(self, request: RecordedRequest) -> PageClass | None:
        if request.status != 200 or request.method != "GET":
            return None
        query = tuple(sorted((name, value) for name, value in request.query.items() if name != "compartmentId"))
        if request.operation == _BACKUP_LIST and request.kind in _BACKUP_TYPES:
            compartment = request.query["compartmentId"]
            # The tenancy itself is in the subtree too, and holds no backup.
            known = self._tenancy.shapes.get(compartment)
            shape = known.name if known else compartment
            return (shape, request.region, request.operation, request.kind, query)
        if request.operation == _COMPARTMENT_LIST:
            # The tenancy grows between scopes: its compartments' page is known by their number.
            return (f"tenancy of {len(self._tenancy.compartments)}", request.region, request.operation, None, query)
        return None

    def _time(self, request: RecordedRequest) -> _Timed:
        service = "identity" if request.operation == _COMPARTMENT_LIST else "blockstorage"
        client = self._client(service, request.region)
        body = client.base_client.call_api(
            resource_path=request.path.removeprefix(_API_VERSION),
            method="GET",
            query_params=dict(request.query),
            header_params=dict(_HEADERS),
            response_type="bytes",
        ).data
        sdk_type = _COMPARTMENT_TYPE if service == "identity" else _BACKUP_TYPES[str(request.kind)]
        items = len(json.loads(body))
        parse = _parser(client, sdk_type)
        if len(parse(body)) != items:
            raise RuntimeError(f"the SDK read a page of {items} items as {len(parse(body))}")
        return _Timed(items, _median_cpu(parse, body))

    def _client(self, service: str, region: str) -> Any:
        client = self._clients.get((service, region))
        if client is None:
            client = self._clients[service, region] = _build(self._tenancy.world, service, region)
        return client


def _build(world: World, service: str, region: str) -> Any:
    # The signer reads these variables, as it does inside OCI Functions.
    os.environ.update(world.principal.environment())
    signer = oci.auth.signers.get_resource_principals_signer()
    emulator = world.emulator
    if service == "identity":
        endpoint = emulator.identity_endpoint_template.replace("{region}", region)
        return oci.identity.IdentityClient({"region": region}, signer=signer, service_endpoint=endpoint)
    endpoint = emulator.endpoint_template.replace("{region}", region)
    return oci.core.BlockstorageClient({"region": region}, signer=signer, service_endpoint=endpoint)


def _parser(client: Any, sdk_type: str) -> Callable[[bytes], Any]:
    base_client = client.base_client
    return lambda body: base_client.deserialize_response_data(body, sdk_type)


def _median_cpu(parse: Callable[[bytes], Any], body: bytes) -> float:
    # Frozen, not collected first: a full collection of the emulator's heap takes seconds, and
    # freezing what is alive now is a splice of lists (scale.py froze the seeded world already).
    gc.freeze()
    times = []
    for _ in range(RUNS):
        started = time.thread_time()
        parsed = parse(body)
        times.append(time.thread_time() - started)
        del parsed
    return statistics.median(times)
