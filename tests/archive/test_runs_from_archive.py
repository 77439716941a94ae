"""The unzipped archive serves the function: the fdk socket, the emulator, all three kinds, the check.

Started as a code-only runtime would start it (local_runtime/archive/run.py): the handler
`func.handler` names the file and function; only the archive's function/ and python/ are on
the path of a `-S` interpreter. `FUNCTION_UNDER_TEST=archive` runs every end-to-end test this way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from blockstorage_emulator import Emulator
from local_runtime import samples
from local_runtime.archive.run import Unzipped
from local_runtime.credentials import ResourcePrincipal
from local_runtime.fdk_process import FunctionProcess
from tests.helpers import DESTINATION_REGION, KINDS, event_for


def _environment(principal: ResourcePrincipal, emulator: Emulator) -> dict[str, str]:
    return {
        **principal.environment(),
        "DESTINATION_REGION": DESTINATION_REGION,
        "BLOCKSTORAGE_ENDPOINT": emulator.endpoint_template,
        "METRICS_ENDPOINT": emulator.metrics_endpoint_template,
        # The check lists the tenancy's compartments (for "subtree": true) through Identity.
        "IDENTITY_ENDPOINT": emulator.identity_endpoint_template,
    }


@pytest.fixture(scope="module")
def archive_process(
    unzipped_archive: Unzipped, emulator: Emulator, principal: ResourcePrincipal
) -> Iterator[FunctionProcess]:
    """One container of the archive, serving the module's calls one after another, as the Fn agent would."""
    with unzipped_archive.process(_environment(principal, emulator)) as process:
        yield process


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_is_copied_by_the_archive(
    kind: str,
    archive_process: FunctionProcess,
    unzipped_archive: Unzipped,
    emulator: Emulator,
    new_backup: Callable[..., dict[str, Any]],
) -> None:
    backup = new_backup(kind)
    answer = archive_process.invoke(event_for(kind, backup["id"]))
    assert answer.status == 200, archive_process.stderr()
    assert answer.json()["outcome"] == "copied"
    assert len(emulator.copies_of(backup["id"], DESTINATION_REGION)) == 1
    assert str(unzipped_archive.root) in " ".join(archive_process.fdk_command)


def test_the_check_is_ready_from_the_archive(archive_process: FunctionProcess, emulator: Emulator) -> None:
    answer = archive_process.invoke(samples.load("check.json"))
    assert answer.status == 200, archive_process.stderr()
    body = answer.json()
    assert body["outcome"] == "ready", [check for check in body["checks"] if not check["ok"]]
    assert not [r for r in emulator.requests if r.operation == "copy"]


def test_the_handler_names_the_file_and_the_function(
    unzipped_archive: Unzipped, emulator: Emulator, principal: ResourcePrincipal
) -> None:
    """`func.handler` is what finds the code: another file is not started, another name not served."""
    environment = _environment(principal, emulator)
    for handler, refusal in (
        ("main.handler", r"the archive has no function/main\.py"),
        ("handler", "<file>.<function>"),
    ):
        process = dataclasses.replace(unzipped_archive, handler=handler).process(environment)
        with pytest.raises(RuntimeError, match=refusal):
            process.start()
        process.stop()
    with dataclasses.replace(unzipped_archive, handler="func.no_such_function").process(environment) as process:
        answer = process.invoke(samples.load("check.json"))
    assert answer.status != 200
    assert not [r for r in emulator.requests if r.operation == "list"]
