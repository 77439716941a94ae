"""The scale table (issue 15): report, dry-run reconcile and dry-run expire over a whole tenancy.

One emulated tenancy grows from 1 to 10, 100 and 1,000 compartments, each with 20 volumes
backed up once a day for 30 days; every backup but the newest day's has a marked copy in one
destination region, whose mark expires 14 days after its source was made. So the report has
a recovery point for every volume, the sweep finds 20 copies missing in each compartment and
the expiry pass finds copies due. The world is written straight into the emulator's backend
(Emulator.add_compartment, Emulator.seed_backup: no HTTP), so a million backups take seconds to
seed, not hours of API calls. Every list call, Block Storage's and Identity's, is given 50 ms
of service time, a real region's, so the table shows how well the function overlaps its waits,
not how fast loopback is.

Each cell is a fresh function process (its peak resident memory is that cell's alone) and one
invocation with a deadline long enough for 1 worker, timed from request to answer. The report
runs with METRICS=false: Monitoring's 50 calls a second would bound that part, not the reads.
Slow cells (by default 1 worker past 10 compartments) are left out and extrapolated linearly
from the two largest scopes measured; the table says which.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from backup_copier.backups.marks import Mark, record_key
from blockstorage_emulator import Emulator
from local_runtime.fdk_process import FnResponse, FunctionProcess

from .layout import FUNCTION, Layout
from .measure import BenchmarkError, peak_resident_kib
from .world import DESTINATION_REGION, SOURCE_REGION, World

ACTIONS = ("report", "reconcile", "expire")
SCOPES = (1, 10, 100, 1000)
DEFAULT_WORKERS = 8  # MAX_CONCURRENCY's default
ONE_WORKER = 1
VOLUMES_PER_COMPARTMENT = 20
DAYS = 30
EXPIRES_AFTER_DAYS = 14
LIST_LATENCY_SECONDS = 0.05
# One worker over 1,000 compartments reads for several minutes: far past OCI's 300 s, on purpose.
DEADLINE_SECONDS = 3600.0
SUBTREE = "subtree"  # one invocation over the tenancy: {"compartmentId": <tenancy>, "subtree": true}
PER_COMPARTMENT = "per compartment"  # one invocation per compartment, for a function without it


@dataclass(frozen=True)
class Cell:
    action: str
    scope: int  # compartments
    workers: int  # MAX_CONCURRENCY
    seconds: float | None  # None: neither measured nor extrapolated
    peak_kib: int | None = None  # None: not measured
    requests: int | None = None  # counted at the emulator, every service
    extrapolated_from: int | None = None  # the scope whose time this one is scaled from
    answer: dict[str, Any] = field(default_factory=dict)  # the last answer's scope fields


@dataclass
class ScaleResult:
    mode: str
    cells: list[Cell]
    seed_seconds: float
    backups: int
    note: str = ""


class Tenancy:
    """The scale world: compartments under the emulator's tenancy, and their backups."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.emulator: Emulator = world.emulator
        self.compartments: list[str] = []
        self.backups = 0
        self._now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        self._serial = 0

    def grow_to(self, count: int) -> None:
        while len(self.compartments) < count:
            self._add_compartment(len(self.compartments))

    def _add_compartment(self, number: int) -> None:
        compartment = self.emulator.add_compartment(self.emulator.tenancy_id, f"team-{number:04d}")
        for volume in range(VOLUMES_PER_COMPARTMENT):
            volume_id = self._ocid("volume", SOURCE_REGION)
            for day in range(DAYS):
                created = self._now - timedelta(days=day, hours=volume % 24)
                source_id = self._ocid("volumebackup", SOURCE_REGION)
                copy_id = self._ocid("volumebackup", DESTINATION_REGION) if day > 0 else None
                name = f"team-{number:04d}-v{volume:02d}-d{day:02d}"
                self.emulator.seed_backup(
                    "volume",
                    SOURCE_REGION,
                    compartment,
                    backup_id=source_id,
                    volume_id=volume_id,
                    display_name=name,
                    time_created=created,
                    source_type="SCHEDULED",
                    freeform_tags={record_key(DESTINATION_REGION): copy_id} if copy_id else None,
                )
                self.backups += 1
                if copy_id is None:
                    continue
                mark = Mark(copy_id, source_id, volume_id, created, created + timedelta(days=EXPIRES_AFTER_DAYS))
                self.emulator.seed_backup(
                    "volume",
                    DESTINATION_REGION,
                    compartment,
                    backup_id=copy_id,
                    volume_id=volume_id,
                    display_name=name,
                    time_created=created + timedelta(hours=1),
                    source_backup_id=source_id,
                    source_type="SCHEDULED",
                    freeform_tags=mark.tags(),
                )
                self.backups += 1
        self.compartments.append(compartment)

    def _ocid(self, resource_type: str, region: str) -> str:
        # Counted, not random: secrets.choice for a million OCIDs would take longer than the reads.
        self._serial += 1
        short = {SOURCE_REGION: "phx", DESTINATION_REGION: "iad"}[region]
        return f"ocid1.{resource_type}.oc1.{short}.scale{self._serial:055d}"

    def bodies(self, action: str, mode: str) -> list[bytes]:
        extra = {} if action == "report" else {"dryRun": True}
        if mode == SUBTREE:
            scope = {"compartmentId": self.emulator.tenancy_id, "subtree": True}
            return [json.dumps({"action": action, **scope, **extra}).encode()]
        return [
            json.dumps({"action": action, "compartmentId": compartment, **extra}).encode()
            for compartment in self.compartments
        ]

    def environment(self, workers: int) -> dict[str, str]:
        return {
            **self.world.function_environment(),
            "IDENTITY_ENDPOINT": self.emulator.identity_endpoint_template,
            "MAX_CONCURRENCY": str(workers),
            "METRICS": "false",
        }


