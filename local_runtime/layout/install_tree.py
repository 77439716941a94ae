"""A folder on PYTHONPATH (a `pip install --target`, or /function) indexed by module name.

The layout keeps or drops code module by module, so it needs to know, for every dotted
name an import could ask for, which file would answer it, as Python's path finder would.
"""

from __future__ import annotations

import importlib.machinery
import os
from dataclasses import dataclass
from pathlib import Path

BINARY_SUFFIXES = tuple(importlib.machinery.EXTENSION_SUFFIXES)
# Byte code is always written afresh by the layout; pip's own (timestamp-checked) is not kept.
SKIPPED_DIRECTORIES = frozenset({"__pycache__"})


@dataclass(frozen=True)
class Module:
    name: str
    path: Path  # the .py or binary file; a package's __init__.py
    is_package: bool
    is_binary: bool

    @property
    def directory(self) -> Path:
        """The package's folder, or the folder holding the module."""
        return self.path.parent

    @property
    def top_level(self) -> str:
        return self.name.partition(".")[0]


def is_code(path: Path) -> bool:
    return path.suffix == ".py" or path.name.endswith(BINARY_SUFFIXES)


def module_stem(file_name: str) -> str | None:
    """`six.py` -> `six`; `_rust.abi3.so` -> `_rust`; anything else -> None."""
    if file_name.endswith(".py"):
        return file_name[:-3]
    for suffix in BINARY_SUFFIXES:
        if file_name.endswith(suffix):
            return file_name[: -len(suffix)]
    return None


class InstallTree:
    """Every importable module under `root`, found the way the path finder finds them.

    A folder is a package when it holds __init__.py. A folder without one inside a package is
    treated as data (zoneinfo files, certificates): importing it is possible (PEP 420) but
    nothing here does, and the layout keeps such folders whole with their parent.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.modules: dict[str, Module] = {}
        self.namespace_packages: dict[str, Path] = {}
        self._index(root, prefix="")

    def _index(self, directory: Path, prefix: str) -> None:
        with os.scandir(directory) as entries:
            names = sorted(entry.name for entry in entries)
        for name in names:
            path = directory / name
            if path.is_dir():
                if name in SKIPPED_DIRECTORIES or "." in name or "-" in name:
                    continue  # dist-info, bin's siblings and the like: not importable
                init = path / "__init__.py"
                if init.is_file():
                    full = prefix + name
                    self.modules[full] = Module(full, init, is_package=True, is_binary=False)
                    self._index(path, prefix=full + ".")
                elif not prefix and name != "bin":
                    # A top-level folder without __init__.py is a namespace package.
                    self.namespace_packages[name] = path
                continue
            stem = module_stem(name)
            if stem is None or stem == "__init__" or "." in stem:
                continue
            full = prefix + stem
            # Names are visited sorted, so `x/` comes before `x.cpython-….so` before `x.py`: the
            # first one indexed is the one the path finder would load.
            self.modules.setdefault(full, Module(full, path, is_package=False, is_binary=path.suffix != ".py"))

    def find(self, name: str) -> Module | None:
        return self.modules.get(name)

    def is_package(self, name: str) -> bool:
        module = self.modules.get(name)
        return module is not None and module.is_package

    def submodules(self, package: str) -> list[Module]:
        """Every module inside `package`, at any depth."""
        prefix = package + "."
        return [module for name, module in self.modules.items() if name.startswith(prefix)]

    def top_levels(self) -> set[str]:
        return {name.partition(".")[0] for name in self.modules} | set(self.namespace_packages)
