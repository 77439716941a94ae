"""The scale table as Markdown: each action's times at 1 worker and at the default side by side, the
CPU each cell's process used against what the SDK's models alone take for the same pages, and the
targets of issues 15 and 23."""

from __future__ import annotations

import itertools
import statistics

from .report import MIB, Verdict
from .scale import ACTIONS, DEFAULT_WORKERS, LIST_LATENCY_SECONDS, ONE_WORKER, Cell, ScaleResult
from .sdk_cost import RUNS
from .tenancy import DENSE, DENSE_COMPARTMENTS, GROUP_MEMBERS, LARGE, LARGE_EVERY, SMALL, Shape

SPEEDUP_TARGET = 5.0  # x, the default over 1 worker, at SPEEDUP_FROM compartments and more
SPEEDUP_FROM = 100
# Issue 23: every action at the default concurrency over 20,000 volumes (the mixed world at
# 1,000 compartments, and the dense world), in the 128 MB shape with 18 MiB to spare.
PEAK_TARGET_MIB = 110
PEAK_AT = 1000
# Issue 23: the whole function's CPU over the SDK models' CPU for the same pages, in a tenancy-wide run.
CPU_TARGETS = {"report": 0.5, "reconcile": 0.8, "expire": 0.8}
REPORT_TARGET_SECONDS = 70.0  # issue 23: the report over REPORT_AT compartments
REPORT_AT = 1000
# Time per compartment may grow this much from one scope to the next (10x as many) before the
# growth counts as worse than linear: one run on a shared machine moves by about that much.
LINEAR_SLACK = 1.10
LAMBDA_DEADLINE_SECONDS = 300  # OCI Functions' longest invocation
COLUMNS = (
    "Action",
    "Compartments",
    "1 worker",
    f"{DEFAULT_WORKERS} workers (default)",
    "speed-up",
    "CPU, 1 worker",
    f"CPU, {DEFAULT_WORKERS} workers",
    "peak RSS, 1 worker",
    f"peak RSS, {DEFAULT_WORKERS} workers",
    "requests",
    "backups read",
    "SDK models alone, same pages",
    "CPU vs SDK models",
    "emulator CPU",
)
_Key = tuple[str, int, int]


def render_scale(result: ScaleResult, dense: ScaleResult | None = None) -> tuple[str, list[Verdict]]:
    cells = {(cell.action, cell.scope, cell.workers): cell for cell in result.cells}
    dense_cells = {cell.action: cell for cell in dense.cells} if dense else {}
    scopes = sorted({cell.scope for cell in result.cells})
    rows = [COLUMNS, ("---",) + ("--:",) * (len(COLUMNS) - 1)]
    for action in ACTIONS:
        for scope in scopes:
            one, default = cells[(action, scope, ONE_WORKER)], cells[(action, scope, DEFAULT_WORKERS)]
            rows.append(_row(action, f"{scope:,}", one, default))
        if action in dense_cells:
            rows.append(_row(action, f"{DENSE_COMPARTMENTS}, dense", None, dense_cells[action]))
    verdicts = _verdicts(cells, scopes, list(dense_cells.values()))
    lines = ["| " + " | ".join(row) + " |" for row in rows]
    lines += ["", _scope_note(result, dense), "", *_column_notes(result, dense)]
    fits = _largest_in_one_invocation(cells, scopes)
    if fits:
        lines.append(f"- {fits}")
    return "\n".join(lines), verdicts


def _row(action: str, scope: str, one: Cell | None, default: Cell) -> tuple[str, ...]:
    read = default.read
    ratio = default.sdk_ratio
    return (
        _action(action),
        scope,
        _seconds(one) if one else "",
        _seconds(default),
        _speedup(one, default) if one else "",
        _cpu(one.cpu_seconds) if one else "",
        _cpu(default.cpu_seconds),
        _mib(one.peak_kib) if one else "",
        _mib(default.peak_kib),
        str(default.requests) if default.requests is not None else "",
        f"{read.items:,}" if read else "",
        _cpu(read.sdk_seconds) if read else "",
        f"{ratio:.2f}x" if ratio is not None else "",
        _cpu(default.emulator_cpu_seconds),
    )


