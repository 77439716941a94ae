"""Byte code for every module of a tree, written once at build time, the same bytes at every build.

The run image's file system is read-only, so Python cannot cache what it compiles: without
shipped byte code every cold start compiles the function's modules again. An unchecked-hash
.pyc is used as it is, without reading its source to compare, and does not depend on file
times (a timestamp-checked one goes stale, and is compiled again at every start, if a build
step resets them). The image's sources never change after the build, so nothing is lost.

The same sources must give the same .pyc bytes (the code-only archive is reproducible), and
marshal's output depends on the compiling process's state: which strings it has interned
already, and the hash seed that orders a frozenset constant. So each top-level entry of the
tree is compiled by a fresh interpreter of its own, one file after another in sorted order,
with PYTHONHASHSEED=0; the entries' processes run side by side.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from .observe import base_interpreter

# Runs in the child: compile ROOT (MAXLEVELS 0: only its own files), naming the files under SHOWN_AS.
_COMPILER = """
import compileall, py_compile, sys
root, shown_as, maxlevels = sys.argv[1], sys.argv[2] or None, int(sys.argv[3])
mode = py_compile.PycInvalidationMode.UNCHECKED_HASH
ok = compileall.compile_dir(root, maxlevels=maxlevels, ddir=shown_as, quiet=1, invalidation_mode=mode, workers=1)
sys.exit(0 if ok else 1)
"""
_DEEP = 1000


class CompileError(Exception):
    """A module of the tree does not compile: it would fail at import time in the image."""


def compile_tree(root: Path, shown_as: Path | None = None) -> None:
    """Compile every module under `root`; the byte code names the files under `shown_as`.

    `shown_as` is where the tree will be run from (/python, /function). Python puts a module's
    true path back in when it loads byte code that sits beside its source, so tracebacks name
    the real files wherever the tree is; the name only keeps the bytes independent of the place.
    """
    jobs = [(root, shown_as, 0)]  # the files directly in root
    jobs += [
        (entry, shown_as / entry.name if shown_as else None, _DEEP)
        for entry in sorted(root.iterdir())
        if entry.is_dir() and entry.name != "__pycache__"
    ]
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONHASHSEED": "0"}
    failures = []
    running: list[tuple[Path, subprocess.Popen[str]]] = []
    for position, (folder, named, maxlevels) in enumerate(jobs):
        command = [base_interpreter(), "-S", "-c", _COMPILER, str(folder), str(named or ""), str(maxlevels)]
        running.append(
            (
                folder,
                subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True),
            )
        )
        if len(running) >= (os.cpu_count() or 1) or position == len(jobs) - 1:
            for done, process in running:
                output, _ = process.communicate(timeout=600)
                if process.returncode != 0:
                    failures.append(f"{done}:\n{output.strip()}")
            running = []
    if failures:
        raise CompileError(f"some modules under {root} do not compile:\n" + "\n".join(failures))
