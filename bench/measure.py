"""The measurements: cold starts, instruction counts, interleaved warm rounds, peak memory."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from local_runtime.fdk_process import FnResponse, FunctionProcess

from .layout import CONTENDERS, FLOOR, FUNCTION, NAIVE, PLAIN, Layout
from .world import LongLivedClients, World

FDK_ROUND_TRIP = "fdk round trip"
SDK_REQUESTS = "long-lived SDK client"
WARM_UP_ROUNDS = 20
# (backup id, its event as the request body, round number)
Call = Callable[[str, bytes, int], object]


class BenchmarkError(Exception):
    """A measured call did not do what it is measured for; its timing would mean nothing."""


@dataclass
class ColdStart:
    """Process start to first answer, and the part of it spent before the socket listened."""

    seconds: list[float] = field(default_factory=list)
    listening_seconds: list[float] = field(default_factory=list)
    # CPU the process used until it answered: excludes time spent waiting for a CPU, so it
    # moves less with the machine's load than wall time does (but still moves).
    cpu_seconds: list[float] = field(default_factory=list)
    peak_kib: list[int] = field(default_factory=list)


@dataclass
class Warm:
    seconds: dict[str, list[float]] = field(default_factory=dict)
    requests: dict[str, list[int]] = field(default_factory=dict)
    peak_kib: dict[str, int] = field(default_factory=dict)


def peak_resident_kib(pid: int | None) -> int:
    """VmHWM: the most resident memory the process has ever held, in KiB."""
    if pid is None:
        raise BenchmarkError("the process is not running")
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise BenchmarkError(f"/proc/{pid}/status has no VmHWM line")


def cpu_seconds(pid: int | None) -> float:
    """User plus system CPU time of the process so far (/proc/<pid>/stat fields 14 and 15)."""
    if pid is None:
        raise BenchmarkError("the process is not running")
    # The command name (field 2) may hold spaces; the fields after it are space-separated.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cold_starts(layout: Layout, world: World, runs: int) -> dict[str, ColdStart]:
    """`runs` fresh processes of each function, interleaved so machine noise hits all alike."""
    results = {name: ColdStart() for name in CONTENDERS}
    for number in range(runs):
        shift = number % len(CONTENDERS)  # each contender goes first as often as the others
        for name in CONTENDERS[shift:] + CONTENDERS[:shift]:
            result = results[name]
            body = world.event_for(world.new_backup())
            process = layout.process(name, world.function_environment())
            started = time.perf_counter()
            try:
                process.start()
                listening = time.perf_counter()
                answer = process.invoke(body)
                answered = time.perf_counter()
                _check(name, answer, process)
                result.peak_kib.append(peak_resident_kib(process.pid))
                result.cpu_seconds.append(cpu_seconds(process.pid))
            finally:
                process.stop()
            result.seconds.append(answered - started)
            result.listening_seconds.append(listening - started)
            world.settle()
    return results


def instructions_to_first_answer(layout: Layout, world: World, directory: Path) -> dict[str, int] | None:
    """Instructions each function executes from process start to its first answer, under cachegrind.

    Wall and CPU time swing by ±10% on a shared machine; an instruction count does not, so it
    settles whether a few percent of cold start is real. None when valgrind is not installed.
    """
    if shutil.which("valgrind") is None:
        return None
    environment = {**world.function_environment(), "PYTHONHASHSEED": "0"}
    running: dict[str, tuple[FunctionProcess, Path]] = {}
    try:
        for name in CONTENDERS:
            counts = directory / f"cachegrind.{len(running)}"
            wrapper = ("valgrind", "--tool=cachegrind", "--cache-sim=no", f"--cachegrind-out-file={counts}")
            running[name] = (layout.process(name, environment, wrapper), counts)
        # Side by side: each is ~50x slower under valgrind, and the counts do not depend on load.
        for process, _ in running.values():
            process.start(timeout=_VALGRIND_SECONDS)
        for name, (process, _) in running.items():
            _check(name, process.invoke(world.event_for(world.new_backup()), timeout=_VALGRIND_SECONDS), process)
    finally:
        for process, _ in running.values():
            process.stop()  # cachegrind writes its counts as the process exits
        world.settle()
    return {name: _instructions(counts) for name, (_, counts) in running.items()}


_VALGRIND_SECONDS = 300.0


def _instructions(counts: Path) -> int:
    for line in counts.read_text().splitlines():
        if line.startswith("summary:"):
            return int(line.split()[1])
    raise BenchmarkError(f"{counts} has no summary line")


def warm_rounds(layout: Layout, world: World, calls: int) -> Warm:
    """`calls` rounds; each round times one call of every contender, in rotating order.

    The plain install is left out: once warm, the function runs the same code from either tree.

    The floor of an invocation is measured in the same rounds: the fdk's round trip of the
    constant function, and the function's Block Storage requests from long-lived clients.
    """
    environment = world.function_environment()
    processes = {name: layout.process(name, environment).start() for name in (FUNCTION, NAIVE, FLOOR)}

    def through_fdk(name: str) -> Call:
        process = processes[name]
        return lambda backup_id, body, number: _check(name, process.invoke(body), process)

    try:
        clients = LongLivedClients(world)
        contenders: dict[str, Call] = {
            FUNCTION: through_fdk(FUNCTION),
            NAIVE: through_fdk(NAIVE),
            FDK_ROUND_TRIP: through_fdk(FLOOR),
            SDK_REQUESTS: lambda backup_id, body, number: clients.copy(backup_id, number),
        }
        warm = Warm({name: [] for name in contenders}, {name: [] for name in contenders})
        for number in range(WARM_UP_ROUNDS + calls):
            order = list(contenders)
            shift = number % len(order)
            for name in order[shift:] + order[:shift]:
                seconds, requests = _timed(world, contenders[name], number)
                if number >= WARM_UP_ROUNDS:
                    warm.seconds[name].append(seconds)
                    warm.requests[name].append(requests)
            world.settle()
        for name, process in processes.items():
            warm.peak_kib[name] = peak_resident_kib(process.pid)
        return warm
    finally:
        for process in processes.values():
            process.stop()


def _timed(world: World, call: Call, number: int) -> tuple[float, int]:
    # Seed before the clock starts: the emulator runs in this process, and seeding a backup
    # is no part of anyone's invocation.
    backup_id = world.new_backup()
    body = world.event_for(backup_id)
    before = world.request_count()
    started = time.perf_counter()
    call(backup_id, body, number)
    elapsed = time.perf_counter() - started
    return elapsed, world.request_count() - before


def _check(name: str, answer: FnResponse, process: FunctionProcess) -> None:
    if answer.status != 200:
        raise BenchmarkError(f"{name} answered {answer.status}: {answer.body!r}\n{process.stderr()[-2000:]}")
    if name == FLOOR:
        return
    body = answer.json()
    made_copy = body.get("outcome") == "copied" if name in (FUNCTION, PLAIN) else bool(body.get("copyId"))
    if not made_copy:
        raise BenchmarkError(f"{name} made no copy: {body}")
