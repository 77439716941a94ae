"""`python -m local_runtime.layout DEST` (`make layout DEST=...`): write DEST/python and DEST/function.

The Dockerfile's build stage runs this with DEST=/, so the image holds what this wrote.
Exit status 1, with the reasons, when the layout cannot be trusted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .build import build_layout
from .bytecode import CompileError
from .check import UnresolvedImports
from .closure import LayoutError
from .python_tree import ScriptError
from .sizes import tree_size

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MB = 1000 * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_runtime.layout", description=__doc__.splitlines()[0])
    parser.add_argument("destination", type=Path, help="folder to write python/ and function/ into")
    parser.add_argument("--project", type=Path, default=PROJECT_ROOT, help="the function's folder (default: this one)")
    arguments = parser.parse_args(argv)
    destination: Path = arguments.destination.resolve()
    for part in ("python", "function"):
        if (destination / part).exists():
            parser.error(f"{destination / part} exists already; the layout is written into an empty place")
    try:
        report = build_layout(arguments.project.resolve(), destination)
    except (LayoutError, UnresolvedImports, CompileError, ScriptError) as error:
        print(f"layout failed: {error}", file=sys.stderr)
        return 1
    print(report.summary())
    for part in ("python", "function"):
        size = tree_size(destination / part)
        print(f"{destination / part}: {size.total_bytes / MB:.1f} MB in {size.files} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
