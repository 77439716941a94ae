"""The compartments a scope covers: its list, or a compartment and every ACTIVE one below it.

Read through Identity's ListCompartments, page by page, as lean records (lean_listing.py):
- on the tenancy, one paged listing with compartmentIdInSubtree=true and accessLevel=ANY, the
  only place Oracle allows the subtree flag;
- below it, breadth first, each level's children listed in the worker pool at once.
A compartment created next month is found by the next run: nothing is configured per compartment.
INACTIVE and DELETED compartments hold nothing to copy, expire or report, and are left out.
An item of a listing that is not a compartment record is counted and named in the answer
(ScopeProgress.malformed); the compartment it stood for is not read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..shared.clients import IdentityClients
from ..shared.context import Invocation
from ..shared.errors import ScopeUnreadable
from ..shared.outcomes import SERVICE_FAILURES, verdict_for
from ..shared.scope import Scope
from ..shared.workers import Workers
from .lean_listing import MalformedItems, compartment_records
from .listing import OutOfTime
from .per_compartment import ScopeProgress, Step, read_each

ACTIVE = "ACTIVE"

# The grant ListCompartments needs (Oracle, "Details for IAM": inspect compartments).
INSPECT_COMPARTMENTS = "Allow dynamic-group <function dynamic group> to inspect compartments in tenancy"


def compartments_in(
    scope: Scope,
    identity: IdentityClients,
    region: str,
    workers: Workers,
    invocation: Invocation,
    progress: ScopeProgress,
) -> list[str]:
    """Every compartment `scope` covers. A compartment whose children could not be listed is
    recorded in `progress` as failed (its subtree is unknown, so it is not read either).

    A refused listing of the tenancy itself raises: with no compartment known, there is no run.
    """
    if not scope.subtree:
        return list(scope.compartment_ids)
    client_for = identity.for_region
    root = scope.compartment_ids[0]
    if scope.is_tenancy:
        try:
            listed = sorted(
                _children(client_for(region), invocation, region, root, progress.malformed, in_subtree=True)
            )
        except SERVICE_FAILURES as error:
            verdict = verdict_for(error, action="list the tenancy's compartments", region=region)
            raise ScopeUnreadable(
                verdict.reason_code or "ServiceError",
                f"{verdict.reason} A tenancy-wide run needs: {INSPECT_COMPARTMENTS}",
            ) from None
        except OutOfTime:
            raise ScopeUnreadable(
                "DeadlineReached",
                "the timeout came before the tenancy's compartments were listed, so nothing was read; raise the "
                "function's timeout (fn update function <app> <function> --timeout 300)",
            ) from None
        return [root, *listed]
    found = [root]
    level = [root]
    while level:

        def children(compartment_id: str, step: Step) -> tuple[list[str], MalformedItems]:
            step.doing("list the child compartments", region)
            malformed = MalformedItems()
            client = client_for(region)
            return sorted(_children(client, invocation, region, compartment_id, malformed, in_subtree=False)), malformed

        next_level: list[str] = []
        listing = ScopeProgress()
        for _, (kids, malformed) in sorted(
            read_each(level, children, workers, invocation, listing), key=lambda pair: pair[0]
        ):
            next_level += kids
            progress.malformed.absorb(malformed)
        for failure in listing.failed:
            found.remove(failure.compartment_id)
            progress.fail(failure.compartment_id, failure.reason_code, failure.reason)
        for compartment_id in listing.remaining:
            found.remove(compartment_id)
            progress.leave(compartment_id)
        found += next_level
        level = next_level
    return found


def _children(
    client: Any,
    invocation: Invocation,
    region: str,
    compartment_id: str,
    malformed: MalformedItems,
    *,
    in_subtree: bool,
) -> Iterator[str]:
    filters: dict[str, Any] = {"access_level": "ANY", "lifecycle_state": ACTIVE}
    if in_subtree:
        filters["compartment_id_in_subtree"] = True
    for compartment in compartment_records(client, invocation, region, compartment_id, malformed, **filters):
        # The filter is asked for, and checked: a compartment being deleted holds nothing to read.
        if compartment.lifecycle_state == ACTIVE:
            yield compartment.id
