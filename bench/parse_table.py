"""The parse table (issue 23): CPU and memory per 1,000 backups read, the SDK's models against the lean reader.

Not a test: the figures are reported, never asserted. One page of 1,000 backups of each kind is
recorded from the emulator over HTTP, through the function's own client (signed, as a list call
of a tenancy-wide pass makes it), then the same bytes are parsed, in one process and turn by
turn, three ways:
- the SDK's models: `deserialize_response_data(body, "list[VolumeBackup]")`, what every list
  call returns today (decode, json.loads, then one model per item, `strptime` per timestamp);
- `skip_deserialization`, the SDK client option the lean reader did not take: the client's
  parsed JSON, then the same records validated from Python objects;
- the lean reader (backups/records.py): the bytes validated into records in one call.
CPU is the measuring thread's (time.thread_time), the median of RUNS turns each; memory is the
peak that tracemalloc sees allocated during one parse, a separate turn (tracing slows the parse).

`python -m bench.parse_table` prints the table alone; `make bench` prints it with the others.
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import oci
from pydantic import TypeAdapter

from backup_copier.backups.lean_listing import BACKUP_LISTS, request_page
from backup_copier.backups.marks import Mark
from backup_copier.shared.clients import BlockStorageClients
from backup_copier.shared.context import Invocation
from backup_copier.shared.deadline import Deadline
from backup_copier.shared.kinds import BackupKind
from backup_copier.shared.retries import AttemptLog
from backup_copier.shared.settings import load_settings

from .report import MIB, Verdict
from .world import DESTINATION_REGION, SOURCE_REGION, World

BACKUPS_PER_PAGE = 1000
RUNS = 9
BLOCK = 3
RATIO_TARGET = 8.0  # x less CPU than the SDK's models, on the same bytes
_SDK_TYPE = {
    BackupKind.VOLUME: "list[VolumeBackup]",
    BackupKind.BOOT_VOLUME: "list[BootVolumeBackup]",
    BackupKind.VOLUME_GROUP: "list[VolumeGroupBackup]",
}
_KIND_NAME = {
    BackupKind.VOLUME: "volume",
    BackupKind.BOOT_VOLUME: "boot volume",
    BackupKind.VOLUME_GROUP: "volume group",
}
# Oracle's default tags: "In tenancies created after December 17, 2019, the Oracle-Tags tag namespace
# and two tag defaults are automatically added to the root compartment", CreatedBy and CreatedOn
# (Oracle, "Understanding Automatic Tag Defaults"). What a real page carries besides our own tags.
_CREATED_BY = "ocid1.fnfunc.oc1.phx.aaaaaaaabackupcopierfunction0000000000000000000000000000"
_USER_TAGS = {"team": "payments", "environment": "production", "cost-centre": "cc-1234"}


@dataclass(frozen=True)
class Row:
    kind: BackupKind
    page_bytes: int
    sdk_ms: float
    skip_ms: float
    lean_ms: float
    sdk_peak: int
    skip_peak: int
    lean_peak: int

    @property
    def ratio(self) -> float:
        return self.sdk_ms / self.lean_ms


@dataclass(frozen=True)
class Parsers:
    """The three ways of turning one kind's page into what a pass reads."""

    sdk: Callable[[bytes], Any]
    skip: Callable[[bytes], Any]
    lean: Callable[[bytes], Any]


def record_pages(directory: Path, count: int = BACKUPS_PER_PAGE) -> tuple[dict[BackupKind, bytes], BlockStorageClients]:
    """One page of `count` marked copies of each kind, as the emulator sends it."""
    world = World.start(directory)
    try:
        # The signer reads these variables, as it does inside OCI Functions.
        os.environ.update(world.principal.environment())
        settings = load_settings(
            {"DESTINATION_REGION": DESTINATION_REGION, "BLOCKSTORAGE_ENDPOINT": world.emulator.endpoint_template}
        )
        clients = BlockStorageClients(settings, oci.auth.signers.get_resource_principals_signer())
        invocation = Invocation("PARSETABLE", Deadline(120), AttemptLog())
        pages = {}
        for kind in BackupKind:
            compartment = world.emulator.add_compartment(world.emulator.tenancy_id, f"parse-{kind.value}")
            _seed_copies(world, kind, compartment, count)
            operation = BACKUP_LISTS[kind]
            query = operation.query_params(
                compartment, {"limit": count, "sort_by": "TIMECREATED", "sort_order": "DESC"}
            )
            pages[kind] = request_page(clients.for_region(DESTINATION_REGION), operation, invocation, query).data
        return pages, clients
    finally:
        world.stop()


