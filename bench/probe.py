"""Why a target of the scale table is missed, measured: `python -m bench.probe [--py-spy PATH]`.

Not part of `make bench` (about five minutes more). On the dense world (bench/tenancy.py: 40
compartments, 20,400 volumes, every list two pages or more), each action runs once as deployed and
once with one thing changed, each in a fresh process, so the difference in peak resident memory
is that thing's share:
- MAX_CONCURRENCY=4 and 1: what each worker holds at once (its thread, the page it reads);
- METRICS=false (the report): what posting the metrics holds;
- and the floor: the same action over a tenancy of one empty compartment (the imports, the
  clients, one worker), in an emulator of its own.
With --py-spy, each action runs once more as deployed, sampled by py-spy (bench/cpu_profile.py),
and the table gives where its CPU went.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

from .cpu_profile import own_code, sampled, shares
from .layout import FUNCTION, Layout, prepare
from .measure import BenchmarkError, cpu_seconds, peak_resident_kib
from .scale import ACTIONS, DEADLINE_SECONDS, DEFAULT_WORKERS, ONE_WORKER, Cell, measure_cell, slow_lists
from .sdk_cost import SdkCost
from .tenancy import DENSE_COMPARTMENTS, DENSE_LAYOUT, Tenancy
from .world import World

AS_DEPLOYED = "as deployed"
FLOOR = "one empty compartment (the floor)"
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
        empty = World.start(workdir / "empty-principal")
        try:
            empty.emulator.add_compartment(empty.emulator.tenancy_id, "empty")
            floors = [(FLOOR, _floor(layout, empty, action)) for action in actions]
        except BenchmarkError as error:
            print(f"probe aborted: {error}", file=sys.stderr)
            return 1
        finally:
            empty.stop()
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
        except BenchmarkError as error:
            print(f"probe aborted: {error}", file=sys.stderr)
            return 1
        finally:
            world.stop()
    print(render_memory(memory + floors))
    for cell, samples, buckets, own in profiles:
        print()
        print(render_profile(cell, samples, buckets, own))
    return 0


def _floor(layout: Layout, world: World, action: str) -> Cell:
    """The same action over `world`, a tenancy of one empty compartment: the imports, the clients, a worker."""
    tenancy = Tenancy(world)
    process = layout.process(FUNCTION, tenancy.environment(DEFAULT_WORKERS)).start()
    try:
        [body] = tenancy.bodies(action)
        started = time.perf_counter()
        answer = process.invoke(body, deadline_seconds=DEADLINE_SECONDS)
        seconds = time.perf_counter() - started
        # The report answers NoVolumesFound (502): an empty report is no healthy answer. It did read.
        if not answer.json().get("compartmentsScanned"):
            raise BenchmarkError(f"the {action} over an empty compartment answered {answer.status}: {answer.body!r}")
        return Cell(
            action, 1, DEFAULT_WORKERS, seconds, peak_resident_kib(process.pid), cpu_seconds=cpu_seconds(process.pid)
        )
    finally:
        process.stop()


def render_memory(cells: list[tuple[str, Cell]]) -> str:
    deployed = {cell.action: cell.peak_kib for name, cell in cells if name == AS_DEPLOYED}
    lines = [
        f"Peak RSS on the dense world ({DENSE_COMPARTMENTS} compartments, 20,400 volumes), one thing changed at a "
        f"time, each a fresh process; the floor is the same action over a tenancy of one empty compartment.",
        "",
        "| Action | run | peak RSS | vs as deployed | time | CPU |",
        "| --- | --- | --: | --: | --: | --: |",
    ]
    for name, cell in sorted(cells, key=lambda named: ACTIONS.index(named[1].action)):
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
