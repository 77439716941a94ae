"""Shared fixtures: generated resource-principal credentials, the emulator, fdk processes.

Every fdk process runs the function as the image holds it (local_runtime/layout): the
layout's python tree, cached between sessions, and a fresh compiled copy of the work tree's
code, built when the session first starts a process. FUNCTION_UNDER_TEST=worktree runs the
work tree with this virtual environment's packages instead; FUNCTION_UNDER_TEST=archive runs
the unzipped code-only archive (`make archive`), started as local_runtime/archive/run.py says.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from blockstorage_emulator import Emulator
from local_runtime.archive.build import build_archive
from local_runtime.archive.run import Unzipped, unzip
from local_runtime.archive.target import parse_target
from local_runtime.credentials import ResourcePrincipal, issue_resource_principal
from local_runtime.fdk_process import FunctionProcess, Runtime, set_default_runtime
from local_runtime.layout.run import LaidOut, lay_out_current_code
from tests.helpers import (
    COMPARTMENT_ID,
    DESTINATION_REGION,
    PROJECT_ROOT,
    SOURCE_REGION,
    FunctionFactory,
    reset_emulator,
)

_LAYOUT_SCRATCH = Path(tempfile.mkdtemp(prefix="bc-layout-"))


@functools.cache
def _image_layout() -> LaidOut:
    return lay_out_current_code(PROJECT_ROOT, _LAYOUT_SCRATCH)


def _image_runtime() -> Runtime:
    return _image_layout().runtime()


@functools.cache
def _code_only_archive() -> Path:
    """This machine's code-only archive, built as `make archive` builds it, from the session's layout."""
    target = parse_target(PROJECT_ROOT, None, None)
    dist = _LAYOUT_SCRATCH / "dist"
    return build_archive(PROJECT_ROOT, dist, target, checked_function_dir=_image_layout().function_dir).path


@functools.cache
def _unzipped_archive() -> Unzipped:
    return unzip(_code_only_archive(), _LAYOUT_SCRATCH / "unzipped")


def pytest_configure(config: pytest.Config) -> None:
    under_test = os.environ.get("FUNCTION_UNDER_TEST", "layout")
    if under_test == "layout":
        set_default_runtime(_image_runtime)
    elif under_test == "archive":  # every end-to-end test, run as a code-only runtime would start the archive
        set_default_runtime(lambda: _unzipped_archive().runtime())


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_LAYOUT_SCRATCH, ignore_errors=True)


@pytest.fixture(scope="session")
def principal(tmp_path_factory: pytest.TempPathFactory) -> ResourcePrincipal:
    return issue_resource_principal(tmp_path_factory.mktemp("rp"), SOURCE_REGION)


@pytest.fixture(scope="session")
def emulator(principal: ResourcePrincipal) -> Iterator[Emulator]:
    with Emulator() as running:
        running.trust(principal.token, principal.public_key_pem)
        yield running


@pytest.fixture(autouse=True)
def _clean_emulator(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test starts with no recorded requests, faults, denials, copies in flight or restored volumes.

    Copies left CREATING by earlier tests would count against the copy limit.
    """
    if "emulator" not in request.fixturenames:
        yield
        return
    running: Emulator = request.getfixturevalue("emulator")
    reset_emulator(running)
    yield
    running.copy_limit = 10


@pytest.fixture(scope="session")
def function(emulator: Emulator, principal: ResourcePrincipal) -> Iterator[FunctionFactory]:
    """function(**settings) -> a running fdk process with those settings; reused per settings."""
    running: dict[str, FunctionProcess] = {}

    def start(**settings: str) -> FunctionProcess:
        environment = {
            **principal.environment(),
            "DESTINATION_REGION": DESTINATION_REGION,
            "BLOCKSTORAGE_ENDPOINT": emulator.endpoint_template,
            "METRICS_ENDPOINT": emulator.metrics_endpoint_template,
            "IDENTITY_ENDPOINT": emulator.identity_endpoint_template,
            **settings,
        }
        environment = {key: value for key, value in environment.items() if value is not None}
        key = json.dumps(environment, sort_keys=True)
        process = running.get(key)
        if process is None or not process.alive():
            process = running[key] = FunctionProcess(environment).start()
        return process

    yield start
    FunctionProcess.stop_all(list(running.values()))


@pytest.fixture
def new_backup(emulator: Emulator) -> Callable[..., dict[str, Any]]:
    def add(kind: str = "volume", **options: Any) -> dict[str, Any]:
        options.setdefault("display_name", f"{kind}-backup")
        return emulator.add_backup(kind, SOURCE_REGION, COMPARTMENT_ID, **options)

    return add


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def code_only_archive() -> Path:
    """dist/backup-copier-<version>-py3.11-x86.zip, as `make archive` writes it (in a scratch folder)."""
    return _code_only_archive()


@pytest.fixture(scope="session")
def unzipped_archive() -> Unzipped:
    """The code-only archive for this machine's Python (func.yaml's 3.11), unzipped."""
    return _unzipped_archive()


@pytest.fixture(scope="session")
def laid_out() -> LaidOut:
    """The function as the image holds it: /python (cached) and /function (this work tree's code)."""
    return _image_layout()
