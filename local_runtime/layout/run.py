"""The function started from a layout as the image's entrypoint starts it, for tests and the bench.

`/python/bin/fdk /function/func.py handler` with PYTHONPATH=/function:/python. The script's
first line starts the base interpreter with `-S` (python_tree.copy_scripts), so neither this
virtual environment nor any site-packages can answer an import the layout lacks. The run
image's file system is read-only; PYTHONDONTWRITEBYTECODE keeps the layout as built, shared
cache included.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from local_runtime.fdk_process import FunctionProcess, Runtime

from .build import IMAGE_ROOT, cached_python_tree, entrypoint_scripts, write_function_tree
from .check import check_function_imports
from .observe import base_interpreter


@dataclass(frozen=True)
class LaidOut:
    function_dir: Path
    python_dir: Path
    script: str = "bin/fdk"

    def runtime(self, wrapper: tuple[str, ...] = ()) -> Runtime:
        """How to start it: the entrypoint's script itself, or under `wrapper` (e.g. valgrind)."""
        script = str(self.python_dir / self.script)
        # A wrapper is given the interpreter the script's first line names, with the same -S.
        command = [*wrapper, base_interpreter(), "-S", script] if wrapper else [script]
        return Runtime(
            self.function_dir, [self.function_dir, self.python_dir], command, {"PYTHONDONTWRITEBYTECODE": "1"}
        )

    def process(self, environment: dict[str, str], wrapper: tuple[str, ...] = ()) -> FunctionProcess:
        """A not yet started fdk process."""
        runtime = self.runtime(wrapper)
        return FunctionProcess(
            {**runtime.environment, **environment},
            function_dir=runtime.function_dir,
            python_path=runtime.python_path,
            fdk_command=runtime.fdk_command,
        )


def lay_out_current_code(project_root: Path, scratch: Path | None = None) -> LaidOut:
    """The cached python tree with a fresh, compiled copy of the function's code as it is now."""
    python_dir, _ = cached_python_tree(project_root)
    scratch = scratch or Path(tempfile.mkdtemp(prefix="layout-"))
    # Its byte code names the files /function/..., as the image's and the code-only archive's do.
    function_dir = write_function_tree(project_root, scratch / "function", IMAGE_ROOT / "function")
    check_function_imports(function_dir, python_dir)
    return LaidOut(function_dir, python_dir, entrypoint_scripts(project_root)[0])
