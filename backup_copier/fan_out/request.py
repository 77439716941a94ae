"""Which reconcile, expire or report a coordinator splits, and which it runs in place.

dispatch.py wraps every one of those actions that is not itself a child (no `fanOutOf`) in a
Coordinated request. First come the action's own checks (ActionRequest.check: settings,
regions), whatever FAN_OUT says, so a body every child would refuse is refused here, answered
as the action answers it, and nothing is read or started. With FAN_OUT=off (the default), or a
scope that turns out to hold one compartment, the action then runs in place exactly as before.
With FAN_OUT=on and more than one compartment in scope (`subtree` or `compartmentIds`), the
coordinator expands the scope (Identity, as the action itself would) and starts one detached
child per batch instead, each with its share of the action's maxCopies or maxDeletes and its
slot of the function's calls to Monitoring (coordinator.py, budget.py). A compartment whose children could not be listed is named in the
answer, as the action would name it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..backups.compartments import compartments_in
from ..backups.per_compartment import ScopeProgress
from ..shared import runtime
from ..shared.context import Invocation
from ..shared.request import ActionRequest, Request
from ..shared.result import InvocationResult, Outcome
from .coordinator import fan_out


@dataclass
class Coordinated(Request):
    inner: ActionRequest
    # The body as sent (without fanOutOf, which a coordinated request never has).
    action_body: Mapping[str, Any]
    # dispatch.parse_request: what each child does with its body, done here first.
    parse_child: Callable[[bytes], object]

    def execute(self, invocation: Invocation) -> InvocationResult:
        started = datetime.now(UTC)
        container = runtime.container()
        checked = self.inner.check(container)
        scope = self.inner.scope
        if not container.settings.fan_out or scope.single:
            return self.inner.run(invocation, checked)
        progress = ScopeProgress()
        compartments = compartments_in(
            scope, container.identity, checked.home_region, container.workers, invocation, progress
        )
        if len(compartments) <= 1:
            # Nothing to split: the action reads its one compartment (or names why it cannot).
            return self.inner.run(invocation, checked)
        result = fan_out(
            invocation,
            settings=container.settings,
            functions=container.functions,
            region=checked.home_region,
            action_body=self.action_body,
            compartment_ids=compartments,
            budget=self.inner.budget,
            started=started,
            parse_child=self.parse_child,
        )
        _with_listing(result, progress)
        return result

    def answer_failure(self, error: BaseException) -> InvocationResult:
        return self.inner.answer_failure(error)


def _with_listing(result: InvocationResult, progress: ScopeProgress) -> None:
    """Compartments whose subtree could not be listed are named, as the action itself names them;
    so are the listing's items that were no compartment, each a compartment no child was given."""
    if progress.malformed.count:
        result.extra["malformedItems"] = progress.malformed.to_json()
    if progress.complete:
        return
    listing = progress.to_json()
    result.extra["compartmentsFailed"] = listing["compartmentsFailed"]
    result.extra["compartmentsFailedCount"] = listing["compartmentsFailedCount"]
    not_started = result.extra.get("compartmentsRemaining", {"count": 0, "compartmentIds": []})
    result.extra["compartmentsRemaining"] = {
        "count": not_started["count"] + len(progress.remaining),
        "compartmentIds": (not_started["compartmentIds"] + progress.remaining)[:20],
    }
    verdict = progress.incomplete_verdict()
    if verdict is not None and result.outcome == Outcome.FANNED_OUT:
        result.reason = f"{result.reason} Not split, so not run: {verdict[1]}"
