"""The Dockerfile keeps the Fn contract and stays thin: its build stage runs the layout code the tests run.

Docker cannot run here, so these read the Dockerfile and .dockerignore, and run the build
stage's command the way that stage would: with only the files it copies, and no packages
but the standard library.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from local_runtime.layout.observe import base_interpreter
from tests.helpers import PROJECT_ROOT


@dataclass(frozen=True)
class Instruction:
    command: str
    arguments: str


def _instructions() -> list[Instruction]:
    text = (PROJECT_ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [Instruction(*[*line.split(None, 1), ""][:2]) for line in lines]


def _stages() -> list[list[Instruction]]:
    stages: list[list[Instruction]] = []
    for instruction in _instructions():
        if instruction.command.upper() == "FROM":
            stages.append([])
        stages[-1].append(instruction)
    return stages


def _func_yaml() -> dict[str, str]:
    lines = (PROJECT_ROOT / "func.yaml").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if ": " in line and not line.startswith("#"))


def _arguments(stage: list[Instruction], command: str) -> list[str]:
    return [instruction.arguments for instruction in stage if instruction.command.upper() == command]


def test_two_stages_on_the_images_func_yaml_names() -> None:
    build, run = _stages()
    spec = _func_yaml()
    assert build[0].arguments == f"{spec['build_image']} AS build"
    assert run[0].arguments == spec["run_image"]


def test_the_build_stage_runs_the_layout_code() -> None:
    build, _ = _stages()
    assert any("-m local_runtime.layout /" in arguments for arguments in _arguments(build, "RUN"))


def test_the_run_stage_holds_only_the_two_trees_and_keeps_the_fn_contract() -> None:
    _, run = _stages()
    assert _arguments(run, "COPY") == ["--from=build /python /python", "--from=build /function /function"]
    assert _arguments(run, "ADD") == []
    assert _arguments(run, "ENV") == ["PYTHONPATH=/function:/python"]
    assert json.loads(_arguments(run, "ENTRYPOINT")[0]) == _func_yaml()["entrypoint"].split()


def test_it_runs_as_fn_with_uid_and_gid_1000_created_if_missing() -> None:
    _, run = _stages()
    assert _arguments(run, "USER") == ["1000:1000"]
    creating = " ".join(_arguments(run, "RUN"))
    assert "groupadd --system --gid 1000 fn" in creating
    assert "useradd --system --uid 1000 --gid 1000" in creating


def _ignored(relative: str) -> bool:
    """.dockerignore's rule: the last pattern matching the path, or one of its parents, decides."""
    patterns = [
        line.strip()
        for line in (PROJECT_ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    parts = Path(relative).parts
    candidates = ["/".join(parts[: index + 1]) for index in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        glob = pattern.removeprefix("!").rstrip("/")
        if any(fnmatch.fnmatch(path, glob) or fnmatch.fnmatch(path, glob.removeprefix("**/")) for path in candidates):
            ignored = not negated
    return ignored


def _build_stage_sources() -> list[str]:
    build, _ = _stages()
    sources = []
    for arguments in _arguments(build, "COPY"):
        *files, _destination = arguments.split()
        sources += [file.rstrip("/") for file in files if not file.startswith("--")]
    return sources


def test_the_build_context_holds_what_the_build_stage_copies_and_nothing_else() -> None:
    sources = _build_stage_sources()
    for source in sources:
        assert (PROJECT_ROOT / source).exists(), source
        assert not _ignored(source), f"{source} is copied by the Dockerfile but .dockerignore keeps it out"
    in_context = {path for path in _project_files() if not _ignored(path)} - {"Dockerfile"}
    copied = {path for path in in_context if any(path == source or path.startswith(source + "/") for source in sources)}
    assert in_context == copied
    assert _ignored("local_runtime/demo.py")
    assert _ignored("backup_copier/__pycache__/dispatch.cpython-311.pyc")


def _project_files() -> set[str]:
    found = set()
    for directory, folders, files in os.walk(PROJECT_ROOT):  # does not follow the .venv link
        folders[:] = [folder for folder in folders if not folder.startswith(".")]
        found |= {str((Path(directory) / name).relative_to(PROJECT_ROOT)) for name in files}
    return {path for path in found if not path.startswith(".")}


@pytest.mark.timeout(60)
def test_the_build_stage_command_needs_only_the_files_it_copies_and_the_standard_library(tmp_path: Path) -> None:
    for source in _build_stage_sources():
        origin = PROJECT_ROOT / source
        if origin.is_dir():
            shutil.copytree(origin, tmp_path / source, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (tmp_path / source).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, tmp_path / source)
    completed = subprocess.run(
        [base_interpreter(), "-S", "-m", "local_runtime.layout", "--help"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert completed.returncode == 0, completed.stderr
    assert "DEST/python and DEST/function" in completed.stdout
