"""`make bench` (or `python -m bench.run`): every figure of docs/performance.md, in one run.

Not a test: the targets are reported, never asserted, because timings on a shared machine
are noisy. The exit status is 0 whether or not a target is met, 1 if a measured call did
not do its job (no copy made, an error answered).
"""

from __future__ import annotations

import argparse
import gc
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from .archive import archive_sizes
from .fan_out import FanOutResult, measure_fan_out, render_fan_out
from .fan_out import verdict as fan_out_verdict
from .layout import prepare
from .measure import BenchmarkError, cold_starts, instructions_to_first_answer, warm_rounds
from .parse_table import print_parse_table
from .report import Verdict, machine, render
from .scale import DEFAULT_WORKERS, SCOPES, ScaleResult, measure_dense, measure_scale
from .scale_table import render_scale
from .size import installed_size
from .world import World


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--cold-runs", type=int, default=15, help="fresh processes per function (default 15, >= 5)")
    parser.add_argument("--calls", type=int, default=200, help="warm calls per function (default 200, >= 200)")
    parser.add_argument("--no-instructions", action="store_true", help="skip the cachegrind instruction count (~30 s)")
    parser.add_argument(
        "--scale-scopes",
        type=_scopes,
        default=SCOPES,
        help="compartment counts of the scale table, comma-separated (default 1,10,100,1000)",
    )
    parser.add_argument(
        "--one-worker-up-to",
        type=int,
        default=10,
        help="measure MAX_CONCURRENCY=1 up to this many compartments, extrapolate beyond (default 10: "
        "1 worker reads 100 compartments for minutes)",
    )
    parser.add_argument("--no-scale", action="store_true", help="skip the scale table")
    parser.add_argument("--scale-only", action="store_true", help="only the scale table")
    parser.add_argument("--no-fan-out", action="store_true", help="skip the scale table's fan-out row (issue 17)")
    parser.add_argument(
        "--no-dense", action="store_true", help="skip the scale table's dense world (40 compartments, 20,400 volumes)"
    )
    arguments = parser.parse_args(argv)
    python = os.path.relpath(sys.executable) if sys.executable.startswith(os.getcwd()) else sys.executable
    command = shlex.join([python, "-m", "bench.run", *(argv if argv is not None else sys.argv[1:])])
    load_before = os.getloadavg()[0]
    began = time.monotonic()
    if arguments.cold_runs < 5 or arguments.calls < 200:
        _say("fewer runs than issue 6 asks for (5 cold, 200 warm): a smoke run, not figures to publish")
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        workdir = Path(scratch)
        _say("laying out the image and the plain install (the first run installs requirements.txt)")
        layout = prepare(workdir / "layout")
        table = ""
        verdicts: list[Verdict] = []
        scale: ScaleResult | None = None
        dense: ScaleResult | None = None
        fan_out: FanOutResult | None = None
        took: dict[str, float] = {}
        lap = time.monotonic()
        if not arguments.scale_only:
            world = World.start(workdir / "principal")
            try:
                _say(f"cold starts: {arguments.cold_runs} fresh processes of each function")
                cold = cold_starts(layout, world, arguments.cold_runs)
                _say(f"warm invocations: {arguments.calls} rounds")
                warm = warm_rounds(layout, world, arguments.calls)
                instructions = None
                if not arguments.no_instructions:
                    _say("instructions to first answer, under cachegrind (skip with --no-instructions)")
                    instructions = instructions_to_first_answer(layout, world, workdir)
            except BenchmarkError as error:
                print(f"benchmark aborted: {error}", file=sys.stderr)
                return 1
            finally:
                world.stop()
            sizes = {name: installed_size(folder) for name, folder in layout.python_dirs().items()}
            _say("the code-only archives: make archive's, and the plain install zipped the same way")
            archives = archive_sizes(layout, workdir / "archives")
            table, verdicts = render(command, cold, warm, instructions, sizes, load_before, archives)
            took["the first table"], lap = time.monotonic() - lap, time.monotonic()
        if not arguments.no_scale:
            try:
                # A world of its own: a million seeded backups would slow the copy timings above.
                with _world(workdir / "scale-principal") as scale_world:
                    _say(f"scale table: {', '.join(map(str, arguments.scale_scopes))} compartments")
                    scale = measure_scale(layout, scale_world, arguments.scale_scopes, arguments.one_worker_up_to)
                    took["the scale table"], lap = time.monotonic() - lap, time.monotonic()
                    unsplit = _unsplit_report(scale, max(arguments.scale_scopes))
                    if not arguments.no_fan_out and unsplit is not None:
                        fan_out = measure_fan_out(layout, scale_world, max(arguments.scale_scopes), unsplit)
                        took["the fan-out row"], lap = time.monotonic() - lap, time.monotonic()
                if not arguments.no_dense:
                    with _world(workdir / "dense-principal") as dense_world:
                        dense = measure_dense(layout, dense_world)
                        took["the dense world"], lap = time.monotonic() - lap, time.monotonic()
            except BenchmarkError as error:
                print(f"benchmark aborted: {error}", file=sys.stderr)
                return 1
    if table:
        print(table)
        print()
    if scale is not None:
        scale_table, scale_verdicts = render_scale(scale, dense)
        print(scale_table)
        print()
        verdicts += scale_verdicts
        if fan_out is not None:
            print(render_fan_out(fan_out))
            print()
            verdicts.append(Verdict(*fan_out_verdict(fan_out)))
        if not table:
            print(
                f"Command: `{command}`. Machine: {machine()}; load average {load_before:.1f} at the start, "
                f"{os.getloadavg()[0]:.1f} at the end. Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC."
            )
            print()
    verdicts.append(print_parse_table())  # issue 23: CPU per 1,000 backups read, about 15 s, a world of its own
    took["the parse table"] = time.monotonic() - lap
    for verdict in verdicts:
        print(f"{verdict.name}: {verdict.measured} (target {verdict.target}): {'met' if verdict.met else 'MISSED'}")
    parts = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in took.items())
    _say(f"done in {time.monotonic() - began:.0f} s ({parts})")
    return 0


def _unsplit_report(scale: ScaleResult, scope: int) -> float | None:
    """The scale table's measured report over the whole tenancy at the default concurrency, the
    fan-out row's baseline; None when the cell was extrapolated."""
    for cell in scale.cells:
        if (cell.action, cell.scope, cell.workers) == ("report", scope, DEFAULT_WORKERS) and not cell.extrapolated_from:
            return cell.seconds
    return None


@contextmanager
def _world(directory: Path) -> Iterator[World]:
    """A world of its own, stopped after, and its backups freed: bench/scale.py froze them out of collection."""
    world = World.start(directory)
    try:
        yield world
    finally:
        world.stop()
        gc.unfreeze()
        gc.collect()


def _scopes(text: str) -> tuple[int, ...]:
    try:
        scopes = tuple(sorted({int(part) for part in text.split(",")}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected compartment counts such as 1,10,100, not {text!r}") from None
    if not scopes or scopes[0] < 1:
        raise argparse.ArgumentTypeError("every scope needs at least one compartment")
    return scopes


def _say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
