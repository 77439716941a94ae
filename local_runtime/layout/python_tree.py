"""Write /python: the kept modules of the full install, their data, and their distributions' metadata.

A kept package brings its data files (certifi's bundle, pytz's zone files) and its folders
that are not packages, but not its subpackages: those come only if they are kept
themselves. Source files that only build or type-check code (.pyi, .pyx, .c, ...) stay out.

A distribution's .dist-info folder stays when any of its files does, since code may read it
with importlib.metadata (pydantic lists every distribution's entry points for plugins). Its
RECORD is written afresh by `write_records` once the byte code exists, so that it lists
what the image holds, with true hashes.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import importlib.util
import io
import shutil
from dataclasses import dataclass
from pathlib import Path

from .install_tree import SKIPPED_DIRECTORIES, InstallTree, Module, is_code

BUILD_ONLY_SUFFIXES = frozenset({".pyi", ".pyx", ".pxd", ".pxi", ".c", ".h", ".cpp"})


@dataclass(frozen=True)
class Distribution:
    dist_info: Path  # relative to the install
    files: tuple[Path, ...]  # every file its RECORD lists, relative to the install


def copy_kept_modules(install: InstallTree, kept: list[Module], destination: Path) -> None:
    for module in kept:
        source = module.path
        relative = source.relative_to(install.root)
        _copy_file(source, destination / relative)
        if module.is_package:
            _copy_package_data(module.directory, destination / relative.parent)


class ScriptError(Exception):
    """A console script is not the plain `#!python` file pip writes; the layout will not guess."""


def copy_scripts(install: Path, scripts: list[str], destination: Path, interpreter: str) -> None:
    """The console scripts the image runs (func.yaml's entrypoint), started with `interpreter -S`.

    pip writes `#!<the interpreter that ran pip>`. Here that line names the interpreter that
    built the layout, which the run image shares (as fn's own build assumes), with `-S`: no
    site-packages of the base image on sys.path, so the image imports exactly what the tests
    import, and a little faster.
    """
    for script in scripts:
        first, _, rest = (install / script).read_text(encoding="utf-8").partition("\n")
        if not first.startswith("#!") or len(first.split()) != 1 or "python" not in first:
            raise ScriptError(f"{script} starts with {first!r}, not a plain #!python line")
        target = destination / script
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f"#!{interpreter} -S\n{rest}", encoding="utf-8")
        shutil.copymode(install / script, target)


def distributions(install: Path) -> list[Distribution]:
    found = []
    for dist_info in sorted(install.glob("*.dist-info")):
        record = dist_info / "RECORD"
        if not record.is_file():
            continue
        rows = csv.reader(io.StringIO(record.read_text(encoding="utf-8")))
        files = tuple(Path(row[0]) for row in rows if row)
        found.append(Distribution(dist_info.relative_to(install), files))
    return found


def copy_metadata(install: Path, destination: Path) -> list[Distribution]:
    """The .dist-info of every distribution with a file in `destination`; those distributions."""
    kept = []
    for distribution in distributions(install):
        ships = any(
            (destination / path).is_file()
            for path in distribution.files
            if path.parts[0] != distribution.dist_info.name
        )
        if ships:
            shutil.copytree(install / distribution.dist_info, destination / distribution.dist_info)
            kept.append(distribution)
    return kept


def write_records(destination: Path, kept: list[Distribution]) -> None:
    """Each kept distribution's RECORD, listing the files (byte code included) that the image holds."""
    for distribution in kept:
        record = distribution.dist_info / "RECORD"
        paths: set[Path] = set()
        for path in distribution.files:
            if path.suffix == ".pyc" or not (destination / path).is_file():
                continue
            paths.add(path)
            if path.suffix == ".py":
                cached = Path(importlib.util.cache_from_source(str(path)))
                if (destination / cached).is_file():
                    paths.add(cached)
        paths.update(file.relative_to(destination) for file in (destination / distribution.dist_info).rglob("*"))
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for path in sorted(paths - {record}):
            if (destination / path).is_file():
                writer.writerow([path.as_posix(), _hash(destination / path), (destination / path).stat().st_size])
        writer.writerow([record.as_posix(), "", ""])
        (destination / record).write_text(buffer.getvalue(), encoding="utf-8")


def _copy_package_data(source: Path, destination: Path) -> None:
    for entry in source.iterdir():
        if entry.is_dir():
            if entry.name not in SKIPPED_DIRECTORIES and not (entry / "__init__.py").exists():
                shutil.copytree(entry, destination / entry.name, ignore=_build_only, dirs_exist_ok=True)
        elif not is_code(entry) and entry.suffix not in BUILD_ONLY_SUFFIXES:
            _copy_file(entry, destination / entry.name)


def _build_only(directory: str, names: list[str]) -> set[str]:
    return {name for name in names if name in SKIPPED_DIRECTORIES or Path(name).suffix in BUILD_ONLY_SUFFIXES}


def _copy_file(source: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, destination)


def _hash(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
