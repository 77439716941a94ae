"""The layout for another Python, run by that Python: `pythonX.Y -S -B -m local_runtime.archive.foreign INSTALL DEST`.

INSTALL holds the target's wheels (`pip install --platform ... --python-version X.Y`); this
writes DEST/function and DEST/python from it with the layout's own code, so the byte code and
the import check are that Python's. Exit status 1, with the reasons, when the layout fails.
"""

from __future__ import annotations

import sys
from pathlib import Path

from local_runtime.layout.build import IMAGE_ROOT, entrypoint_scripts, write_function_tree, write_python_tree
from local_runtime.layout.bytecode import CompileError
from local_runtime.layout.check import UnresolvedImports, check_function_imports
from local_runtime.layout.closure import LayoutError
from local_runtime.layout.python_tree import ScriptError

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str]) -> int:
    installed, destination = Path(argv[0]), Path(argv[1])
    try:
        function_dir = write_function_tree(PROJECT_ROOT, destination / "function", IMAGE_ROOT / "function")
        scripts = entrypoint_scripts(PROJECT_ROOT)
        write_python_tree(installed, function_dir, scripts, destination / "python", IMAGE_ROOT / "python")
        check_function_imports(function_dir, destination / "python")
    except (LayoutError, UnresolvedImports, CompileError, ScriptError) as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
