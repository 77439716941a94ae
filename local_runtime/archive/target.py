"""Which Python and machine an archive is for, and whether this machine can check one built for them.

The binary packages (pydantic-core, cryptography, cffi, httptools, crc32c) and the byte code
belong to one Python minor version and one architecture. An archive is built only where its
imports can be checked: with an interpreter of its Python version, on its architecture. Any
other archive is refused before anything is installed, rather than shipped unchecked.
"""

from __future__ import annotations

import platform
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from local_runtime.layout.observe import base_interpreter

# ARCH -> (platform.machine() of such a machine, the wheels' platform tag for pip --platform).
# manylinux2014 is glibc 2.17: the oldest the binary packages still publish, so the most a
# runtime's C library can be without breaking them (the runtime's own glibc is unconfirmed).
ARCHITECTURES = {"x86": ("x86_64", "manylinux2014_x86_64"), "arm": ("aarch64", "manylinux2014_aarch64")}
DEFAULT_ARCH = "x86"
_VERSION = re.compile(r"3\.\d{1,2}")
_PROBE = "import platform, sys; print('%d.%d' % sys.version_info[:2], platform.machine())"


class ArchiveRefused(Exception):
    """The archive asked for cannot be built, or cannot be import-checked, on this machine."""


@dataclass(frozen=True)
class Target:
    python: str  # "3.11"
    arch: str  # "x86" or "arm"

    @property
    def machine(self) -> str:
        return ARCHITECTURES[self.arch][0]

    def pip_options(self) -> list[str]:
        """`pip install` options that fetch this target's wheels whatever machine runs pip."""
        return [
            "--platform",
            ARCHITECTURES[self.arch][1],
            "--python-version",
            self.python,
            "--implementation",
            "cp",
            "--only-binary=:all:",
        ]

    def is_this_interpreter(self) -> bool:
        return self.python == this_python() and self.machine == platform.machine()


def this_python() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def func_yaml_python(project_root: Path) -> str:
    """The Python minor version of func.yaml's run_image (`fnproject/python:3.11` -> "3.11")."""
    for line in (project_root / "func.yaml").read_text().splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "run_image":
            version = value.strip().rpartition(":")[2]
            if _VERSION.fullmatch(version):
                return version
    raise ArchiveRefused("func.yaml names no run_image fnproject/python:<3.X> to take the Python version from")


def parse_target(project_root: Path, python: str | None, arch: str | None) -> Target:
    """The target from PYTHON_VERSION and ARCH (empty: func.yaml's Python, x86); each bad value named."""
    python = python or func_yaml_python(project_root)
    arch = arch or DEFAULT_ARCH
    if not _VERSION.fullmatch(python):
        raise ArchiveRefused(f"PYTHON_VERSION: {python!r} is not a Python minor version such as 3.11")
    if arch not in ARCHITECTURES:
        raise ArchiveRefused(f"ARCH: {arch!r} is not one of {', '.join(ARCHITECTURES)}")
    return Target(python, arch)


def checking_interpreter(target: Target, interpreter: str | None = None) -> str:
    """An interpreter of the target's Python on the target's machine, or ArchiveRefused saying why not."""
    machine = platform.machine()
    if target.machine != machine:
        raise ArchiveRefused(
            f"refused: an archive for {target.arch} ({target.machine}) cannot be import-checked on this "
            f"{machine} machine, and an unchecked archive is not built. Build it on an {target.arch} machine "
            f"(make archive ARCH={target.arch}); nothing was written"
        )
    if interpreter is None and target.python == this_python():
        return base_interpreter()
    candidate = interpreter or shutil.which(f"python{target.python}")
    found = _probe(candidate) if candidate else None
    if found != (target.python, machine):
        raise ArchiveRefused(
            f"refused: an archive for Python {target.python} needs a Python {target.python} interpreter here to "
            f"import-check it, and {candidate or f'python{target.python}'} "
            f"{'is not on PATH' if not candidate else 'is not one' if found is None else f'is {found[0]} on {found[1]}'}. "
            "Install it, or name it with TARGET_PYTHON=/path/to/python; nothing was written"
        )
    assert candidate is not None
    return candidate


def _probe(interpreter: str) -> tuple[str, str] | None:
    try:
        completed = subprocess.run(
            [interpreter, "-S", "-c", _PROBE], capture_output=True, text=True, timeout=60, check=False
        )
    except OSError:
        return None
    if completed.returncode != 0:
        return None
    version, _, machine = completed.stdout.strip().partition(" ")
    return (version, machine) if _VERSION.fullmatch(version) and machine else None
