"""`python -m local_runtime.archive [--python X.Y] [--arch x86|arm] [DIST]` (`make archive`).

Writes DIST/backup-copier-<version>-py<X.Y>-<arch>.zip (DIST defaults to dist/) and prints
its size and SHA-256. Exit status 1, with the reason, when the archive is refused or fails.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from local_runtime.layout.bytecode import CompileError
from local_runtime.layout.check import UnresolvedImports
from local_runtime.layout.closure import LayoutError
from local_runtime.layout.python_tree import ScriptError

from .build import LayoutFailed, build_archive
from .target import ArchiveRefused, parse_target

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_runtime.archive", description=__doc__.splitlines()[0])
    parser.add_argument("dist", type=Path, nargs="?", default=PROJECT_ROOT / "dist", help="where the zip goes")
    parser.add_argument("--python", default="", help="the runtime's Python minor version (default: func.yaml's)")
    parser.add_argument("--arch", default="", help="x86 (default) or arm: the application's shape")
    parser.add_argument("--interpreter", default=None, help="a Python of that version to check the archive with")
    arguments = parser.parse_args(argv)
    try:
        target = parse_target(PROJECT_ROOT, arguments.python, arguments.arch)
        report = build_archive(PROJECT_ROOT, arguments.dist.resolve(), target, arguments.interpreter or None)
    except (ArchiveRefused, LayoutFailed, LayoutError, UnresolvedImports, CompileError, ScriptError) as error:
        print(f"archive: {error}", file=sys.stderr)
        return 1
    print(report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
