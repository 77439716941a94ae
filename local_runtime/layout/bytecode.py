"""Byte code for every module of a tree, written once at build time.

The run image's file system is read-only, so Python cannot cache what it compiles: without
shipped byte code every cold start compiles the function's modules again. An unchecked-hash
.pyc is used as it is, without reading its source to compare, and does not depend on file
times (a timestamp-checked one goes stale, and is compiled again at every start, if a build
step resets them). The image's sources never change after the build, so nothing is lost.
"""

from __future__ import annotations

import compileall
import os
import py_compile
from pathlib import Path


class CompileError(Exception):
    """A module of the tree does not compile: it would fail at import time in the image."""


def compile_tree(root: Path, shown_as: Path | None = None) -> None:
    """Compile every module under `root`; tracebacks will name the files under `shown_as`.

    `shown_as` is where the tree will live once moved (the cache's final place, built next
    to it and renamed in one step): the file names compiled into the byte code are kept.
    """
    ok = compileall.compile_dir(
        root,
        ddir=shown_as,
        quiet=1,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        workers=os.cpu_count() or 1,
    )
    if not ok:
        raise CompileError(f"some modules under {root} do not compile (listed above)")
