"""The contenders as code-only archives: `make archive`'s ZIP, and the plain install zipped the same way.

A code-only function is uploaded directly up to 25 MB (local_runtime/archive/build.py), so the
archive's size decides whether the function can skip Object Storage.
"""

from __future__ import annotations

from pathlib import Path

from local_runtime.archive.build import build_archive
from local_runtime.archive.target import parse_target
from local_runtime.archive.zipped import archive_entries, write_zip
from local_runtime.fdk_process import PROJECT_ROOT

from .layout import FUNCTION, PLAIN, Layout


def archive_sizes(layout: Layout, workdir: Path) -> dict[str, int]:
    """Bytes of each archive: the image layout's (what `make archive` writes) and the plain install's."""
    made = build_archive(PROJECT_ROOT, workdir / "dist", parse_target(PROJECT_ROOT, None, None))
    plain = workdir / "plain.zip"
    function_dir = layout.plain_runtimes[PLAIN].function_dir
    write_zip(archive_entries([("function", function_dir), ("python", layout.plain_python_dir)]), plain)
    return {FUNCTION: made.size_bytes, PLAIN: plain.stat().st_size}
