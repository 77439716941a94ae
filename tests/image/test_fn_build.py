"""The function as `fn build` packages it: with the Dockerfile (the layout) and without it (the fallback).

A runtime import missing from requirements.txt, or a module the image does not get,
fails here instead of at deploy time. Both run with the base interpreter and `-S`, so this
virtual environment's packages cannot hide a missing one.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from blockstorage_emulator import Emulator
from local_runtime.credentials import ResourcePrincipal
from local_runtime.fdk_process import FunctionProcess
from local_runtime.fn_build import installed_requirements, lay_out_function
from local_runtime.layout.run import LaidOut
from tests.helpers import DESTINATION_REGION, event_for


def _func_yaml(project_root: Path) -> dict[str, str]:
    lines = (project_root / "func.yaml").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if ": " in line and not line.startswith("#"))


def test_func_yaml_is_what_fn_init_writes_for_python_3_11(project_root: Path) -> None:
    spec = _func_yaml(project_root)
    assert spec["schema_version"] == "20180708"
    assert spec["runtime"] == "python"
    assert spec["build_image"] == "fnproject/python:3.11-dev"
    assert spec["run_image"] == "fnproject/python:3.11"
    assert spec["entrypoint"] == "/python/bin/fdk /function/func.py handler"
    assert 0 < int(spec["timeout"]) <= 300
    assert sys.version_info[:2] == (3, 11), "the interpreter tested must be the one deployed"


def _environment(principal: ResourcePrincipal, emulator: Emulator) -> dict[str, str]:
    return {
        **principal.environment(),
        "DESTINATION_REGION": DESTINATION_REGION,
        "BLOCKSTORAGE_ENDPOINT": emulator.endpoint_template,
    }


def test_function_runs_from_the_image_layout(
    laid_out: LaidOut,
    emulator: Emulator,
    principal: ResourcePrincipal,
    new_backup: Callable[..., dict[str, Any]],
) -> None:
    """What the Dockerfile builds: `make layout`'s python and function trees."""
    backup = new_backup("boot_volume")
    with laid_out.process(_environment(principal, emulator)) as process:
        answer = process.invoke(event_for("boot_volume", backup["id"]))
    assert answer.status == 200, process.stderr()
    assert answer.json()["outcome"] == "copied"
    assert len(emulator.copies_of(backup["id"], DESTINATION_REGION)) == 1
    assert str(laid_out.python_dir) in process.fdk_command[-1]


@pytest.mark.timeout(600)
def test_function_runs_from_the_plain_fn_build_it_falls_back_to(
    tmp_path: Path,
    project_root: Path,
    emulator: Emulator,
    principal: ResourcePrincipal,
    new_backup: Callable[..., dict[str, Any]],
) -> None:
    """Without the Dockerfile, `fn build` installs requirements.txt whole and copies the folder to /function."""
    python_dir = installed_requirements(project_root / "requirements.txt")
    function_dir = lay_out_function(project_root, tmp_path)
    base_python = getattr(sys, "_base_executable", sys.executable)
    backup = new_backup("boot_volume")
    with FunctionProcess(
        _environment(principal, emulator),
        function_dir=function_dir,
        python_path=[function_dir, python_dir],
        fdk_command=[base_python, "-S", str(python_dir / "bin" / "fdk")],
    ) as process:
        answer = process.invoke(event_for("boot_volume", backup["id"]))
    assert answer.status == 200, process.stderr()
    assert answer.json()["outcome"] == "copied"
    assert len(emulator.copies_of(backup["id"], DESTINATION_REGION)) == 1
