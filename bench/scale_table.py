"""The scale table as Markdown, each action's times at 1 worker and at the default side by side."""

from __future__ import annotations

import itertools

from .report import MIB, Verdict
from .scale import (
    ACTIONS,
    DAYS,
    DEFAULT_WORKERS,
    LIST_LATENCY_SECONDS,
    ONE_WORKER,
    SUBTREE,
    VOLUMES_PER_COMPARTMENT,
    Cell,
    ScaleResult,
)

SPEEDUP_TARGET = 5.0  # x, the default over 1 worker, at SPEEDUP_FROM compartments and more
SPEEDUP_FROM = 100
PEAK_TARGET_MIB = 128  # the function's memory shape
PEAK_AT = 1000
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
    "peak RSS, 1 worker",
    f"peak RSS, {DEFAULT_WORKERS} workers",
    "requests",
    f"per compartment, {DEFAULT_WORKERS} workers",
)


def render_scale(result: ScaleResult) -> tuple[str, list[Verdict]]:
    cells = {(cell.action, cell.scope, cell.workers): cell for cell in result.cells}
    scopes = sorted({cell.scope for cell in result.cells})
    rows = [COLUMNS, ("---", "--:", "--:", "--:", "--:", "--:", "--:", "--:", "--:")]
    for action in ACTIONS:
        for scope in scopes:
            one, default = cells[(action, scope, ONE_WORKER)], cells[(action, scope, DEFAULT_WORKERS)]
            rows.append(
                (
                    _action(action),
                    f"{scope:,}",
                    _seconds(one),
                    _seconds(default),
                    _speedup(one, default),
                    _mib(one.peak_kib),
                    _mib(default.peak_kib),
                    str(default.requests) if default.requests is not None else "",
                    f"{default.seconds / scope * 1000:.0f} ms" if default.seconds is not None else "",
                )
            )
    verdicts = _verdicts(cells, scopes)
    lines = ["| " + " | ".join(row) + " |" for row in rows]
    lines += [
        "",
        f"Scope: one tenancy of N compartments, {VOLUMES_PER_COMPARTMENT} volumes each, a backup a day for {DAYS} days "
        f"({result.backups:,} backups at the largest scope, sources and copies, seeded in {result.seed_seconds:.0f} s); "
        f"one destination region; {LIST_LATENCY_SECONDS * 1000:.0f} ms injected into every list call. "
        + (
            "One invocation over the tenancy (`subtree`) per cell, a fresh process each."
            if result.mode == SUBTREE
            else f"Mode: {result.note}."
        ),
        "~ marks a time extrapolated on the line through the two largest scopes measured at that "
        "concurrency (--one-worker-up-to sets how far 1 worker is measured); its peak RSS is not measured.",
    ]
    fits = _largest_in_one_invocation(cells, scopes)
    if fits:
        lines.append(fits)
    return "\n".join(lines), verdicts


def _verdicts(cells: dict[tuple[str, int, int], Cell], scopes: list[int]) -> list[Verdict]:
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
    peaks = [
        (cells[(action, PEAK_AT, DEFAULT_WORKERS)].peak_kib, action)
        for action in ACTIONS
        if (action, PEAK_AT, DEFAULT_WORKERS) in cells
    ]
    measured_peaks = [(kib, action) for kib, action in peaks if kib is not None]
    if measured_peaks:
        kib, action = max(measured_peaks)
        verdicts.append(
            Verdict(
                f"peak RSS at {PEAK_AT:,} compartments",
                f"{kib / 1024:.1f} MiB ({action}, {DEFAULT_WORKERS} workers)",
                f"<= {PEAK_TARGET_MIB} MiB",
                kib * 1024 <= PEAK_TARGET_MIB * MIB,
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


def _largest_in_one_invocation(cells: dict[tuple[str, int, int], Cell], scopes: list[int]) -> str:
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


def _mib(kib: int | None) -> str:
    return f"{kib / 1024:.1f} MiB" if kib is not None else ""
