"""OCI Functions (GetFunction, InvokeFunction) in the emulator, through the real SDK clients and signer."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from typing import Any

import oci
import pytest
from oci.functions import FunctionsInvokeClient, FunctionsManagementClient

from blockstorage_emulator import Emulator, Fault, FunctionCall
from local_runtime.credentials import ResourcePrincipal
from local_runtime.fdk_process import FnResponse, FunctionProcess
from tests.helpers import DESTINATION_REGION, SOURCE_REGION

from .support import COMPARTMENT_ID, send_raw, service_error

ULID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")


@pytest.fixture
def management(emulator: Emulator) -> FunctionsManagementClient:
    return FunctionsManagementClient(
        {"region": SOURCE_REGION},
        signer=oci.auth.signers.get_resource_principals_signer(),
        service_endpoint=emulator.functions_endpoint_template.format(region=SOURCE_REGION),
        retry_strategy=oci.retry.NoneRetryStrategy(),
    )


@pytest.fixture
def function_id(emulator: Emulator) -> str:
    return str(
        emulator.add_function(
            SOURCE_REGION, COMPARTMENT_ID, timeout_in_seconds=300, detached_mode_timeout_in_seconds=3600
        )["id"]
    )


def _invoker(management: FunctionsManagementClient, function_id: str) -> FunctionsInvokeClient:
    """Built as the function builds it: from the invoke endpoint GetFunction returns."""
    return FunctionsInvokeClient(
        {"region": SOURCE_REGION},
        signer=oci.auth.signers.get_resource_principals_signer(),
        service_endpoint=management.get_function(function_id).data.invoke_endpoint,
        retry_strategy=oci.retry.NoneRetryStrategy(),
    )


class Echo:
    """A runner that answers with what it was given; `hold` keeps it busy until released."""

    def __init__(self) -> None:
        self.hold = threading.Event()
        self.hold.set()
        self.calls: list[FunctionCall] = []

    def __call__(self, call: FunctionCall) -> FnResponse:
        self.calls.append(call)
        self.hold.wait(10)
        body = {"callId": call.call_id, "got": json.loads(call.body), "timeout": call.timeout_seconds}
        return FnResponse(200, {"Content-Type": "application/json"}, json.dumps(body).encode())


def test_get_function_is_the_sdk_model_with_its_timeouts_and_an_invoke_endpoint_back_here(
    emulator: Emulator, management: FunctionsManagementClient, function_id: str
) -> None:
    response = management.get_function(function_id)

    function = response.data
    assert isinstance(function, oci.functions.models.Function)
    assert (function.id, function.compartment_id, function.lifecycle_state) == (function_id, COMPARTMENT_ID, "ACTIVE")
    assert (function.timeout_in_seconds, function.detached_mode_timeout_in_seconds) == (300, 3600)
    assert function.invoke_endpoint == emulator.functions_invoke_endpoint_template.format(region=SOURCE_REGION)
    assert function.failure_destination.kind == "NONE"
    assert response.headers["etag"]
    [request] = emulator.requests
    # The installed SDK speaks API version 20260325; older SDKs 20181201 (both are served).
    assert (request.operation, request.method, request.path) == (
        "get_function",
        "GET",
        f"/20260325/functions/{function_id}",
    )


def test_an_unset_detached_timeout_is_absent(emulator: Emulator, management: FunctionsManagementClient) -> None:
    function_id = emulator.add_function(SOURCE_REGION, COMPARTMENT_ID)["id"]

    assert management.get_function(function_id).data.detached_mode_timeout_in_seconds is None


def test_unknown_function_other_region_and_missing_policy_all_answer_404(
    emulator: Emulator, management: FunctionsManagementClient, function_id: str
) -> None:
    elsewhere = emulator.add_function(DESTINATION_REGION, COMPARTMENT_ID)["id"]

    assert service_error(management.get_function, "ocid1.fnfunc.oc1.phx.nosuchfunction").status == 404
    assert service_error(management.get_function, elsewhere).code == "NotAuthorizedOrNotFound"
    emulator.deny("get_function")
    assert service_error(management.get_function, function_id).code == "NotAuthorizedOrNotFound"


def test_unsigned_requests_are_refused(emulator: Emulator, function_id: str) -> None:
    status, _, body = send_raw(emulator, "GET", f"/functions/{SOURCE_REGION}/20181201/functions/{function_id}")
    assert (status, body["code"]) == (401, "NotAuthenticated")
    target = f"/functions-invoke/{SOURCE_REGION}/20181201/functions/{function_id}/actions/invoke"
    status, _, body = send_raw(emulator, "POST", target, {"content-type": "application/json"}, b"{}")
    assert (status, body["code"]) == (401, "NotAuthenticated")
    assert emulator.function_invocations() == []


def test_sync_invoke_waits_and_answers_with_the_function_answer(
    emulator: Emulator, management: FunctionsManagementClient, function_id: str
) -> None:
    runner = Echo()
    emulator.serve_function(function_id, runner)

    response = _invoker(management, function_id).invoke_function(
        function_id, invoke_function_body=json.dumps({"action": "report"}), fn_invoke_type="sync", opc_request_id="abc"
    )

    answer = json.loads(response.data.content)
    assert response.status == 200
    assert answer["got"] == {"action": "report"} and answer["timeout"] == 300
    [invocation] = emulator.function_invocations(function_id)
    assert ULID.fullmatch(invocation.call_id) and answer["callId"] == invocation.call_id
    assert invocation.headers["fn-invoke-type"] == "sync"
    assert invocation.headers["authorization"] == "<redacted>"
    assert (
        invocation.opc_request_id.startswith("abc/") and response.headers["opc-request-id"] == invocation.opc_request_id
    )
    assert invocation.answer_json() == answer


def test_detached_invoke_answers_at_once_and_runs_in_the_background(
    emulator: Emulator, management: FunctionsManagementClient, function_id: str
) -> None:
    runner = Echo()
    runner.hold.clear()
    emulator.serve_function(function_id, runner)
    invoker = _invoker(management, function_id)

    responses = [
        invoker.invoke_function(function_id, invoke_function_body=json.dumps({"n": n}), fn_invoke_type="detached")
        for n in range(3)
    ]

    # Answered while every run is still held: the caller never waited for the function.
    assert [response.status for response in responses] == [202, 202, 202]
    assert not any(call.finished.is_set() for call in emulator.function_invocations())
    runner.hold.set()
    finished = emulator.wait_for_detached(timeout=10)
    assert sorted(call.answer_json()["got"]["n"] for call in finished) == [0, 1, 2]
    # Detached runs get the detached-mode timeout, not the synchronous one.
    assert {call.answer_json()["timeout"] for call in finished} == {3600}
    assert len({call.call_id for call in finished}) == 3


def test_a_failing_function_is_a_502_for_sync_callers(
    emulator: Emulator, management: FunctionsManagementClient, function_id: str
) -> None:
    emulator.serve_function(function_id, lambda call: FnResponse(502, {}, b'{"outcome": "failed"}'))

    error = service_error(_invoker(management, function_id).invoke_function, function_id, invoke_function_body="{}")

    assert (error.status, error.code) == (502, "FunctionInvokeExecutionFailed")
    [invocation] = emulator.function_invocations()
    assert invocation.status == 502 and invocation.answer_json() == {"outcome": "failed"}


def test_throttling_denial_and_bad_invoke_type_are_answered_as_oci_does(
    emulator: Emulator, management: FunctionsManagementClient, function_id: str
) -> None:
    emulator.serve_function(function_id, Echo())
    invoker = _invoker(management, function_id)
    emulator.inject(Fault(operation="invoke_function", status=429, code="TooManyRequests"))

    throttled = service_error(
        invoker.invoke_function, function_id, invoke_function_body="{}", fn_invoke_type="detached"
    )
    accepted = invoker.invoke_function(function_id, invoke_function_body="{}", fn_invoke_type="detached")
    emulator.deny("invoke_function")
    denied = service_error(invoker.invoke_function, function_id, invoke_function_body="{}", fn_invoke_type="detached")

    assert (throttled.status, throttled.code) == (429, "TooManyRequests")
    assert accepted.status == 202
    assert (denied.status, denied.code) == (404, "NotAuthorizedOrNotFound")
    emulator.allow_all()
    # The SDK sends whatever invoke type it is given; the service names the header.
    unknown = service_error(invoker.invoke_function, function_id, invoke_function_body="{}", fn_invoke_type="later")
    assert (unknown.status, unknown.code) == (400, "InvalidParameter") and "fn-invoke-type" in unknown.message
    assert [call.status for call in emulator.wait_for_detached(timeout=10)] == [202]
    statuses = [request.status for request in emulator.requests if request.operation == "invoke_function"]
    assert statuses == [429, 202, 404, 400]


@pytest.fixture
def fdk_function(principal: ResourcePrincipal, emulator: Emulator) -> Iterator[FunctionProcess]:
    environment = {
        **principal.environment(),
        "DESTINATION_REGION": DESTINATION_REGION,
        "BLOCKSTORAGE_ENDPOINT": emulator.endpoint_template,
    }
    with FunctionProcess(environment) as process:
        yield process


def test_a_detached_run_reaches_a_real_fdk_process_with_the_call_id(
    emulator: Emulator, management: FunctionsManagementClient, function_id: str, fdk_function: FunctionProcess
) -> None:
    def through_fdk(call: FunctionCall) -> Any:
        return fdk_function.invoke(call.body, call_id=call.call_id, deadline_seconds=call.timeout_seconds)

    emulator.serve_function(function_id, through_fdk)

    _invoker(management, function_id).invoke_function(
        function_id, invoke_function_body=json.dumps({"action": "no-such-action"}), fn_invoke_type="detached"
    )

    [run] = emulator.wait_for_detached(timeout=30)
    assert run.answer is not None and run.answer.status == 502
    assert run.answer_json()["reasonCode"] == "UnsupportedAction"
    assert run.answer_json()["callId"] == run.call_id
    [log_line] = [line for line in fdk_function.log_lines() if line.get("callId") == run.call_id]
    assert log_line["outcome"] == "rejected"
