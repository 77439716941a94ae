"""The coordinator in process, with the real SDK and signer against the emulator's Functions service.

The children here are answered by a recording runner: what they do once started is the
actions' business, tested through the fdk socket; this is about starting them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import oci
import pytest

from backup_copier.dispatch import parse_request
from backup_copier.fan_out.coordinator import fan_out
from backup_copier.shared.clients import FunctionsClients
from backup_copier.shared.context import Invocation
from backup_copier.shared.deadline import Deadline
from backup_copier.shared.errors import InvalidRequest
from backup_copier.shared.request import ActionRequest
from backup_copier.shared.result import InvocationResult, Outcome
from backup_copier.shared.retries import AttemptLog
from backup_copier.shared.settings import load_settings
from blockstorage_emulator import Emulator, Fault
from blockstorage_emulator.functions import new_call_id
from local_runtime.credentials import ResourcePrincipal
from local_runtime.fdk_process import FnResponse
from tests.helpers import COMPARTMENT_ID, DESTINATION_REGION, SOURCE_REGION

FUNCTION_COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaafunctioncompartment"
STARTED = datetime(2026, 1, 1, 0, 17, tzinfo=UTC)
BODY = {"action": "reconcile", "subtree": True, "compartmentId": COMPARTMENT_ID, "dryRun": True, "sinceHours": 48}


def compartments(count: int) -> list[str]:
    return [f"ocid1.compartment.oc1..aaaaaaaafanout{index:05d}" for index in range(count)]


@pytest.fixture
def coordinate(
    emulator: Emulator, principal: ResourcePrincipal, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., InvocationResult]:
    """coordinate(ids, **settings) runs the coordinator as the function's container would."""
    for name, value in principal.environment().items():
        monkeypatch.setenv(name, value)
    function = emulator.add_function(SOURCE_REGION, FUNCTION_COMPARTMENT, detached_mode_timeout_in_seconds=3600)
    emulator.serve_function(function["id"], lambda call: FnResponse(200, {}, b'{"outcome": "reported"}'))
    emulator.clear_function_invocations()

    def run(
        ids: list[str],
        *,
        function_id: str | None = function["id"],
        seconds: float = 30,
        body: dict[str, Any] = BODY,
        started: datetime = STARTED,
        parse_child: Callable[[bytes], object] = parse_request,
        **settings: str,
    ) -> InvocationResult:
        loaded = load_settings(
            {
                "DESTINATION_REGION": DESTINATION_REGION,
                "FUNCTIONS_ENDPOINT": emulator.functions_endpoint_template,
                **settings,
            }
        )
        clients = FunctionsClients(loaded, oci.auth.signers.get_resource_principals_signer())
        invocation = Invocation(new_call_id(), Deadline(seconds), AttemptLog())
        request = parse_request(json.dumps(body).encode())
        assert isinstance(request, ActionRequest)
        result = fan_out(
            invocation,
            settings=loaded,
            functions=clients,
            region=SOURCE_REGION,
            action_body=body,
            compartment_ids=ids,
            budget=request.budget,
            started=started,
            parse_child=parse_child,
            environ={"FN_FN_ID": function_id} if function_id else {},
        )
        result.call_id = invocation.call_id
        result.retries = invocation.attempts.retries
        return result

    return run


def _bodies(emulator: Emulator) -> list[dict[str, Any]]:
    return [json.loads(call.body) for call in emulator.function_invocations()]


def test_each_batch_becomes_one_detached_child_with_the_same_action(
    emulator: Emulator, coordinate: Callable[..., InvocationResult]
) -> None:
    ids = compartments(250)

    result = coordinate(ids, FAN_OUT_BATCH="100")

    answer = result.to_json()
    assert (result.outcome, result.http_status) == (Outcome.FANNED_OUT, 200)
    assert (answer["batches"], answer["batchesStarted"], answer["compartments"]) == (3, 3, 250)
    assert [child["compartments"] for child in answer["children"]] == [100, 100, 50]
    invocations = emulator.function_invocations()
    assert [call.invoke_type for call in invocations] == ["detached"] * 3
    assert [child["opcRequestId"] for child in answer["children"]] == [call.opc_request_id for call in invocations]
    bodies = _bodies(emulator)
    assert [id for body in bodies for id in body["compartmentIds"]] == ids
    for body in bodies:
        # The action as sent, its scope replaced by the batch, its limits by shares, and the coordinator named.
        assert body.keys() == {
            "action",
            "dryRun",
            "sinceHours",
            "maxCopies",
            "compartmentIds",
            "metricsSlot",
            "fanOutOf",
        }
        assert (body["action"], body["dryRun"], body["sinceHours"]) == ("reconcile", True, 48)
        assert body["fanOutOf"] == result.call_id
    # The function's calls to Monitoring: one slot of three each, together all of them.
    assert [body["metricsSlot"] for body in bodies] == [{"slot": index, "of": 3} for index in range(3)]
    # The default maxCopies (10), over three children: never more in all.
    assert sorted(body["maxCopies"] for body in bodies) == [3, 3, 4]
    assert [child["maxCopies"] for child in answer["children"]] == [body["maxCopies"] for body in bodies]
    assert answer["maxCopies"] == 10
    assert answer["childTimeoutSeconds"] == 3600


def test_the_answer_lists_at_most_a_hundred_children(
    emulator: Emulator, coordinate: Callable[..., InvocationResult]
) -> None:
    answer = coordinate(compartments(101), FAN_OUT_BATCH="1").to_json()

    assert (answer["batches"], answer["batchesStarted"], len(answer["children"])) == (101, 101, 100)
    assert len(emulator.function_invocations()) == 101


