"""The coordinator: one detached invocation of this very function per batch, then an answer at once.

OCI's own engine for work that outgrows one synchronous call (at most 300 s) is the detached
invocation: it answers the caller at once, runs up to the function's
detachedModeTimeoutInSeconds (5 to 3,600 s), and each runs in a container of its own. The
coordinator finds itself (FN_FN_ID, then GetFunction for the invoke endpoint, once per
container), invokes itself once per batch (each child with its share of maxCopies or maxDeletes
and its slot of the function's calls to Monitoring, budget.py) with the deadline-aware retry
strategy (a throttled invoke is tried again while time is left), and answers `fanned_out`. Before it starts any, it
builds every child's body and parses each as the child will, so no child is sent a body it
would refuse; the action's own checks (settings, regions) were made before the scope was even
expanded (request.py). A batch that could not be
started is listed in `compartmentsRemaining` with the outcome `failed`; on 404 or 403 the reason
names the statement to add. Should not a single batch start, the coordinator does not do the
whole scope itself: that is what could not fit one invocation in the first place.

Retrying an invoke whose answer was lost may start a batch twice. That is safe: a copy's retry
token and the destination lookup make the second copy request a no-op, and a deletion is
read fresh and sent with If-Match, so the second pass finds the copy gone.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..shared.call_ids import is_call_id
from ..shared.clients import FunctionsClients
from ..shared.context import Invocation
from ..shared.errors import CopierError, OwnFunctionUnknown
from ..shared.outcomes import SERVICE_FAILURES, Verdict, fan_out_verdict, verdict_for
from ..shared.own_function import OwnFunction, describe, invoke_function_statement, own_function_id
from ..shared.own_function import read_function_statement as read_statement
from ..shared.request import Budget
from ..shared.result import InvocationResult, Outcome
from ..shared.retries import MIN_ATTEMPT_SECONDS
from ..shared.settings import Settings
from .batches import batches, child_body
from .budget import metrics_slots, shares, turn_of

# The answer lists at most this many children, and this many of the compartments not started.
MAX_CHILDREN_LISTED = 100
MAX_REMAINING_LISTED = 20
UNKNOWN_COMPARTMENT = "<the function's compartment OCID>"


@dataclass(frozen=True)
class Child:
    batch: int  # 1-based, as an operator counts
    compartments: int
    opc_request_id: str | None
    # The child's part of the action's limit ({"maxCopies": 3}), empty for an action without one.
    share: Mapping[str, int]

    def to_json(self) -> dict[str, Any]:
        return {
            "batch": self.batch,
            "compartments": self.compartments,
            **self.share,
            "opcRequestId": self.opc_request_id,
        }


def fan_out(
    invocation: Invocation,
    *,
    settings: Settings,
    functions: FunctionsClients,
    region: str,
    action_body: Mapping[str, Any],
    compartment_ids: Sequence[str],
    budget: Budget | None,
    started: datetime,
    parse_child: Callable[[bytes], object],
    environ: Mapping[str, str] = os.environ,
) -> InvocationResult:
    """Start one detached child per batch of `compartment_ids`, each with its share of `budget` (which
    turns with `started`, budget.py); the answer says which started. `parse_child` is the parser each
    child will run its body through."""
    groups = batches(compartment_ids, settings.fan_out_batch)
    answer = _Answer(str(action_body.get("action")), groups, settings.fan_out_batch, budget)
    if not is_call_id(invocation.call_id):
        # Without its own call id the coordinator could not name its children, nor they it.
        return answer.failed(
            verdict_for(
                CopierError(f"the invocation's Fn call id {ascii(invocation.call_id)[:40]} cannot name its children")
            )
        )
    call_id = str(invocation.call_id)
    split = _split(budget, len(groups), turn_of(started))
    slots = metrics_slots(len(groups))
    bodies = [
        child_body(action_body, batch, call_id, share, slot)
        for batch, share, slot in zip(groups, split, slots, strict=True)
    ]
    for body in bodies:
        # Raises, before any child starts, what the child itself would answer.
        parse_child(body.encode())
    try:
        own = describe(functions, invocation, region, own_function_id(environ))
    except OwnFunctionUnknown as error:
        return answer.failed(verdict_for(error))
    except SERVICE_FAILURES as error:
        fix = read_statement(UNKNOWN_COMPARTMENT)
        return answer.failed(fan_out_verdict(error, step="read this function (GetFunction)", permission_fix=fix))
    answer.own = own
    invoker = functions.invoker(own.invoke_endpoint)
    for index, (batch, body) in enumerate(zip(groups, bodies, strict=True)):
        step = f"invoke this function detached for batch {index + 1} of {len(groups)}"
        if invocation.deadline.remaining() < MIN_ATTEMPT_SECONDS:
            return answer.failed(verdict_for(CopierError(f"{step}: no time left before the deadline")))
        try:
            response = invoker.invoke_function(
                own.function_id,
                invoke_function_body=body,
                fn_invoke_type="detached",
                opc_request_id=f"{invocation.opc_request_id}-{index + 1}",
                retry_strategy=invocation.retry_strategy,
            )
        except SERVICE_FAILURES as error:
            fix = invoke_function_statement(own.compartment_id)
            return answer.failed(fan_out_verdict(error, step=step, permission_fix=fix))
        # A detached answer carries no body worth reading; closing frees the connection.
        _close(response.data)
        answer.children.append(Child(index + 1, len(batch), response.headers.get("opc-request-id"), split[index]))
    return answer.fanned_out(call_id)


def _split(budget: Budget | None, count: int, turn: int) -> list[dict[str, int]]:
    """Each child's part of the action's limit, as the field its body carries (none for an action without one)."""
    if budget is None:
        return [{} for _ in range(count)]
    return [{budget.field: part} for part in shares(budget.total, count, turn)]


class _Answer:
    def __init__(self, action: str, groups: list[tuple[str, ...]], batch_size: int, budget: Budget | None) -> None:
        self.action = action
        self.groups = groups
        self.batch_size = batch_size
        self.budget = budget
        self.children: list[Child] = []
        self.own: OwnFunction | None = None

    def _figures(self) -> dict[str, Any]:
        figures: dict[str, Any] = {
            "action": self.action,
            # The whole-scope limit the children's shares add up to.
            **({self.budget.field: self.budget.total} if self.budget else {}),
            "compartments": sum(len(group) for group in self.groups),
            "batchSize": self.batch_size,
            "batches": len(self.groups),
            "batchesStarted": len(self.children),
            "children": [child.to_json() for child in self.children[:MAX_CHILDREN_LISTED]],
        }
        if self.own is not None:
            figures["childTimeoutSeconds"] = self.own.effective_detached_timeout
        return figures

    def fanned_out(self, call_id: str) -> InvocationResult:
        reason = (
            f"{len(self.children)} detached invocations of this function started, one per batch of at most "
            f"{self.batch_size} compartments; each logs its own line with fanOutOf = {call_id}."
        )
        return InvocationResult(Outcome.FANNED_OUT, "FannedOut", reason, extra=self._figures())

    def failed(self, verdict: Verdict) -> InvocationResult:
        remaining = [ocid for group in self.groups[len(self.children) :] for ocid in group]
        reason = verdict.reason
        if not self.children:
            reason += (
                " No batch was started, and this invocation does not do the whole scope itself: that is what does "
                "not fit one synchronous invocation."
            )
        extra = {
            **self._figures(),
            "compartmentsRemaining": {"count": len(remaining), "compartmentIds": remaining[:MAX_REMAINING_LISTED]},
        }
        return InvocationResult(Outcome.FAILED, verdict.reason_code, reason, extra=extra)


def _close(stream: Any) -> None:
    close = getattr(stream, "close", None)
    if callable(close):
        close()