def _seed_copies(world: World, kind: BackupKind, compartment: str, count: int) -> None:
    """Marked copies as this function leaves them: the source's tags and record, the mark, Oracle's tags."""
    now = datetime.now(UTC).replace(microsecond=0)
    emulator = world.emulator
    for number in range(count):
        created = now - timedelta(hours=number)
        source_id = emulator.seed_backup(kind.value, SOURCE_REGION, compartment, time_created=created)
        source = emulator.backup(source_id)
        resource_id = source[{"volume": "volumeId", "boot_volume": "bootVolumeId"}.get(kind.value, "volumeGroupId")]
        copy_id = emulator.seed_backup(
            kind.value,
            DESTINATION_REGION,
            compartment,
            time_created=created + timedelta(minutes=40),
            source_backup_id=source_id,
            volume_id=resource_id,
            display_name=f"{source['displayName']}-copy-{DESTINATION_REGION}",
            members=0 if kind is BackupKind.VOLUME_GROUP else None,
        )
        mark = Mark(copy_id, source_id, resource_id, created, created + timedelta(days=30))
        emulator.set_freeform_tags(copy_id, {**_USER_TAGS, **mark.tags()})
        created_on = (created + timedelta(minutes=40)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        emulator.serve_fields(
            copy_id, {"definedTags": {"Oracle-Tags": {"CreatedBy": _CREATED_BY, "CreatedOn": created_on}}}
        )


def parsers(kind: BackupKind, clients: BlockStorageClients) -> Parsers:
    sdk_client = clients.for_region(DESTINATION_REGION).base_client
    skipping = oci.core.BlockstorageClient(
        {"region": DESTINATION_REGION},
        signer=clients.signer,
        service_endpoint="http://127.0.0.1:9",
        skip_deserialization=True,
    ).base_client
    reader = BACKUP_LISTS[kind].reader
    # From Python objects a timestamp is a string, which strict validation refuses; lax is the best
    # this route can do (and is no slower than strict).
    from_python: TypeAdapter[Any] = TypeAdapter(list[reader.record])  # type: ignore[name-defined]
    return Parsers(
        sdk=lambda body: sdk_client.deserialize_response_data(body, _SDK_TYPE[kind]),
        skip=lambda body: from_python.validate_python(
            skipping.deserialize_response_data(body, _SDK_TYPE[kind]), strict=False
        ),
        lean=reader.read,
    )


def measure(
    pages: dict[BackupKind, bytes], clients: BlockStorageClients, runs: int = RUNS, count: int = BACKUPS_PER_PAGE
) -> list[Row]:
    ways = {kind: _checked(kind, body, parsers(kind, clients), count) for kind, body in pages.items()}
    times: dict[BackupKind, list[list[float]]] = {kind: [[], [], []] for kind in pages}
    # Everything alive now (the SDK's modules, the recorded pages) is left out of collections, so the
    # collection before each parse is quick and no parse pays for walking the bench's own heap.
    gc.collect()
    gc.freeze()
    try:
        for turn in range(runs):
            # Turn by turn, every kind and way in a rotating order, so a busy spell of the shared machine
            # slows them all alike; within a turn, BLOCK parses of one way in a row, as a worker parses
            # page after page (one way's parse right after another's would also measure the other's
            # churn of the caches).
            for kind, body in pages.items():
                for index in [(turn + offset) % 3 for offset in range(3)]:
                    times[kind][index] += [_cpu_ms(ways[kind][index], body) for _ in range(BLOCK)]
        rows = []
        for kind, body in pages.items():
            cpu = [statistics.median(each) for each in times[kind]]
            peaks = [_peak_bytes(way, body) for way in ways[kind]]
            rows.append(Row(kind, len(body), cpu[0], cpu[1], cpu[2], peaks[0], peaks[1], peaks[2]))
    finally:
        gc.unfreeze()
    return rows


def _checked(kind: BackupKind, body: bytes, parse: Parsers, count: int) -> tuple[Callable[[bytes], Any], ...]:
    """The three parsers, once each has read the whole page."""
    read = [len(parse.sdk(body)), len(parse.skip(body)), len(parse.lean(body)[0])]
    if read != [count] * 3:
        raise RuntimeError(f"the {kind.value} page should hold {count} backups each way, not {read}")
    return parse.sdk, parse.skip, parse.lean


def _cpu_ms(parse: Callable[[bytes], Any], body: bytes) -> float:
    gc.collect()
    started = time.thread_time()
    parsed = parse(body)
    elapsed = time.thread_time() - started
    del parsed
    return elapsed * 1000


def _peak_bytes(parse: Callable[[bytes], Any], body: bytes) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        parsed = parse(body)
        peak = tracemalloc.get_traced_memory()[1]
        del parsed
    finally:
        tracemalloc.stop()
    return peak


def render(rows: list[Row], runs: int = RUNS) -> tuple[str, Verdict]:
    header = (
        f"| Page of {BACKUPS_PER_PAGE:,} | body | CPU: SDK models | CPU: skip_deserialization + records "
        "| CPU: lean reader | lean vs SDK | peak: SDK models | peak: skip_deserialization | peak: lean reader "
        "| lean vs SDK |"
    )
    lines = [header, "| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: |"]
    for row in rows:
        lines.append(
            f"| {_KIND_NAME[row.kind]} backups | {row.page_bytes / MIB:.2f} MiB | {row.sdk_ms:.1f} ms "
            f"| {row.skip_ms:.1f} ms | {row.lean_ms:.1f} ms | {row.ratio:.1f}x less "
            f"| {row.sdk_peak / MIB:.2f} MiB | {row.skip_peak / MIB:.2f} MiB | {row.lean_peak / MIB:.2f} MiB "
            f"| {row.sdk_peak / row.lean_peak:.1f}x less |"
        )
    least = min(rows, key=lambda row: row.ratio)
    lines += [
        "",
        f"CPU: the median of {runs * BLOCK} parses of the same recorded bytes each way, in {runs} turns of {BLOCK} "
        "parses in a row (time.thread_time), the bench's own heap frozen out of collections (gc.freeze); peak: "
        "what tracemalloc saw allocated during one parse. Each page holds marked copies as this function leaves "
        "them (the mark and three user tags, plus Oracle's default CreatedBy and CreatedOn tags), recorded from "
        "the emulator over HTTP with the function's own client.",
    ]
    verdict = Verdict(
        "Parsing a page: lean reader against the SDK's models, CPU",
        f"{least.ratio:.1f}x less (least of the three kinds: {_KIND_NAME[least.kind]})",
        f">= {RATIO_TARGET:.0f}x less",
        least.ratio >= RATIO_TARGET,
    )
    return "\n".join(lines), verdict


def parse_table(runs: int = RUNS) -> tuple[str, Verdict]:
    """Record the pages, measure, render: what `make bench` prints."""
    with tempfile.TemporaryDirectory(prefix="bench-parse-") as scratch:
        pages, clients = record_pages(Path(scratch))
    return render(measure(pages, clients, runs), runs)


def print_parse_table() -> Verdict:
    """The table printed, for `make bench`; its verdict returned, to be printed with the others."""
    table, verdict = parse_table()
    print(table)
    print()
    return verdict


def main() -> int:
    verdict = print_parse_table()
    print(f"{verdict.name}: {verdict.measured} (target {verdict.target}): {'met' if verdict.met else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