def _scope_note(result: ScaleResult, dense: ScaleResult | None) -> str:
    note = (
        f"Scope: one tenancy ({LIST_LATENCY_SECONDS * 1000:.0f} ms injected into every list call, one destination "
        "region, metrics on), one invocation over it (`subtree`) per cell, a fresh process each. The mixed world: "
        f"{LARGE_EVERY - 1} compartments in {LARGE_EVERY} hold {_shape(SMALL)}; every {LARGE_EVERY}th holds "
        f"{_shape(LARGE)}. Each volume group backup holds {GROUP_MEMBERS} volume backups, which ListVolumeBackups "
        "lists too. A backup a day for 30 days; all but the newest day's have a marked copy, due to expire 14 days "
        f"after its source. At its largest: {result.volumes:,} volumes, {result.backups:,} backups (sources, group "
        f"members and copies), seeded in {result.seed_seconds:.0f} s."
    )
    if dense:
        note += (
            f" The dense world (rows marked dense), an emulator of its own: {DENSE_COMPARTMENTS} compartments of "
            f"{_shape(DENSE)}, a backup a day for {DENSE.days} days, copies due {DENSE.expires_after_days} days after "
            f"their source: {dense.volumes:,} volumes, {dense.backups:,} backups, seeded in {dense.seed_seconds:.0f} s."
        )
    return note


