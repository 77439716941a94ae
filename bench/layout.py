"""The three functions laid out as `fn build` lays them out, and started as the Fn agent starts them.

Each runs with the base interpreter and `-S`, PYTHONPATH=<function>:<pip --target folder>
and the fdk from that folder, exactly as the image's entrypoint does. The run image's file
system is read-only and `fn build` does not byte-compile the function's own files, so the
function folders are fresh copies without __pycache__ and PYTHONDONTWRITEBYTECODE keeps
them that way: every cold start compiles the function's modules, as in OCI. `pip install`
does byte-compile what it installs, so the requirements folder is compiled once here.
"""

from __future__ import annotations

import compileall
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from local_runtime.fdk_process import PROJECT_ROOT, FunctionProcess
from local_runtime.fn_build import installed_requirements, lay_out_function

BENCH_DIR = Path(__file__).resolve().parent
FUNCTION = "backup-copier"
NAIVE = "naive handler"
FLOOR = "floor"
_BASELINES = {NAIVE: BENCH_DIR / "naive", FLOOR: BENCH_DIR / "floor"}


@dataclass(frozen=True)
class Layout:
    python_dir: Path
    function_dirs: dict[str, Path]

    def process(self, name: str, environment: dict[str, str], wrapper: tuple[str, ...] = ()) -> FunctionProcess:
        """A not yet started fdk process for the function `name`, run under `wrapper` if given."""
        function_dir = self.function_dirs[name]
        base_python = getattr(sys, "_base_executable", sys.executable)
        return FunctionProcess(
            {**environment, "PYTHONDONTWRITEBYTECODE": "1"},
            function_dir=function_dir,
            python_path=[function_dir, self.python_dir],
            fdk_command=[*wrapper, base_python, "-S", str(self.python_dir / "bin" / "fdk")],
        )


def prepare(workdir: Path) -> Layout:
    python_dir = installed_requirements(PROJECT_ROOT / "requirements.txt")
    # What pip's default --compile would have written; skips files already compiled.
    compileall.compile_dir(python_dir, quiet=2, workers=0)
    function_dirs = {FUNCTION: lay_out_function(PROJECT_ROOT, workdir / "backup-copier")}
    for name, source in _BASELINES.items():
        target = workdir / source.name / "function"
        target.mkdir(parents=True)
        shutil.copy2(source / "func.py", target / "func.py")
        function_dirs[name] = target
    return Layout(python_dir, function_dirs)
