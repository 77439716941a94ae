"""Issue 17's row of the scale table: the tenancy's report fanned out, against the same report unsplit.

After the scale table (bench/scale.py), the same emulated tenancy (1,000 compartments of the
mixed world, bench/tenancy.py: 20,000 volumes of three kinds, 30 daily backups, 50 ms a list call,
metrics on) is reported once more, by a coordinator with
FAN_OUT=on and FAN_OUT_BATCH=100: ten children. Each child runs in an fdk process of its own, as
OCI gives each detached invocation its own container. Measured:
- the coordinator's answer time (the tenancy listed through Identity, ten detached invocations);
- the time until the last child finished, from the coordinator's request;
- each against the scale table's own cell for the same report unsplit (one invocation, the
  default MAX_CONCURRENCY), measured on the same world a moment before.
The target: the last child within 1.5 x (unsplit / children) + the coordinator's time.

This machine has 2 cores, shared by the ten children and the emulator, and reading a million
backups is CPU work here (signing, parsing); so the children's times add up on this machine, and
the figure says how much the split costs, not what it gains. In OCI each child has its own
container and waits on the service, so there the children overlap and the target is what counts.
Not a test: the target is reported, never asserted. `python -m bench.fan_out` runs the row alone.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from blockstorage_emulator import FunctionCall
from local_runtime.fdk_process import FnResponse, FunctionProcess

from .layout import FUNCTION, Layout, prepare
from .measure import BenchmarkError
from .scale import DEADLINE_SECONDS, DEFAULT_WORKERS, LIST_LATENCY_SECONDS, slow_lists
from .tenancy import Tenancy, function_environment
from .world import SOURCE_REGION, World

BATCH = 100
TARGET_FACTOR = 1.5
FUNCTION_ID = "ocid1.fnfunc.oc1.phx.aaaaaaaabenchfanout"
FUNCTION_COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaabenchfanoutfunctions"


@dataclass(frozen=True)
class FanOutResult:
    compartments: int
    batch: int
    children: int
    unsplit_seconds: float
    coordinator_seconds: float
    last_child_seconds: float
    # The children's metric streams: each posts its batch's, against Monitoring's 50 calls a
    # second for the whole tenancy.
    metrics_posted: int = 0
    metrics_failed: int = 0

    @property
    def target_seconds(self) -> float:
        return TARGET_FACTOR * (self.unsplit_seconds / self.children) + self.coordinator_seconds


def environment(world: World, fan_out: bool, batch: int = BATCH) -> dict[str, str]:
    """As the scale table's cells run (bench/scale.py), plus what a coordinator needs to find itself."""
    emulator = world.emulator
    return {
        **function_environment(world, DEFAULT_WORKERS),
        "FAN_OUT": "on" if fan_out else "off",
        "FAN_OUT_BATCH": str(batch),
        "FUNCTIONS_ENDPOINT": emulator.functions_endpoint_template,
        "FN_FN_ID": FUNCTION_ID,
    }


