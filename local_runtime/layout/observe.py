"""What binary modules import while they load, seen by importing them in the full install.

Compiled code imports by name, out of sight of the source reader: cryptography's Rust
extension imports `_cffi_backend`, a module of another distribution, as it loads. The
import runs in a separate interpreter started as the image starts one (`-S`, only the
install on PYTHONPATH), so nothing of this process's own path can answer it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

# Runs in the child: import each module named on stdin, print every module then loaded from the install.
_OBSERVER = """
import importlib, json, sys
root = sys.argv[1]
for name in sys.stdin.read().split():
    try:
        importlib.import_module(name)
    except BaseException:
        pass  # an optional dependency missing from the full install too: not this step's concern
loaded = [
    name for name, module in list(sys.modules.items())
    if (getattr(module, "__file__", None) or "").startswith(root)
]
print(json.dumps(sorted(loaded)))
"""


def base_interpreter() -> str:
    """The interpreter itself, outside any virtual environment: what the image runs."""
    return getattr(sys, "_base_executable", None) or sys.executable


def isolated_environment(python_path: list[Path]) -> dict[str, str]:
    """An environment holding only what the image's would: PYTHONPATH, and no byte code written."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.pathsep.join(str(path) for path in python_path),
        "PYTHONDONTWRITEBYTECODE": "1",
    }


class ObserveImports:
    """The closure's observer: module names in, names of the install's modules they loaded out."""

    def __init__(self, install: Path) -> None:
        self.install = install

    def __call__(self, modules: Iterable[str]) -> set[str]:
        root = str(self.install.resolve()) + os.sep
        completed = subprocess.run(
            [base_interpreter(), "-S", "-P", "-c", _OBSERVER, root],
            input=" ".join(modules),
            capture_output=True,
            text=True,
            env=isolated_environment([self.install.resolve()]),
            cwd=self.install,
            check=True,
            timeout=300,
        )
        loaded: list[str] = json.loads(completed.stdout.strip().splitlines()[-1])
        return set(loaded)
