"""The function started from an unzipped archive, as a code-only runtime would start it.

How Oracle's managed Python runtime starts a function is not documented (unconfirmed). What
is documented is the archive's shape and the handler, `<file>.<function>` naming a function of
a file in function/ ("Creating Python Code-only Functions"). So the model here: the runtime's
Python, with nothing of its own on the path (`-S`), PYTHONPATH=<root>/function:<root>/python,
resolves the handler `func.handler` to <root>/function/func.py and `handler`, and serves it
with the fdk the archive carries in python/ (whether the runtime brings its own fdk is also
unconfirmed, so the archive does not count on it). The archive's bin/fdk script is not used.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from local_runtime.fdk_process import FunctionProcess, Runtime
from local_runtime.layout.observe import base_interpreter

HANDLER = "func.handler"
# Runs as `python -S -c BOOTSTRAP <root> <handler> ...`. The test harness appends the image's
# `func.py handler` to every command (fdk_process.FunctionProcess); a code-only runtime has only
# the handler, so those are ignored here and the handler alone decides what runs.
BOOTSTRAP = """
import os, sys
root, handler = sys.argv[1], sys.argv[2]
module, _, entry = handler.rpartition(".")
if not module or not entry.isidentifier() or not all(part.isidentifier() for part in module.split(".")):
    sys.exit(f"handler {handler!r}: expected <file>.<function>, such as func.handler")
path = os.path.join(root, "function", *module.split(".")) + ".py"
if not os.path.isfile(path):
    sys.exit(f"handler {handler!r}: the archive has no function/{module.replace('.', '/')}.py")
sys.argv = ["fdk", path, entry]
from fdk.scripts.fdk import main
sys.exit(main())
"""


@dataclass(frozen=True)
class Unzipped:
    root: Path
    handler: str = HANDLER

    @property
    def function_dir(self) -> Path:
        return self.root / "function"

    @property
    def python_dir(self) -> Path:
        return self.root / "python"

    def runtime(self) -> Runtime:
        command = [base_interpreter(), "-S", "-c", BOOTSTRAP, str(self.root), self.handler]
        return Runtime(
            self.function_dir, [self.function_dir, self.python_dir], command, {"PYTHONDONTWRITEBYTECODE": "1"}
        )

    def process(self, environment: dict[str, str]) -> FunctionProcess:
        """A not yet started fdk process."""
        runtime = self.runtime()
        return FunctionProcess(
            {**runtime.environment, **environment},
            function_dir=runtime.function_dir,
            python_path=runtime.python_path,
            fdk_command=runtime.fdk_command,
        )


def unzip(archive: Path, destination: Path) -> Unzipped:
    """Extract `archive` into `destination` with the modes it records (zipfile alone drops them)."""
    with zipfile.ZipFile(archive) as opened:
        for info in opened.infolist():
            target = Path(opened.extract(info, destination))
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(target, mode)
    return Unzipped(destination)