def _shape(shape: Shape) -> str:
    volume_list = shape.listed("volume")
    pages = -(-volume_list // 1000)
    return (
        f"{shape.volumes} volumes, {shape.boot_volumes} boot volumes and {shape.groups} volume groups "
        f"(ListVolumeBackups: {volume_list:,} items, {pages} page{'s' if pages > 1 else ''} of 1,000)"
    )


def _column_notes(result: ScaleResult, dense: ScaleResult | None) -> list[str]:
    every = result.cells + (dense.cells if dense else [])
    starts = [cell.start_cpu_seconds for cell in every if cell.start_cpu_seconds is not None]
    posted = [
        (cell.answer.get("metricsPosted"), cell.answer.get("metricsFailed"), cell.scope, cell.world)
        for cell in every
        if cell.action == "report" and cell.workers == DEFAULT_WORKERS and cell.answer
    ]
    notes = [
        "- CPU: user plus system time of the function's fdk process (every thread; it starts no child process), "
        "/proc/<pid>/stat at the answer, from the process's start: of which before the request "
        f"{statistics.median(starts):.2f} s (median)."
        if starts
        else "- CPU: not measured.",
        '- SDK models alone: the CPU that `deserialize_response_data(body, "list[VolumeBackup]")` (and its kin) '
        f"takes on the same list pages the cell fetched, in the bench process (median of {RUNS} parses of each "
        "kind of page, bench/sdk_cost.py). CPU vs SDK models: the CPU column over it, at the default concurrency.",
        "- Emulator CPU: the bench process's while the cell ran (its server threads), on the same 2 cores.",
        "- ~ marks a time extrapolated on the line through the two largest scopes measured at that concurrency "
        "(--one-worker-up-to sets how far 1 worker is measured); its CPU and peak RSS are not measured.",
    ]
    if posted:
        notes.append(
            "- The report's metric streams posted (failed) at the default: "
            + ", ".join(
                f"{scope:,}{' dense' if world != 'mixed' else ''}: {ok} ({failed})"
                for ok, failed, scope, world in posted
            )
            + "."
        )
    return notes


def _verdicts(cells: dict[_Key, Cell], scopes: list[int], dense: list[Cell]) -> list[Verdict]:
    verdicts = []
    speedups = [
        (action, scope, cells[(action, scope, ONE_WORKER)], cells[(action, scope, DEFAULT_WORKERS)])
        for action in ACTIONS
        for scope in scopes
        if scope >= SPEEDUP_FROM
    ]
    known = [(a, s, one, default) for a, s, one, default in speedups if one.seconds and default.seconds]
    if known:
        action, scope, one, default = min(known, key=lambda item: item[2].seconds / item[3].seconds)  # type: ignore[operator]
        worst = one.seconds / default.seconds  # type: ignore[operator]
        estimated = " (1 worker extrapolated)" if one.extrapolated_from else ""
        verdicts.append(
            Verdict(
                f"speed-up at >= {SPEEDUP_FROM} compartments",
                f"{worst:.1f}x, the least of every action and scope ({action}, {scope:,}){estimated}",
                f">= {SPEEDUP_TARGET:g}x",
                worst >= SPEEDUP_TARGET,
            )
        )
    wide = [
        cells[(action, PEAK_AT, DEFAULT_WORKERS)] for action in ACTIONS if (action, PEAK_AT, DEFAULT_WORKERS) in cells
    ]
    peaks = [(cell.peak_kib, _where(cell)) for cell in wide + dense if cell.peak_kib is not None]
    if peaks:
        kib, where = max(peaks)
        verdicts.append(
            Verdict(
                "peak RSS over 20,000 volumes, every action, default concurrency",
                f"{kib / 1024:.1f} MiB, the most ({where})",
                f"<= {PEAK_TARGET_MIB} MiB",
                kib * 1024 <= PEAK_TARGET_MIB * MIB,
            )
        )
    verdicts += _cpu_verdicts(cells, scopes, dense)
    report = cells.get(("report", REPORT_AT, DEFAULT_WORKERS))
    if report is not None and report.seconds is not None and not report.extrapolated_from:
        verdicts.append(
            Verdict(
                f"report over {REPORT_AT:,} compartments, default concurrency",
                f"{report.seconds:.1f} s",
                f"<= {REPORT_TARGET_SECONDS:g} s",
                report.seconds <= REPORT_TARGET_SECONDS,
            )
        )
    growths = []
    for action in ACTIONS:
        for small, large in itertools.pairwise(scopes):
            if small < 10:
                continue  # one compartment's time is mostly fixed cost: no slope to read
            before, after = cells[(action, small, DEFAULT_WORKERS)], cells[(action, large, DEFAULT_WORKERS)]
            if before.seconds and after.seconds and not before.extrapolated_from and not after.extrapolated_from:
                growths.append(((after.seconds / large) / (before.seconds / small), action, small, large))
    if growths:
        growth, action, small, large = max(growths)
        verdicts.append(
            Verdict(
                "growth with compartments",
                f"time per compartment x{growth:.2f} from {small:,} to {large:,} ({action}, {DEFAULT_WORKERS} workers)",
                f"<= x{LINEAR_SLACK:.2f} (linear, with noise)",
                growth <= LINEAR_SLACK,
            )
        )
    return verdicts


def _cpu_verdicts(cells: dict[_Key, Cell], scopes: list[int], dense: list[Cell]) -> list[Verdict]:
    """Per action, the larger ratio of the widest mixed run and the dense run, at the default."""
    verdicts = []
    widest = max(scopes)
    for action, target in CPU_TARGETS.items():
        runs = [cells.get((action, widest, DEFAULT_WORKERS))] + [cell for cell in dense if cell.action == action]
        ratios = [(cell.sdk_ratio, _where(cell)) for cell in runs if cell is not None and cell.sdk_ratio is not None]
        if not ratios:
            continue
        worst = max(ratios)[0]
        verdicts.append(
            Verdict(
                f"CPU per backup read, {_action(action)}: the whole function against the SDK's models alone",
                ", ".join(f"{ratio:.2f}x ({where})" for ratio, where in ratios),
                f"<= {target:g}x",
                worst <= target,
            )
        )
    return verdicts


def _where(cell: Cell) -> str:
    return f"{cell.action}, {cell.scope:,} compartments{', dense' if cell.world != 'mixed' else ''}"


def _largest_in_one_invocation(cells: dict[_Key, Cell], scopes: list[int]) -> str:
    """The largest scope all three actions read in one 300-second invocation at the default."""
    largest = max(scopes)
    times = [cells[(action, largest, DEFAULT_WORKERS)].seconds for action in ACTIONS]
    if any(seconds is None for seconds in times):
        return ""
    slowest = max(seconds for seconds in times if seconds is not None)
    within = [
        scope
        for scope in scopes
        if all((cells[(action, scope, DEFAULT_WORKERS)].seconds or 0) <= LAMBDA_DEADLINE_SECONDS for action in ACTIONS)
    ]
    estimate = int(LAMBDA_DEADLINE_SECONDS / (slowest / largest))
    return (
        f"Largest scope measured within one {LAMBDA_DEADLINE_SECONDS}-second invocation at the default, "
        f"every action: {max(within):,} compartments"
        if within
        else "No scope measured fits one invocation"
    ) + f"; linear estimate from {largest:,}: about {estimate:,} compartments (the slowest action's rate)."


def _action(action: str) -> str:
    return action if action == "report" else f"{action} (dry run)"


def _seconds(cell: Cell) -> str:
    if cell.seconds is None:
        return "not run"
    text = f"{cell.seconds:.1f} s" if cell.seconds < 100 else f"{cell.seconds:.0f} s"
    return f"~{text}" if cell.extrapolated_from else text


def _speedup(one: Cell, default: Cell) -> str:
    if not one.seconds or not default.seconds:
        return ""
    ratio = f"{one.seconds / default.seconds:.1f}x"
    return f"~{ratio}" if one.extrapolated_from or default.extrapolated_from else ratio


def _cpu(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.1f} s" if seconds < 100 else f"{seconds:.0f} s"


def _mib(kib: int | None) -> str:
    return f"{kib / 1024:.1f} MiB" if kib is not None else ""
