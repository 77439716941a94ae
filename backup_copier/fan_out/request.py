"""Which reconcile, expire or report a coordinator splits, and which it runs in place.

dispatch.py wraps every one of those actions that is not itself a child (no `fanOutOf`) in a
Coordinated request. With FAN_OUT=off (the default), or a scope of one compartment, the action
runs in place exactly as before; with FAN_OUT=on and more than one compartment in scope, the
coordinator (coordinator.py) starts one detached child per batch instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..shared import runtime
from ..shared.context import Invocation
from ..shared.request import Request
from ..shared.result import InvocationResult
from .coordinator import fan_out


@dataclass
class Coordinated(Request):
    inner: Request
    # The body as sent (without fanOutOf, which a coordinated request never has).
    action_body: Mapping[str, Any]

    def execute(self, invocation: Invocation) -> InvocationResult:
        container = runtime.container()
        if not container.settings.fan_out:
            return self.inner.execute(invocation)
        compartment_ids = scope_of(self.inner)
        region = container.clients.home_region
        if len(compartment_ids) <= 1 or not region:
            return self.inner.execute(invocation)
        return fan_out(
            invocation,
            settings=container.settings,
            functions=container.functions,
            region=region,
            action_body=self.action_body,
            compartment_ids=compartment_ids,
        )

    def answer_failure(self, error: BaseException) -> InvocationResult:
        return self.inner.answer_failure(error)


def scope_of(request: Request) -> Sequence[str]:
    """The compartments the action covers: its `compartmentIds`, else its one compartment."""
    listed = getattr(request, "compartment_ids", None)
    if listed:
        return tuple(listed)
    single = getattr(request, "compartment_id", None)
    return (single,) if single else ()
