"""The container's memory limit, and whether the process is near it.

Oracle stops a function that exceeds its memory and logs only an error: no answer, no result
line, no metric. A pass over many compartments asks, before it starts another compartment,
whether resident memory is above the high-water mark, and if so starts none: what it already
read is still acted on and answered.

The limit comes from FN_MEMORY: "The amount of memory available to the function, in MB"
(Oracle, "Environment Variables Populated by OCI Functions"). The open-source Fn agent sets it in
every function container to the function's memory (fnproject/fn at 0052528: api/agent/call.go `buildConfig`,
`conf["FN_MEMORY"] = fmt.Sprintf("%d", fn.Memory)`); the same number is the container's hard
limit: `container.Memory()` is `memory * 1024 * 1024` bytes (api/agent/agent.go), set as the
cgroup's memory with swap disabled (api/agent/drivers/docker/cookie.go `configureMem`). So
"128 MB" is 128 MiB, and nothing swaps. Without FN_MEMORY (a local run, the tests' fdk
processes) there is no limit and the guard never stops a pass.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

MIB = 1024 * 1024
# The mark, as a share of the limit. Above it, no new compartment starts; those already started
# finish, each with one list page at most (a 1,000-backup page is about 1 MiB of bytes, then
# about 1 MiB of records) and its per-compartment findings, and then the answer is rendered.
# At 128 MB and 8 workers that is about 19 MiB kept free (108.8 MiB of 128); a larger shape
# keeps proportionally more, which costs nothing but a little unused memory.
HIGH_WATER_SHARE = 0.85
_STATM = "/proc/self/statm"


def resident_bytes() -> int | None:
    """The process's resident memory now, from /proc/self/statm (one small read); None off Linux."""
    try:
        with open(_STATM, "rb") as statm:
            # "size resident shared text lib data dt", in pages.
            resident_pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class MemoryGuard:
    """The container's limit, and the mark above which a tenancy-wide pass starts no new compartment."""

    limit_bytes: int | None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> MemoryGuard:
        """The limit FN_MEMORY states; none when it is absent or unreadable.

        The platform sets FN_MEMORY, not the operator, so an unreadable value is not a setting
        to refuse: the pass runs unguarded, as it would locally.
        """
        text = environ.get("FN_MEMORY", "").strip()
        megabytes = int(text) if text.isdigit() else 0
        return cls(megabytes * MIB if megabytes > 0 else None)

    @property
    def high_water_bytes(self) -> int | None:
        return int(self.limit_bytes * HIGH_WATER_SHARE) if self.limit_bytes else None

    def above_high_water(self) -> bool:
        """Whether resident memory is at or above the mark now; never without a limit."""
        return self.is_above(resident_bytes())

    def is_above(self, resident: int | None) -> bool:
        mark = self.high_water_bytes
        return mark is not None and resident is not None and resident >= mark

    def describe(self, resident: int | None) -> str:
        """`resident memory 112 MiB, at or above 85% of the function's 128 MB`, for the answer's sentence."""
        now = f"resident memory {resident / MIB:.0f} MiB" if resident is not None else "resident memory unknown"
        if self.limit_bytes is None:
            return f"{now}; no FN_MEMORY, so no limit"
        where = "at or above" if self.is_above(resident) else "below"
        return f"{now}, {where} {HIGH_WATER_SHARE:.0%} of the function's {self.limit_bytes // MIB} MB"


# glibc's mallopt parameters (malloc/malloc.h): M_MMAP_THRESHOLD is -3, M_ARENA_MAX is -8.
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
# Allocations this large or larger get pages of their own, given back when freed: glibc's
# default threshold, held there (setting it stops glibc from raising it as buffers are freed).
_MMAP_THRESHOLD_BYTES = 128 * 1024
# Malloc arenas the worker threads share. glibc gives each new thread an arena of its own, up
# to 8 per core, and each keeps the pages its frees leave; two are enough for threads that
# mostly wait on the network.
_ARENAS = 2


def share_allocator_arenas() -> bool:
    """Before the worker threads start: cap glibc's malloc arenas, and keep its mmap threshold.

    Each worker's list page (a 1.5 MiB body, then its records) otherwise stays in that thread's
    own arena once freed, and glibc raises its mmap threshold past a body's size after the first
    one is freed, so bodies stop being given back. Measured on the scale table's report over 10
    compartments with 8 workers (bench/scale.py's world): a peak of 106.6 MiB without, 95.5 MiB
    with; MALLOC_ARENA_MAX=2 alone in the environment gave 96.2 MiB. The environment cannot be
    set for a code-only function, so it is done here, once, before the first worker starts
    (glibc fixes its arena limit when a second arena is first needed). False where the C library
    is not glibc: nothing is changed there.
    """
    # Deferred, for cold start: only a pass over many compartments starts worker threads.
    import ctypes

    # The process's own symbols, which hold the C library's: ctypes.util.find_library would run
    # ldconfig or a compiler in a subprocess, which a slim function image may not have.
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        mallopt = None
    if mallopt is None:
        return False
    return bool(mallopt(_M_ARENA_MAX, _ARENAS)) and bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES))
