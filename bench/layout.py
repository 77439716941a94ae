"""The contenders, each laid out as its image lays it out and started as the Fn agent starts it.

- backup-copier in the image the Dockerfile builds: `make layout`'s trees, byte-compiled
  with unchecked hashes (local_runtime/layout).
- backup-copier in the image `fn build` makes without the Dockerfile: `pip install --target`
  of requirements.txt, and the function's folder copied as it is.
- the naive handler and the floor, in that same plain image, as a public sample would be.

All run the base interpreter with `-S`, PYTHONPATH=<function>:<python> and the fdk from
<python>, as the image's entrypoint does (the image's script says `-S` on its first line;
the plain image's does not, and the site-packages the base image may hold are left out here). The run image's file system is read-only and
PYTHONDONTWRITEBYTECODE keeps every tree as built: in the plain image the function's own
modules have no byte code (fn build does not compile them), so every cold start compiles
them, as in OCI. pip does compile what it installs, so the plain install is compiled once
here, as pip's default does.
"""

from __future__ import annotations

import compileall
import shutil
from dataclasses import dataclass
from pathlib import Path

from local_runtime.fdk_process import PROJECT_ROOT, FunctionProcess, Runtime
from local_runtime.fn_build import installed_requirements, lay_out_function
from local_runtime.layout.observe import base_interpreter
from local_runtime.layout.run import LaidOut, lay_out_current_code

BENCH_DIR = Path(__file__).resolve().parent
FUNCTION = "backup-copier"  # in the image the Dockerfile builds
PLAIN = "backup-copier, plain install"  # in the image fn build makes without it
NAIVE = "naive handler"
FLOOR = "floor"
CONTENDERS = (FUNCTION, PLAIN, NAIVE, FLOOR)
_BASELINES = {NAIVE: BENCH_DIR / "naive", FLOOR: BENCH_DIR / "floor"}


@dataclass(frozen=True)
class Layout:
    image: LaidOut
    plain_python_dir: Path
    plain_runtimes: dict[str, Runtime]

    def python_dirs(self) -> dict[str, Path]:
        return {FUNCTION: self.image.python_dir, PLAIN: self.plain_python_dir}

    def process(self, name: str, environment: dict[str, str], wrapper: tuple[str, ...] = ()) -> FunctionProcess:
        """A not yet started fdk process for the contender `name`, run under `wrapper` if given."""
        if name == FUNCTION:
            runtime = self.image.runtime(wrapper)
        else:
            plain = self.plain_runtimes[name]
            runtime = Runtime(plain.function_dir, plain.python_path, [*wrapper, *plain.fdk_command], plain.environment)
        return FunctionProcess(
            {**runtime.environment, **environment},
            function_dir=runtime.function_dir,
            python_path=runtime.python_path,
            fdk_command=runtime.fdk_command,
        )


def prepare(workdir: Path) -> Layout:
    laid_out = lay_out_current_code(PROJECT_ROOT, workdir / "image")
    plain = installed_requirements(PROJECT_ROOT / "requirements.txt")
    # What pip's default --compile would have written; skips files already compiled.
    compileall.compile_dir(plain, quiet=2, workers=0)
    plain_dirs = {PLAIN: lay_out_function(PROJECT_ROOT, workdir / "plain")}
    for name, source in _BASELINES.items():
        target = workdir / source.name / "function"
        target.mkdir(parents=True)
        shutil.copy2(source / "func.py", target / "func.py")
        plain_dirs[name] = target
    plain_fdk = [base_interpreter(), "-S", str(plain / "bin" / "fdk")]
    plain_runtimes = {
        name: Runtime(function_dir, [function_dir, plain], plain_fdk, {"PYTHONDONTWRITEBYTECODE": "1"})
        for name, function_dir in plain_dirs.items()
    }
    return Layout(laid_out, plain, plain_runtimes)