def measure_fan_out(
    layout: Layout, world: World, compartments: int, unsplit_seconds: float, batch: int = BATCH
) -> FanOutResult:
    """The tenancy's report fanned out, on the world the scale table just read."""
    emulator = world.emulator
    emulator.add_function(
        SOURCE_REGION,
        FUNCTION_COMPARTMENT,
        function_id=FUNCTION_ID,
        timeout_in_seconds=300,
        detached_mode_timeout_in_seconds=3600,
    )
    # The tenancy itself is in the scope too, beside its compartments.
    children = -(-(compartments + 1) // batch)
    body = json.dumps({"action": "report", "compartmentId": emulator.tenancy_id, "subtree": True})
    _say(f"fan-out: {compartments} compartments in batches of {batch}, {children} child containers")
    coordinator = layout.process(FUNCTION, environment(world, fan_out=True, batch=batch)).start()
    containers = [layout.process(FUNCTION, environment(world, fan_out=False)).start() for _ in range(children)]
    finished: list[float] = []
    free = list(containers)

    def run_child(call: FunctionCall) -> FnResponse:
        # One container per child, as OCI runs each detached invocation in its own.
        process = free.pop()
        try:
            answer = process.invoke(call.body, call_id=call.call_id, deadline_seconds=call.timeout_seconds)
        finally:
            finished.append(time.perf_counter())
            free.append(process)
        return answer

    try:
        emulator.serve_function(FUNCTION_ID, run_child)
        emulator.clear_function_invocations()
        started = time.perf_counter()
        answer = coordinator.invoke(body, deadline_seconds=DEADLINE_SECONDS)
        coordinator_seconds = time.perf_counter() - started
        reply: dict[str, Any] = answer.json()
        if reply.get("outcome") != "fanned_out" or reply.get("batchesStarted") != reply.get("batches"):
            raise BenchmarkError(f"the coordinator did not fan out: {json.dumps(reply)[:2000]}")
        runs = emulator.wait_for_detached(timeout=DEADLINE_SECONDS)
        scanned = posted = failed = 0
        for run in runs:
            if run.answer is None or run.answer.status != 200:
                raise BenchmarkError(f"a child did not report: {run.error or run.answer_json()}")
            child = run.answer_json()
            scanned += int(child.get("compartmentsScanned", 0))
            posted += int(child.get("metricsPosted") or 0)
            failed += int(child.get("metricsFailed") or 0)
        if scanned != reply["compartments"]:
            raise BenchmarkError(f"the children read {scanned} of {reply['compartments']} compartments")
        children = len(runs)
        last_child_seconds = max(finished) - started
    finally:
        for process in (coordinator, *containers):
            process.stop()
    return FanOutResult(
        compartments, batch, children, unsplit_seconds, coordinator_seconds, last_child_seconds, posted, failed
    )


def verdict(result: FanOutResult) -> tuple[str, str, str, bool]:
    """(name, measured, target, met), as the other targets of `make bench` are printed."""
    return (
        f"fan-out: last child of {result.compartments:,} compartments in batches of {result.batch}",
        f"{result.last_child_seconds:.1f} s",
        f"<= {TARGET_FACTOR} x unsplit / children + coordinator = {result.target_seconds:.1f} s",
        result.last_child_seconds <= result.target_seconds,
    )


def render_fan_out(result: FanOutResult) -> str:
    met = result.last_child_seconds <= result.target_seconds
    return "\n".join(
        [
            f"Fan-out (issue 17): the report over the same {result.compartments:,} compartments, FAN_OUT_BATCH="
            f"{result.batch}: {result.children} children, each in an fdk process of its own, "
            f"{LIST_LATENCY_SECONDS * 1000:g} ms a list call.",
            "",
            "| run | answered | last child finished | vs unsplit |",
            "| --- | --- | --- | --- |",
            f"| unsplit, one invocation | {result.unsplit_seconds:.1f} s | - | 1.00x |",
            f"| fanned out | {result.coordinator_seconds:.2f} s (the coordinator) | {result.last_child_seconds:.1f} s "
            f"| answer {result.coordinator_seconds / result.unsplit_seconds:.3f}x, last child "
            f"{result.last_child_seconds / result.unsplit_seconds:.2f}x |",
            "",
            f"Target: last child <= {TARGET_FACTOR} x (unsplit / {result.children}) + coordinator = "
            f"{result.target_seconds:.1f} s: {'met' if met else 'MISSED'} ({result.last_child_seconds:.1f} s). "
            "On this 2-core machine the children share the cores with each other and the emulator, so their "
            "CPU time adds up; in OCI each has a container of its own and waits on the service. "
            f"The children posted {result.metrics_posted:,} metric streams ({result.metrics_failed:,} failed), "
            "against Monitoring's 50 calls a second for the whole tenancy.",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fan_out", description=__doc__.splitlines()[0])
    parser.add_argument("--compartments", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=BATCH, help="FAN_OUT_BATCH (default 100)")
    arguments = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-fan-out-") as scratch:
        workdir = Path(scratch)
        _say("laying out the image (the first run installs requirements.txt)")
        layout = prepare(workdir / "layout")
        world = World.start(workdir / "principal")
        try:
            _say(f"seeding {arguments.compartments} compartments as the scale table does")
            Tenancy(world).grow_to(arguments.compartments)
            slow_lists(world)
            unsplit = _unsplit_seconds(layout, world)
            result = measure_fan_out(layout, world, arguments.compartments, unsplit, arguments.batch)
        except BenchmarkError as error:
            print(f"benchmark aborted: {error}", file=sys.stderr)
            return 1
        finally:
            world.stop()
    print(render_fan_out(result))
    return 0


def _unsplit_seconds(layout: Layout, world: World) -> float:
    _say("the same report unsplit: one invocation")
    process: FunctionProcess = layout.process(FUNCTION, environment(world, fan_out=False)).start()
    try:
        body = json.dumps({"action": "report", "compartmentId": world.emulator.tenancy_id, "subtree": True})
        started = time.perf_counter()
        answer = process.invoke(body, deadline_seconds=DEADLINE_SECONDS)
        seconds = time.perf_counter() - started
    finally:
        process.stop()
    if answer.status != 200:
        raise BenchmarkError(f"the unsplit report answered {answer.status}: {answer.body[:2000]!r}")
    return seconds


def _say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
