"""Why a target of the scale table is missed, measured: `python -m bench.probe [--py-spy PATH]`.

Not part of `make bench` (about five minutes more). On the dense world (bench/tenancy.py: 40
compartments, 20,400 volumes, every list two pages or more), each action runs once as deployed and
once with one thing changed, each in a fresh process, so the difference in peak resident memory
is that thing's share:
- MAX_CONCURRENCY=4 and 1: what each worker holds at once (its thread, the page it reads);
- METRICS=false (the report): what posting the metrics holds;
- and a process that has only answered a report over one empty compartment: the imports' floor.
With --py-spy, each action runs once more as deployed, sampled by py-spy (bench/cpu_profile.py),
and the table gives where its CPU went.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from functools import partial
from pathlib import Path

from .cpu_profile import own_code, sampled, shares
from .layout import FUNCTION, Layout, prepare
from .measure import BenchmarkError, peak_resident_kib
from .scale import ACTIONS, DEADLINE_SECONDS, DEFAULT_WORKERS, ONE_WORKER, Cell, measure_cell, slow_lists
from .sdk_cost import SdkCost
from .tenancy import DENSE_COMPARTMENTS, DENSE_LAYOUT, Tenancy
from .world import World

AS_DEPLOYED = "as deployed"
# (name, settings, workers, the actions it applies to)
VARIANTS: tuple[tuple[str, dict[str, str], int, tuple[str, ...]], ...] = (
    (AS_DEPLOYED, {}, DEFAULT_WORKERS, ACTIONS),
    ("MAX_CONCURRENCY=4", {}, 4, ACTIONS),
    ("MAX_CONCURRENCY=1", {}, ONE_WORKER, ACTIONS),
    ("METRICS=false", {"METRICS": "false"}, DEFAULT_WORKERS, ("report",)),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.probe", description=__doc__.splitlines()[0])
    parser.add_argument("--py-spy", type=Path, help="a py-spy executable: also profile each action's CPU")
    parser.add_argument("--actions", default=",".join(ACTIONS), help="comma-separated (default: all three)")
    arguments = parser.parse_args(argv)
    actions = tuple(action for action in ACTIONS if action in arguments.actions.split(","))
    with tempfile.TemporaryDirectory(prefix="bench-probe-") as scratch:
        workdir = Path(scratch)
        layout = prepare(workdir / "layout")
        world = World.start(workdir / "principal")
        try:
            tenancy = Tenancy(world, DENSE_LAYOUT)
            slow_lists(world)
            tenancy.grow_to(DENSE_COMPARTMENTS)
            pricing = SdkCost(tenancy)
            memory = [
                (name, measure_cell(layout, tenancy, pricing, action, DENSE_COMPARTMENTS, workers, settings))
                for action in actions
                for name, settings, workers, applies in VARIANTS
                if action in applies
            ]
            profiles = []
            if arguments.py_spy:
                for action in actions:
                    output = workdir / f"{action}.collapsed"
                    watch = partial(sampled, arguments.py_spy, output=output)
                    cell = measure_cell(
                        layout, tenancy, pricing, action, DENSE_COMPARTMENTS, DEFAULT_WORKERS, {}, watch
                    )
                    profiles.append((cell, *shares(output), own_code(output)))
            # Last: the empty compartment would be in the dense world's subtree.
            floor = _floor_kib(layout, world)
        except BenchmarkError as error:
            print(f"probe aborted: {error}", file=sys.stderr)
            return 1
        finally:
            world.stop()
    print(render_memory(floor, memory))
    for cell, samples, buckets, own in profiles:
        print()
        print(render_profile(cell, samples, buckets, own))
    return 0


def _floor_kib(layout: Layout, world: World) -> int:
    """Peak RSS of a process that has read one empty compartment: imports, clients, a worker."""
    empty = world.emulator.add_compartment(world.emulator.tenancy_id, "empty")
    process = layout.process(FUNCTION, Tenancy(world).environment(DEFAULT_WORKERS)).start()
    try:
        body = json.dumps({"action": "report", "compartmentId": empty})
        answer = process.invoke(body, deadline_seconds=DEADLINE_SECONDS)
        # It answers NoVolumesFound (502): an empty report is no healthy answer. It did read.
        if answer.json().get("compartmentsScanned") != 1:
            raise BenchmarkError(f"the report over an empty compartment answered {answer.status}: {answer.body!r}")
        return peak_resident_kib(process.pid)
    finally:
        process.stop()


def render_memory(floor_kib: int, cells: list[tuple[str, Cell]]) -> str:
    deployed = {cell.action: cell.peak_kib for name, cell in cells if name == AS_DEPLOYED}
    lines = [
        f"Peak RSS on the dense world ({DENSE_COMPARTMENTS} compartments, 20,400 volumes), one thing changed at a "
        f"time. A report over one empty compartment peaks at {floor_kib / 1024:.1f} MiB (the imports' floor).",
        "",
        "| Action | run | peak RSS | vs as deployed | time | CPU |",
        "| --- | --- | --: | --: | --: | --: |",
    ]
    for name, cell in cells:
        peak = cell.peak_kib or 0
        difference = peak - (deployed.get(cell.action) or peak)
        lines.append(
            f"| {cell.action} | {name} | {peak / 1024:.1f} MiB | {difference / 1024:+.1f} MiB | {cell.seconds or 0:.1f} s "
            f"| {cell.cpu_seconds or 0:.1f} s |"
        )
    return "\n".join(lines)


def render_profile(cell: Cell, samples: int, buckets: list[tuple[str, float]], own: list[tuple[str, float]]) -> str:
    lines = [
        f"Where the CPU of the {cell.action} went (dense world, {DEFAULT_WORKERS} workers, {cell.cpu_seconds or 0:.1f} s "
        f"of CPU, {samples:,} py-spy samples of running threads):",
        "",
        "| Share | What |",
        "| --: | --- |",
    ]
    lines += [f"| {share:.0%} | {name} |" for name, share in buckets]
    if own:
        lines += ["", "Of which the function's own frames, innermost: " + "; ".join(f"{f} {s:.0%}" for f, s in own)]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
