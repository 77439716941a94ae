"""Where a function process's CPU goes: py-spy samples it while it answers, each sample is put in one
bucket by its innermost recognisable frame, and the buckets are shares of every sample.

py-spy (https://github.com/benfred/py-spy) is not a dependency of the project: pass the path of
one installed anywhere (`pip install py-spy` in a scratch environment). It reads the process's
stacks from outside (ptrace), so the function runs unchanged, and by default samples only
threads that are running, not those waiting on a socket: the samples are the process's CPU.
"""

from __future__ import annotations

import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

RATE = 200  # samples a second
OWN_CODE = "the function's own code"

# (bucket, what a frame's "function (file:line)" text contains), checked from the innermost frame
# outwards: the first frame that matches one decides the sample's bucket.
BUCKETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("pydantic-core: records from list pages", ("pydantic",)),
    ("signing requests (SDK signer, cryptography)", ("httpsig", "oci/signer", "cryptography", "oci/auth/")),
    ("JSON (json module)", ("json/",)),
    (
        "HTTP (the SDK's vendored requests and urllib3, http.client, sockets)",
        ("oci/_vendor/requests", "oci/_vendor/urllib3", "http/client", "socket.py", "email/"),
    ),
    ("SDK models: deserializing (oci.base_client, models)", ("deserialize", "oci/core/models", "oci/identity/models")),
    ("SDK client: building requests, retries", ("oci/",)),
    (OWN_CODE, ("backup_copier/",)),
    ("thread pool, locks, queues", ("threading.py", "concurrent/", "queue.py")),
    ("fdk and asyncio", ("fdk/", "asyncio/")),
)
OTHER = "other (interpreter start-up, imports, the rest)"


@contextmanager
def sampled(py_spy: Path, pid: int, output: Path) -> Iterator[None]:
    """py-spy records `pid` for as long as the block runs, into `output` (collapsed stacks)."""
    command = [str(py_spy), "record", "--pid", str(pid), "--rate", str(RATE), "--format", "raw"]
    recorder = subprocess.Popen(
        [*command, "--nonblocking", "--output", str(output)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        yield
    finally:
        recorder.send_signal(signal.SIGINT)  # py-spy writes what it sampled, then exits
        _, errors = recorder.communicate(timeout=120)
        if not output.exists():
            raise RuntimeError(f"py-spy wrote no profile: {errors.decode(errors='replace')[-2000:]}")


def shares(collapsed: Path) -> tuple[int, list[tuple[str, float]]]:
    """Every sample, and each bucket's share of them, the largest first."""
    counts: Counter[str] = Counter()
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            counts[bucket(stack.split(";"))] += int(count)
    total = sum(counts.values())
    return total, [(name, count / total) for name, count in counts.most_common()] if total else []


def own_code(collapsed: Path, count: int = 6) -> list[tuple[str, float]]:
    """The function's own frames that its samples spent most in, each as a share of every sample."""
    frames: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if not stack or not samples.isdigit():
            continue
        total += int(samples)
        split = stack.split(";")
        if bucket(split) == OWN_CODE:
            innermost = next(frame for frame in reversed(split) if "backup_copier/" in frame)
            # "fold (backup_copier/report/coverage.py:88)" -> "fold (backup_copier/report/coverage.py)"
            frames[innermost.rsplit(":", 1)[0] + ")"] += int(samples)
    return [(frame, samples / total) for frame, samples in frames.most_common(count)] if total else []


def bucket(frames: list[str]) -> str:
    """The bucket of one sample, its frames outermost first as py-spy writes them."""
    for frame in reversed(frames):
        for name, marks in BUCKETS:
            if any(mark in frame for mark in marks):
                return name
    return OTHER