def measure_scale(
    layout: Layout, world: World, scopes: tuple[int, ...], one_worker_up_to: int, per_compartment_up_to: int
) -> ScaleResult:
    """Every cell of the table, scope by scope as the tenancy grows (reads never change it)."""
    tenancy = Tenancy(world)
    world.emulator.set_latency("list", LIST_LATENCY_SECONDS)
    world.emulator.set_latency("list_compartments", LIST_LATENCY_SECONDS)
    seeding = 0.0
    started = time.perf_counter()
    tenancy.grow_to(1)
    seeding += time.perf_counter() - started
    mode = SUBTREE if _accepts_subtree(layout, tenancy) else PER_COMPARTMENT
    note = (
        ""
        if mode == SUBTREE
        else "this function refuses `subtree`: each cell is one invocation per compartment, in turn "
        f"(today's bodies; MAX_CONCURRENCY has no effect), measured up to {per_compartment_up_to} compartments"
    )
    cells: list[Cell] = []
    for scope in scopes:
        started = time.perf_counter()
        tenancy.grow_to(scope)
        seeding += time.perf_counter() - started
        for action in ACTIONS:
            for workers in (ONE_WORKER, DEFAULT_WORKERS):
                limit = one_worker_up_to if workers == ONE_WORKER else scope
                if mode == PER_COMPARTMENT:
                    limit = min(limit, per_compartment_up_to)
                if scope <= limit:
                    cells.append(_measure(layout, tenancy, action, scope, workers, mode))
    return ScaleResult(mode, _extrapolated(cells, scopes), seeding, tenancy.backups, note)


def _accepts_subtree(layout: Layout, tenancy: Tenancy) -> bool:
    process = layout.process(FUNCTION, tenancy.environment(DEFAULT_WORKERS)).start()
    try:
        answer = process.invoke(tenancy.bodies("report", SUBTREE)[0], deadline_seconds=DEADLINE_SECONDS)
    finally:
        process.stop()
    if answer.status == 200:
        return True
    if "subtree" in answer.body.decode(errors="replace"):
        return False
    raise BenchmarkError(f"the report answered {answer.status}: {answer.body[:2000]!r}")


def _measure(layout: Layout, tenancy: Tenancy, action: str, scope: int, workers: int, mode: str) -> Cell:
    _say(f"scale: {action}, {scope} compartments, MAX_CONCURRENCY={workers} ({mode})")
    process = layout.process(FUNCTION, tenancy.environment(workers)).start()
    try:
        bodies = tenancy.bodies(action, mode)
        tenancy.emulator.clear_requests()  # nothing is in flight between cells
        started = time.perf_counter()
        answer: dict[str, Any] = {}
        for body in bodies:
            answer = _checked(
                action,
                scope if mode == SUBTREE else 1,
                process.invoke(body, deadline_seconds=DEADLINE_SECONDS),
                process,
            )
        seconds = time.perf_counter() - started
        requests = len(tenancy.emulator.requests)
        peak = peak_resident_kib(process.pid)
    finally:
        process.stop()
    scope_fields = {key: value for key, value in answer.items() if key.startswith("compartments")}
    return Cell(action, scope, workers, seconds, peak, requests, answer=scope_fields)


def _checked(action: str, scope: int, answer: FnResponse, process: FunctionProcess) -> dict[str, Any]:
    """The answer, if it shows the whole scope read; its timing would mean nothing otherwise."""
    if answer.status != 200:
        raise BenchmarkError(f"{action} answered {answer.status}: {answer.body[:2000]!r}\n{process.stderr()[-2000:]}")
    body: dict[str, Any] = answer.json()
    scanned = body.get("compartmentsScanned")
    if scanned is not None and scanned < scope:
        raise BenchmarkError(f"{action} scanned {scanned} of {scope} compartments: {json.dumps(body)[:2000]}")
    remaining = body.get("compartmentsRemaining") or {}
    if body.get("compartmentsFailed") or (remaining.get("count") if isinstance(remaining, dict) else remaining):
        raise BenchmarkError(f"{action} did not read its whole scope: {json.dumps(body)[:2000]}")
    return body


def _extrapolated(cells: list[Cell], scopes: tuple[int, ...]) -> list[Cell]:
    """The cells left out, on the line through the two largest scopes measured at that
    concurrency: its slope is the time per compartment, free of the fixed cost of an
    invocation, which a ratio from one scope would multiply. One scope only: proportional."""
    measured = {(cell.action, cell.scope, cell.workers): cell for cell in cells}
    filled = list(cells)
    for action in ACTIONS:
        for workers in (ONE_WORKER, DEFAULT_WORKERS):
            done = [scope for scope in scopes if (action, scope, workers) in measured]
            for scope in scopes:
                if (action, scope, workers) in measured:
                    continue
                if not done or scope < max(done):
                    filled.append(Cell(action, scope, workers, None))
                    continue
                large = measured[(action, done[-1], workers)]
                assert large.seconds is not None
                per_compartment = large.seconds / large.scope
                if len(done) >= 2:
                    small = measured[(action, done[-2], workers)]
                    assert small.seconds is not None
                    per_compartment = max(0.0, (large.seconds - small.seconds) / (large.scope - small.scope))
                seconds = large.seconds + per_compartment * (scope - large.scope)
                filled.append(Cell(action, scope, workers, seconds, extrapolated_from=large.scope))
    return filled


def _say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)
