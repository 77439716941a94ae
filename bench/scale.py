"""The scale table (issues 15 and 23): report, dry-run reconcile and dry-run expire over a whole tenancy.

The mixed world (tenancy.py) grows from 1 to 10, 100 and 1,000 compartments; the dense world
(40 compartments, 20,400 volumes, every list two pages or more) is read once more at the default
concurrency. Every list call, Block Storage's and Identity's, is given 50 ms of service time, a
real region's, so the table shows how well the function overlaps its waits, not how fast
loopback is. The report posts its metrics (METRICS is on, as deployed) to the emulator's
Monitoring, which answers 429 past 50 calls a second as Oracle documents.

Each cell is a fresh function process and one invocation over the tenancy ("subtree": true) with
a deadline long enough for 1 worker, timed from request to answer. At the answer, from /proc:
the process's peak resident memory (VmHWM) and the CPU it used since it was started (utime +
stime of the fdk process, every thread of it: the function runs in that process, which starts
no children). The emulator's CPU meanwhile is the bench process's (time.process_time: its
server threads), which shares the machine's cores with the function. The list pages the cell
fetched are then priced at what the SDK's models alone take to deserialize them (sdk_cost.py).
Slow cells (by default 1 worker past 10 compartments) are left out and extrapolated linearly
from the two largest scopes measured; the table says which.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from local_runtime.fdk_process import FnResponse, FunctionProcess

from .layout import FUNCTION, Layout
from .measure import BenchmarkError, cpu_seconds, peak_resident_kib
from .sdk_cost import Reading, SdkCost
from .tenancy import DENSE_COMPARTMENTS, DENSE_LAYOUT, MIXED, Tenancy
from .world import World

ACTIONS = ("report", "reconcile", "expire")
SCOPES = (1, 10, 100, 1000)
DEFAULT_WORKERS = 8  # MAX_CONCURRENCY's default
ONE_WORKER = 1
LIST_LATENCY_SECONDS = 0.05
# One worker over 1,000 compartments reads for several minutes: far past OCI's 300 s, on purpose.
DEADLINE_SECONDS = 3600.0


@dataclass(frozen=True)
class Cell:
    action: str
    scope: int  # compartments
    workers: int  # MAX_CONCURRENCY
    seconds: float | None  # None: neither measured nor extrapolated
    peak_kib: int | None = None  # None: not measured
    requests: int | None = None  # counted at the emulator, every service
    extrapolated_from: int | None = None  # the scope whose time this one is scaled from
    answer: dict[str, Any] = field(default_factory=dict)  # the answer's scope and metrics fields
    cpu_seconds: float | None = None  # the function process's, from its start to the answer
    start_cpu_seconds: float | None = None  # of which before the request (imports, the fdk)
    emulator_cpu_seconds: float | None = None  # the bench process's while the cell ran
    read: Reading | None = None  # the list pages fetched, and the SDK models' CPU for them
    world: str = MIXED.name  # tenancy.py's layout: "mixed" or "dense"

    @property
    def sdk_ratio(self) -> float | None:
        """The whole function's CPU over what the SDK's models alone take for the same pages."""
        if self.cpu_seconds is None or self.read is None or not self.read.sdk_seconds:
            return None
        return self.cpu_seconds / self.read.sdk_seconds


@dataclass
class ScaleResult:
    cells: list[Cell]
    seed_seconds: float
    backups: int  # in the world at its largest scope: sources, group members and copies
    volumes: int  # what the report counts: volumes, boot volumes and volume groups


def measure_scale(layout: Layout, world: World, scopes: tuple[int, ...], one_worker_up_to: int) -> ScaleResult:
    """Every cell of the table, scope by scope as the mixed world grows (reads never change it)."""
    tenancy = Tenancy(world)
    slow_lists(world)
    pricing = SdkCost(tenancy)
    seeding = 0.0
    cells: list[Cell] = []
    for scope in scopes:
        started = time.perf_counter()
        tenancy.grow_to(scope)
        seeding += time.perf_counter() - started
        _freeze()
        for action in ACTIONS:
            for workers in (ONE_WORKER, DEFAULT_WORKERS):
                if workers == DEFAULT_WORKERS or scope <= one_worker_up_to:
                    cells.append(measure_cell(layout, tenancy, pricing, action, scope, workers))
    return ScaleResult(_extrapolated(cells, scopes), seeding, tenancy.backups, tenancy.volumes)


def measure_dense(layout: Layout, world: World) -> ScaleResult:
    """The dense world's three cells at the default concurrency: peak memory where every list is long."""
    tenancy = Tenancy(world, DENSE_LAYOUT)
    slow_lists(world)
    _say(f"seeding the dense world: {DENSE_COMPARTMENTS} compartments")
    started = time.perf_counter()
    tenancy.grow_to(DENSE_COMPARTMENTS)
    seeding = time.perf_counter() - started
    _freeze()
    pricing = SdkCost(tenancy)
    cells = [measure_cell(layout, tenancy, pricing, action, DENSE_COMPARTMENTS, DEFAULT_WORKERS) for action in ACTIONS]
    return ScaleResult(cells, seeding, tenancy.backups, tenancy.volumes)


