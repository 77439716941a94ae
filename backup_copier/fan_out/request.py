"""Which reconcile, expire or report a coordinator splits, and which it runs in place.

dispatch.py wraps every one of those actions that is not itself a child (no `fanOutOf`) in a
Coordinated request. With FAN_OUT=off (the default), or a scope that turns out to hold one
compartment, the action runs in place exactly as before. With FAN_OUT=on and more than one
compartment in scope (`subtree` or `compartmentIds`), the coordinator expands the scope
(Identity, as the action itself would) and starts one detached child per batch instead
(coordinator.py). A compartment whose children could not be listed is named in the answer, as
the action would name it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..backups.compartments import compartments_in
from ..backups.per_compartment import ScopeProgress
from ..shared import runtime
from ..shared.context import Invocation
from ..shared.request import Request
from ..shared.result import InvocationResult, Outcome
from ..shared.scope import Scope
from .coordinator import fan_out


@dataclass
class Coordinated(Request):
    inner: Request
    # The body as sent (without fanOutOf, which a coordinated request never has).
    action_body: Mapping[str, Any]

    def execute(self, invocation: Invocation) -> InvocationResult:
        container = runtime.container()
        scope: Scope | None = getattr(self.inner, "scope", None)
        region = container.clients.home_region
        if not container.settings.fan_out or scope is None or scope.single or not region:
            return self.inner.execute(invocation)
        progress = ScopeProgress()
        compartments = compartments_in(scope, container.identity, region, container.workers, invocation, progress)
        if len(compartments) <= 1:
            # Nothing to split: the action reads its one compartment (or names why it cannot).
            return self.inner.execute(invocation)
        result = fan_out(
            invocation,
            settings=container.settings,
            functions=container.functions,
            region=region,
            action_body=self.action_body,
            compartment_ids=compartments,
        )
        _with_listing(result, progress)
        return result

    def answer_failure(self, error: BaseException) -> InvocationResult:
        return self.inner.answer_failure(error)


def _with_listing(result: InvocationResult, progress: ScopeProgress) -> None:
    """Compartments whose subtree could not be listed are named, as the action itself names them."""
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
