"""The memory guard: FN_MEMORY's limit, the high-water mark, and the process's resident memory."""

from __future__ import annotations

import pytest

from backup_copier.shared.memory import HIGH_WATER_SHARE, MIB, MemoryGuard, resident_bytes, share_allocator_arenas


def test_resident_memory_is_read_from_proc() -> None:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    resident = resident_bytes()
    assert resident is not None
    # Same number from the kernel's two views, within what the interpreter allocates between the reads.
    assert abs(resident - int(line.split()[1]) * 1024) < 4 * MIB


def test_the_limit_is_fn_memory_in_mib_and_the_mark_a_share_of_it() -> None:
    guard = MemoryGuard.from_environment({"FN_MEMORY": "128"})
    assert guard.limit_bytes == 128 * MIB
    assert guard.high_water_bytes == int(128 * MIB * HIGH_WATER_SHARE)


@pytest.mark.parametrize("value", [None, "", "0", "-5", "128m", "lots"])
def test_no_readable_fn_memory_means_no_limit(value: str | None) -> None:
    guard = MemoryGuard.from_environment({} if value is None else {"FN_MEMORY": value})
    assert guard.limit_bytes is None and guard.high_water_bytes is None
    assert not guard.is_above(10**12)
    assert not guard.above_high_water()


def test_at_or_above_the_mark_is_above() -> None:
    guard = MemoryGuard.from_environment({"FN_MEMORY": "128"})
    mark = guard.high_water_bytes
    assert mark is not None
    assert not guard.is_above(mark - 1)
    assert guard.is_above(mark) and guard.is_above(mark + 1)
    assert not guard.is_above(None)  # off Linux: unknown, never a reason to stop


def test_this_process_is_above_a_limit_smaller_than_it_and_below_a_large_one() -> None:
    assert MemoryGuard.from_environment({"FN_MEMORY": "1"}).above_high_water()
    assert not MemoryGuard.from_environment({"FN_MEMORY": "1048576"}).above_high_water()


def test_the_sentence_names_what_was_measured_against_what() -> None:
    guard = MemoryGuard.from_environment({"FN_MEMORY": "128"})
    assert guard.describe(112 * MIB) == "resident memory 112 MiB, at or above 85% of the function's 128 MB"
    assert guard.describe(90 * MIB) == "resident memory 90 MiB, below 85% of the function's 128 MB"
    assert MemoryGuard(None).describe(None) == "resident memory unknown; no FN_MEMORY, so no limit"


def test_the_worker_threads_share_two_malloc_arenas_on_glibc() -> None:
    """The image's C library is glibc (Oracle Linux), as this machine's: mallopt takes both settings."""
    assert share_allocator_arenas() is True
