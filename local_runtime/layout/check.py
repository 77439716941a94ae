"""The layout's last step: every import the function's code names resolves in the result.

Each import statement of func.py and backup_copier, module level or inside a function, is
run in a fresh interpreter that sees only the layout (`-S`, PYTHONPATH=function:python),
and every name in `from module import name` must then exist. One that does not fails the
build here rather than the first invocation that reaches it in OCI.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from .install_tree import InstallTree
from .module_imports import read_imports
from .observe import base_interpreter, isolated_environment

# Runs in the child: import each named module and look up each name.
_CHECKER = """
import importlib, json, sys
failures = []
for wanted in json.loads(sys.stdin.read()):
    where, module_name = wanted["where"], wanted["module"]
    try:
        module = importlib.import_module(module_name)
    except BaseException as error:
        failures.append(f"{where}: import {module_name}: {error!r}")
        continue
    for name in wanted["names"]:
        if name == "*":
            continue
        try:
            # A lazy package's __getattr__ (the SDK's) imports here, and may raise ImportError.
            getattr(module, name)
        except AttributeError:
            try:
                importlib.import_module(f"{module_name}.{name}")
            except BaseException as error:
                failures.append(f"{where}: from {module_name} import {name}: {error!r}")
        except BaseException as error:
            failures.append(f"{where}: from {module_name} import {name}: {error!r}")
print(json.dumps(failures))
"""


class UnresolvedImports(Exception):
    """Some import the function's code names fails in the layout."""


@dataclass(frozen=True)
class Wanted:
    where: str
    module: str
    names: tuple[str, ...]


def function_imports(function_dir: Path) -> list[Wanted]:
    """Every module of the function, and every import statement in it."""
    wanted = []
    for module in InstallTree(function_dir).modules.values():
        where = str(module.path.relative_to(function_dir))
        if module.name.rpartition(".")[2] != "__main__":  # importing one would run its program
            wanted.append(Wanted(where, module.name, ()))
        imports = read_imports(module.path.read_text(encoding="utf-8"), module.name, module.is_package, where)
        wanted += [Wanted(f"{where}:{found.line}", found.module, found.names) for found in imports.statements]
    return wanted


def check_function_imports(function_dir: Path, python_dir: Path) -> int:
    """Raise UnresolvedImports unless every import resolves; return how many were checked."""
    wanted = function_imports(function_dir)
    with tempfile.TemporaryDirectory(prefix="layout-check-") as scratch:
        completed = subprocess.run(
            [base_interpreter(), "-S", "-P", "-c", _CHECKER],
            input=json.dumps([asdict(item) for item in wanted]),
            capture_output=True,
            text=True,
            env=isolated_environment([function_dir.resolve(), python_dir.resolve()]),
            cwd=scratch,
            timeout=300,
        )
    if completed.returncode != 0:
        raise UnresolvedImports(f"the import check itself failed:\n{completed.stderr}")
    failures: list[str] = json.loads(completed.stdout.strip().splitlines()[-1])
    if failures:
        raise UnresolvedImports("imports the layout cannot resolve:\n  " + "\n  ".join(failures))
    return len(wanted)
