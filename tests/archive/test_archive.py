"""The code-only archive: reproducible, within the direct upload, holding the layout and nothing else.

Built as `make archive` builds it (local_runtime/archive), for this machine's Python, which is
func.yaml's 3.11 (tests/image/test_fn_build.py checks that). The python tree is the cached one
the other tests run, so a build here costs the function tree, its check and the zipping.
"""

from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path

import pytest

from local_runtime.archive import __main__ as archive_command
from local_runtime.archive.build import DIRECT_UPLOAD_LIMIT
from local_runtime.archive.run import Unzipped
from local_runtime.archive.target import ArchiveRefused, Target, parse_target
from local_runtime.archive.zipped import FIXED_TIME, sha256_of
from local_runtime.layout.build import cached_python_tree
from tests.helpers import PROJECT_ROOT

ZIP_NAME = "backup-copier-0.0.1-py3.11-x86.zip"
# What the function does not need, wherever it would appear in the archive.
NEVER_SHIPPED = {
    "tests",
    "test",
    ".venv",
    ".git",
    "local_runtime",
    "blockstorage_emulator",
    "bench",
    "events",
    "deploy",
    "docs",
    "pytest",
    "_pytest",
    "Cython",
    "setuptools",
    "pip",
    "wheel",
    "pygments",
    "mypy",
    "ruff",
    "hypothesis",
}
NEVER_SHIPPED_FILES = {
    "func.yaml",
    "requirements.txt",
    "requirements-dev.txt",
    "Dockerfile",
    ".dockerignore",
    "pyproject.toml",
    "Makefile",
    "layout.json",
}


def _names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


def test_make_archive_twice_gives_the_same_bytes_and_one_zip_per_target(
    code_only_archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`make archive` with the defaults, into a dist/ holding an older version's zip and another target's."""
    (tmp_path / "backup-copier-0.0.0-py3.11-x86.zip").write_bytes(b"older version: replaced")
    (tmp_path / "backup-copier-0.0.1-py3.11-arm.zip").write_bytes(b"another target: kept")
    assert archive_command.main([str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert sorted(path.name for path in tmp_path.iterdir()) == ["backup-copier-0.0.1-py3.11-arm.zip", ZIP_NAME]
    # Built twice from the same commit (once by the session, once here): the same bytes.
    assert sha256_of(tmp_path / ZIP_NAME) == sha256_of(code_only_archive)
    assert f"sha256 {sha256_of(code_only_archive)}" in printed
    assert f"({code_only_archive.stat().st_size:,} bytes)" in printed


def test_it_fits_the_direct_upload(code_only_archive: Path) -> None:
    assert code_only_archive.name == ZIP_NAME
    assert code_only_archive.stat().st_size <= DIRECT_UPLOAD_LIMIT


def test_entries_are_sorted_with_fixed_times_and_modes(code_only_archive: Path) -> None:
    with zipfile.ZipFile(code_only_archive) as archive:
        infos = archive.infolist()
    assert [info.filename for info in infos] == sorted(info.filename for info in infos)
    assert {info.date_time for info in infos} == {FIXED_TIME}
    modes = {info.filename: (info.external_attr >> 16) & 0o7777 for info in infos}
    assert set(modes.values()) <= {0o644, 0o755}
    assert modes["python/bin/fdk"] == 0o755
    assert modes["function/func.py"] == 0o644


def test_it_holds_the_layout_exactly_and_nothing_the_function_does_not_need(code_only_archive: Path) -> None:
    names = _names(code_only_archive)
    assert {name.split("/")[0] for name in names} == {"function", "python"}
    for name in names:
        parts = name.split("/")
        assert not NEVER_SHIPPED & set(parts), name
        assert parts[-1] not in NEVER_SHIPPED_FILES, name
        assert not parts[-1].startswith("test_"), name
    # function/: func.py and backup_copier, every source of the work tree and its byte code.
    function = {name.removeprefix("function/") for name in names if name.startswith("function/")}
    sources = {"func.py"} | {
        path.relative_to(PROJECT_ROOT).as_posix() for path in (PROJECT_ROOT / "backup_copier").rglob("*.py")
    }
    compiled = {Path(importlib.util.cache_from_source(source)).as_posix() for source in sources}
    assert function == sources | compiled
    # python/: exactly the layout's tree, file for file.
    python_dir, _ = cached_python_tree(PROJECT_ROOT)
    laid_out = {path.relative_to(python_dir).as_posix() for path in python_dir.rglob("*") if path.is_file()}
    assert {name.removeprefix("python/") for name in names if name.startswith("python/")} == laid_out


def test_unzipped_it_is_the_layout_byte_for_byte(unzipped_archive: Unzipped) -> None:
    python_dir, _ = cached_python_tree(PROJECT_ROOT)
    for path in python_dir.rglob("*"):
        if path.is_file():
            assert (unzipped_archive.python_dir / path.relative_to(python_dir)).read_bytes() == path.read_bytes(), path
    for source in unzipped_archive.function_dir.rglob("*.py"):
        assert source.read_bytes() == (PROJECT_ROOT / source.relative_to(unzipped_archive.function_dir)).read_bytes()
        cached = Path(importlib.util.cache_from_source(str(source)))
        # The .pyc flags word: bit 0 hash-based, bit 1 check the source; unchecked is 0b01.
        assert int.from_bytes(cached.read_bytes()[4:8], "little") == 0b01, source


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--arch", "arm"], "an archive for arm (aarch64) cannot be import-checked on this x86_64 machine"),
        (["--python", "3.99"], "an archive for Python 3.99 needs a Python 3.99 interpreter here to import-check it"),
        (["--python", "3.11", "--interpreter", "/bin/true"], "/bin/true is not one"),
        (["--arch", "sparc"], "ARCH: 'sparc' is not one of x86, arm"),
        (["--python", "three"], "PYTHON_VERSION: 'three' is not a Python minor version"),
    ],
)
def test_an_archive_that_cannot_be_checked_here_is_refused(
    arguments: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert archive_command.main([str(tmp_path / "dist"), *arguments]) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "dist").exists()  # refused before anything was installed or written


def test_the_target_defaults_to_func_yaml_s_python_and_x86(tmp_path: Path) -> None:
    assert parse_target(PROJECT_ROOT, None, None) == Target("3.11", "x86")
    (tmp_path / "func.yaml").write_text("run_image: fnproject/python:3.12\n")
    assert parse_target(tmp_path, "", "arm") == Target("3.12", "arm")
    (tmp_path / "func.yaml").write_text("run_image: example/custom\n")
    with pytest.raises(ArchiveRefused, match=r"func\.yaml names no run_image"):
        parse_target(tmp_path, None, None)


def test_another_target_s_wheels_come_from_pip_s_platform_options() -> None:
    assert Target("3.12", "arm").pip_options() == [
        "--platform",
        "manylinux2014_aarch64",
        "--python-version",
        "3.12",
        "--implementation",
        "cp",
        "--only-binary=:all:",
    ]
