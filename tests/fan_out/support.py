"""A fanned-out run as OCI runs it: the coordinator in one fdk process, each detached child in a
container of its own, taken from a pool of fdk processes that serve one call at a time."""

from __future__ import annotations

import json
import queue
from typing import Any

from blockstorage_emulator import Emulator, FunctionCall, FunctionInvocation
from local_runtime.fdk_process import FnResponse, FunctionProcess
from tests.helpers import SOURCE_REGION, FunctionFactory

FUNCTION_ID = "ocid1.fnfunc.oc1.phx.aaaaaaaafanoutrunstests"
FUNCTION_COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaafunctioncompartment"
# Detached children get this long; the coordinator is called synchronously, as a schedule calls it.
CHILD_TIMEOUT_SECONDS = 120


class Containers:
    """The emulator's runner: each detached call goes to an idle fdk process, as OCI gives each a container."""

    def __init__(self, processes: list[FunctionProcess]) -> None:
        self._idle: queue.Queue[FunctionProcess] = queue.Queue()
        for process in processes:
            self._idle.put(process)
        self.processes = processes

    def __call__(self, call: FunctionCall) -> FnResponse:
        process = self._idle.get()
        try:
            return process.invoke(call.body, call_id=call.call_id, deadline_seconds=call.timeout_seconds)
        finally:
            self._idle.put(process)

    def log_lines(self) -> list[dict[str, Any]]:
        return [line for process in self.processes for line in process.log_lines()]


def fan_out_settings(emulator: Emulator, batch: int) -> dict[str, str]:
    emulator.add_function(
        SOURCE_REGION,
        FUNCTION_COMPARTMENT,
        function_id=FUNCTION_ID,
        timeout_in_seconds=300,
        detached_mode_timeout_in_seconds=CHILD_TIMEOUT_SECONDS,
    )
    return {
        "FAN_OUT": "on",
        "FAN_OUT_BATCH": str(batch),
        "FUNCTIONS_ENDPOINT": emulator.functions_endpoint_template,
        "FN_FN_ID": FUNCTION_ID,
    }


def containers(emulator: Emulator, function: FunctionFactory, count: int = 2) -> Containers:
    """`count` child containers, serving the function's detached calls from now on.

    A child never fans out, so its batch size does not matter: every test shares these processes.
    """
    settings = fan_out_settings(emulator, batch=2)
    # CONTAINER is no setting of the function: it only keeps the fixture from reusing one process.
    pool = Containers([function(**settings, CONTAINER=str(number)) for number in range(count)])
    emulator.serve_function(FUNCTION_ID, pool)
    return pool


def invoke(process: FunctionProcess, body: dict[str, Any], deadline: float = 60.0) -> dict[str, Any]:
    answer = process.invoke(body, deadline_seconds=deadline)
    result: dict[str, Any] = answer.json()
    assert answer.status == (502 if result["outcome"] in ("failed", "rejected") else 200), result
    return result


def children(emulator: Emulator, timeout: float = 120.0) -> list[dict[str, Any]]:
    """Every child's answer, once all have finished; a child that did not answer fails the test."""
    runs: list[FunctionInvocation] = emulator.wait_for_detached(timeout)
    assert all(run.answer is not None for run in runs), [run.error for run in runs if run.answer is None]
    return [json.loads(run.answer.body) for run in runs if run.answer is not None]
