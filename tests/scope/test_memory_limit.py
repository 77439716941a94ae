"""The memory guard over a tenancy-wide run (issue 23): no compartment starts above FN_MEMORY's mark,
what was read whole is acted on and answered, and the answer says what to do.

Through the fdk socket with FN_MEMORY=1 (the process is far above the mark before it reads
anything), and in process with a guard that lets two compartments start, to show what is done
with the ones read: reported and posted, and nothing of the others read at all.
"""

from __future__ import annotations

import os

import pytest

from backup_copier.backups import scope_pass
from backup_copier.shared.memory import MIB, MemoryGuard
from blockstorage_emulator import Emulator
from tests.helpers import FunctionFactory

from .conftest import Tree, invoke, run_in_process

ADVICE = "Raise the function's memory (fn update function <app> <function> --memory 256"


def _block_storage_lists(emulator: Emulator) -> list[str]:
    """The compartments whose backups were listed, in any region."""
    return [r.query.get("compartmentId", "") for r in emulator.requests if r.operation == "list"]


def test_a_report_above_the_memory_mark_answers_memory_limit_and_reads_nothing(
    emulator: Emulator, function: FunctionFactory, tree: Tree
) -> None:
    process = function(FN_MEMORY="1", MAX_CONCURRENCY="2")

    result = invoke(process, {"action": "report", "compartmentId": tree.root, "subtree": True})

    assert (result["outcome"], result["reasonCode"]) == ("failed", "MemoryLimit")
    assert result["reason"].startswith(f"{len(tree.active)} of {len(tree.active)} compartments were not started")
    assert "at or above 85% of the function's 1 MB" in result["reason"] and ADVICE in result["reason"]
    assert "lower MAX_CONCURRENCY, or turn on FAN_OUT" in result["reason"]
    assert result["compartmentsScanned"] == 0
    assert result["compartmentsRemaining"]["count"] == len(tree.active)
    assert result["compartmentsRemaining"]["byReason"] == {"MemoryLimit": len(tree.active)}
    assert sorted(result["compartmentsRemaining"]["compartmentIds"]) == sorted(tree.active)
    # Nothing half-read, nothing posted: the compartments were listed, and not one backup.
    assert _block_storage_lists(emulator) == []
    assert result["metricsReasonCode"] == "ScanIncomplete" and emulator.posted_metrics() == []
    [line] = [line for line in process.log_lines() if line.get("callId") == result["callId"]]
    for key in ("outcome", "reasonCode", "reason", "compartmentsRemaining", "metricsPosted"):
        assert line[key] == result[key], key


class _LetsStart(MemoryGuard):
    """The mark is reached once `count` compartments were let start, whatever this process's memory."""

    def __init__(self, count: int) -> None:
        super().__init__(128 * MIB)
        object.__setattr__(self, "started", [0])
        object.__setattr__(self, "count", count)

    def is_above(self, resident: int | None) -> bool:
        self.started[0] += 1
        return self.started[0] > self.count


def test_what_was_read_whole_before_the_mark_is_reported_and_posted_and_nothing_else_is_read(
    emulator: Emulator, in_process: None, tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scope_pass.MemoryGuard, "from_environment", classmethod(lambda cls: _LetsStart(2)))
    assert os.environ["MAX_CONCURRENCY"] == "1"  # one worker: the first two compartments of the scope start

    result = run_in_process({"action": "report", "compartmentId": tree.root, "subtree": True})

    assert (result["outcome"], result["reasonCode"]) == ("failed", "MemoryLimit")
    assert result["compartmentsScanned"] == 2 and result["compartmentsRemaining"]["count"] == len(tree.active) - 2
    read = set(tree.active) - set(result["compartmentsRemaining"]["compartmentIds"])
    assert len(read) == 2
    # The two read whole were read in both regions and reported, and posted their figures.
    assert set(_block_storage_lists(emulator)) == read
    # Two volumes each (conftest.py's tree): a stream each, and each compartment's two counts.
    assert result["totals"]["volumes"] == 4 and {v["compartmentId"] for v in result["volumes"]} == read
    assert {metric.compartment_id for metric in emulator.posted_metrics()} == read
    assert result["metricsPosted"] == 4 + 2 * 2
    assert ADVICE in result["reason"] and "The other 2 were done" in result["reason"]