def _freeze() -> None:
    """The seeded world, out of the emulator's garbage collections: a full one over a million
    backups would pause the emulator's answers for seconds, in the middle of a timed cell
    (run.py unfreezes once the world is stopped)."""
    gc.freeze()


def slow_lists(world: World) -> None:
    world.emulator.set_latency("list", LIST_LATENCY_SECONDS)
    world.emulator.set_latency("list_compartments", LIST_LATENCY_SECONDS)


def measure_cell(
    layout: Layout,
    tenancy: Tenancy,
    pricing: SdkCost,
    action: str,
    scope: int,
    workers: int,
    settings: dict[str, str] | None = None,
    watch: Callable[[int], AbstractContextManager[object]] | None = None,
) -> Cell:
    """One cell; `settings` override the function's environment and `watch(pid)` wraps the
    invocation (bench/probe.py: what changes when one thing is changed, and a profile)."""
    _say(f"scale ({tenancy.layout.name}): {action}, {scope} compartments, MAX_CONCURRENCY={workers} {settings or ''}")
    emulator = tenancy.emulator
    process = layout.process(FUNCTION, {**tenancy.environment(workers), **(settings or {})}).start()
    try:
        [body] = tenancy.bodies(action)
        emulator.clear_requests()  # nothing is in flight between cells
        emulator.clear_metrics()
        start_cpu = cpu_seconds(process.pid)
        emulator_before = time.process_time()
        with watch(_pid(process)) if watch else nullcontext():
            started = time.perf_counter()
            response = process.invoke(body, deadline_seconds=DEADLINE_SECONDS)
            seconds = time.perf_counter() - started
        answer = _checked(action, scope, response, process, (settings or {}).get("METRICS") != "false")
        used = cpu_seconds(process.pid)
        emulator_cpu = time.process_time() - emulator_before
        requests = emulator.requests
        peak = peak_resident_kib(process.pid)
    finally:
        process.stop()
    read = pricing.of(requests)
    emulator.clear_requests()
    kept = {key: value for key, value in answer.items() if key.startswith(("compartments", "metrics"))}
    return Cell(
        action,
        scope,
        workers,
        seconds,
        peak,
        len(requests),
        answer=kept,
        cpu_seconds=used,
        start_cpu_seconds=start_cpu,
        emulator_cpu_seconds=emulator_cpu,
        read=read,
        world=tenancy.layout.name,
    )


def _pid(process: FunctionProcess) -> int:
    if process.pid is None:
        raise BenchmarkError("the process is not running")
    return process.pid


def _checked(
    action: str, scope: int, answer: FnResponse, process: FunctionProcess, metrics: bool = True
) -> dict[str, Any]:
    """The answer, if it shows the whole scope read (and, for the report, its metrics posted);
    its timing would mean nothing otherwise."""
    if answer.status != 200:
        raise BenchmarkError(f"{action} answered {answer.status}: {answer.body[:2000]!r}\n{process.stderr()[-2000:]}")
    body: dict[str, Any] = answer.json()
    scanned = body.get("compartmentsScanned")
    if scanned is not None and scanned < scope:
        raise BenchmarkError(f"{action} scanned {scanned} of {scope} compartments: {json.dumps(body)[:2000]}")
    remaining = body.get("compartmentsRemaining") or {}
    if body.get("compartmentsFailed") or (remaining.get("count") if isinstance(remaining, dict) else remaining):
        raise BenchmarkError(f"{action} did not read its whole scope: {json.dumps(body)[:2000]}")
    if action == "report" and metrics and not body.get("metricsPosted"):
        raise BenchmarkError(f"the report posted no metric: {json.dumps(body)[:2000]}")
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
