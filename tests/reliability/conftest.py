"""Figures for the reliability summary line, gathered by every test in this folder.

`make reliability` (or any pytest run that includes tests/reliability) prints one line:
events delivered, duplicates delivered, copies made, duplicate copies, hostile inputs,
unhandled exceptions, faults injected and survived, answers after the deadline.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, fields
from typing import Any

import pytest

from blockstorage_emulator import Emulator
from local_runtime.fdk_process import FnResponse, FunctionProcess


@dataclass
class Figures:
    events_delivered: int = 0
    duplicates_delivered: int = 0
    copies_made: int = 0
    duplicate_copies: int = 0
    hostile_inputs: int = 0
    unhandled_exceptions: int = 0
    faults_injected: int = 0
    faults_survived: int = 0
    answers_after_deadline: int = 0

    def line(self) -> str:
        return "reliability: " + ", ".join(f"{f.name.replace('_', ' ')}={getattr(self, f.name)}" for f in fields(self))


FIGURES = Figures()


@pytest.fixture
def figures() -> Figures:
    return FIGURES


def deliver(
    process: FunctionProcess,
    body: Any,
    *,
    deadline_seconds: float = 30.0,
    duplicate: bool = False,
    hostile: bool = False,
) -> tuple[FnResponse, dict[str, Any]]:
    """Invoke as the Fn agent does and count what the summary reports."""
    started = time.monotonic()
    answer = process.invoke(body, deadline_seconds=deadline_seconds)
    elapsed = time.monotonic() - started
    FIGURES.events_delivered += 1
    FIGURES.duplicates_delivered += duplicate
    FIGURES.hostile_inputs += hostile
    FIGURES.answers_after_deadline += elapsed >= deadline_seconds
    try:
        result = json.loads(answer.body)
        assert isinstance(result, dict) and "outcome" in result
    except (ValueError, AssertionError):
        # The fdk turns an exception escaping the handler into a 502 with a plain-text body.
        FIGURES.unhandled_exceptions += 1
        raise AssertionError(f"not a JSON outcome: {answer.status} {answer.body[:300]!r}") from None
    assert elapsed < deadline_seconds, f"answered after the deadline: {elapsed:.2f} s >= {deadline_seconds} s"
    return answer, result


def count_copies(emulator: Emulator, backup_ids: list[str], region: str) -> None:
    """Add to the figures: copies made of these backups, and any second copy of one."""
    for backup_id in backup_ids:
        made = len(emulator.copies_of(backup_id, region))
        FIGURES.copies_made += made
        FIGURES.duplicate_copies += max(0, made - 1)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES.events_delivered:
        terminalreporter.write_line(FIGURES.line())