def test_a_throttled_invoke_is_retried_and_then_accepted(
    emulator: Emulator, coordinate: Callable[..., InvocationResult]
) -> None:
    emulator.inject(Fault(operation="invoke_function", status=429, code="TooManyRequests", count=2))

    result = coordinate(compartments(20), FAN_OUT_BATCH="10")

    assert result.outcome == Outcome.FANNED_OUT and result.retries == 2
    statuses = [request.status for request in emulator.requests if request.operation == "invoke_function"]
    assert statuses == [429, 429, 202, 202]
    assert len(emulator.function_invocations()) == 2


def test_invoke_denied_fails_naming_the_statement_and_starts_nothing(
    emulator: Emulator, coordinate: Callable[..., InvocationResult]
) -> None:
    emulator.deny("invoke_function")
    ids = compartments(30)

    result = coordinate(ids, FAN_OUT_BATCH="10")

    answer = result.to_json()
    assert (result.outcome, result.reason_code) == (Outcome.FAILED, "NotAuthorizedOrNotFound")
    assert f"to use fn-invocation in compartment id {FUNCTION_COMPARTMENT}" in answer["reason"]
    assert "does not do the whole scope itself" in answer["reason"]
    assert answer["compartmentsRemaining"] == {"count": 30, "compartmentIds": ids[:20]}
    assert answer["batchesStarted"] == 0 and emulator.function_invocations() == []


def test_get_function_denied_fails_naming_read_fn_function(
    emulator: Emulator, coordinate: Callable[..., InvocationResult]
) -> None:
    emulator.deny("get_function")

    answer = coordinate(compartments(5), FAN_OUT_BATCH="2").to_json()

    assert answer["outcome"] == "failed" and "to read fn-function in compartment" in answer["reason"]
    assert answer["compartmentsRemaining"]["count"] == 5


def test_an_invoke_failing_until_the_deadline_leaves_every_batch_remaining(
    emulator: Emulator, coordinate: Callable[..., InvocationResult]
) -> None:
    ids = compartments(6)
    emulator.inject(Fault(operation="invoke_function", status=503, count=1000))

    failed = coordinate(ids, FAN_OUT_BATCH="2", seconds=4.0).to_json()

    assert (failed["outcome"], failed["reasonCode"]) == ("failed", "ServiceUnavailable")
    assert "Still failing after" in failed["reason"]
    assert failed["compartmentsRemaining"] == {"count": 6, "compartmentIds": ids}
    assert emulator.function_invocations() == []


@pytest.mark.parametrize("function_id", [None, "ocid1.instance.oc1.phx.aaaa", "ocid1.fnfunc.oc1.phx.a/../b"])
def test_without_a_well_formed_fn_fn_id_nothing_is_sent(
    emulator: Emulator, coordinate: Callable[..., InvocationResult], function_id: str | None
) -> None:
    answer = coordinate(compartments(3), function_id=function_id).to_json()

    assert (answer["outcome"], answer["reasonCode"]) == ("failed", "OwnFunctionUnknown")
    assert "FN_FN_ID" in answer["reason"]
    assert [request for request in emulator.requests if request.operation.endswith("function")] == []


def test_a_limit_smaller_than_the_batches_is_shared_and_never_multiplied(
    emulator: Emulator, coordinate: Callable[..., InvocationResult]
) -> None:
    """Issue 22, finding 3: eleven children of maxDeletes 5 may delete five copies in all, not 55."""
    body = {"action": "expire", "compartmentId": COMPARTMENT_ID, "subtree": True, "maxDeletes": 5}

    answer = coordinate(compartments(11), FAN_OUT_BATCH="1", body=body).to_json()

    bodies = _bodies(emulator)
    assert sorted(child["maxDeletes"] for child in bodies) == [0] * 6 + [1] * 5
    assert [child["maxDeletes"] for child in answer["children"]] == [child["maxDeletes"] for child in bodies]
    assert answer["maxDeletes"] == 5
    # A share of 0 is a body a child accepts: it reads and counts, and deletes nothing.
    for child in bodies:
        request = parse_request(json.dumps(child).encode())
        assert isinstance(request, ActionRequest) and request.budget is not None
        assert request.budget.total == child["maxDeletes"]


def test_the_larger_shares_pass_on_with_the_next_hours_run(
    emulator: Emulator, coordinate: Callable[..., InvocationResult]
) -> None:
    body = {"action": "reconcile", "compartmentIds": compartments(11), "maxCopies": 5}
    served: list[set[int]] = []
    for hour in range(3):
        emulator.clear_function_invocations()
        coordinate(compartments(11), FAN_OUT_BATCH="1", body=body, started=STARTED + timedelta(hours=hour))
        served.append({index for index, child in enumerate(_bodies(emulator)) if child["maxCopies"]})

    assert all(len(batches) == 5 for batches in served)
    # Each hour's batches follow on from the last hour's: three hours serve all eleven.
    assert served[0].isdisjoint(served[1]) and set().union(*served) == set(range(11))


def test_a_child_body_a_child_would_refuse_starts_no_child(
    emulator: Emulator, coordinate: Callable[..., InvocationResult]
) -> None:
    """Every body is parsed as its child will parse it before the first child starts."""
    seen: list[bytes] = []

    def refuse_the_third(body: bytes) -> object:
        seen.append(body)
        if len(seen) == 3:
            raise InvalidRequest("compartmentIds", "refused as a child would refuse it")
        return parse_request(body)

    with pytest.raises(InvalidRequest):
        coordinate(compartments(5), FAN_OUT_BATCH="1", parse_child=refuse_the_third)

    assert len(seen) == 3
    assert emulator.function_invocations() == []
    assert [request for request in emulator.requests if request.operation.endswith("function")] == []
