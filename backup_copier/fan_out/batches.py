"""How a scope is split: batches of compartments, and the body each child receives.

A child's body is the coordinator's action as sent, its scope replaced by one batch
(`compartmentIds`), its whole-scope limit (maxCopies, maxDeletes) by its share (budget.py), its
slot of the function's calls to Monitoring (`metricsSlot`, budget.py), and `fanOutOf` naming the
coordinator's call id: the child runs it in place, never fans out again, and logs `fanOutOf`, so
one search finds the whole family.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..shared.metrics import PostingSlot

# The fields that say what a body covers; a child's batch replaces them all.
SCOPE_FIELDS = frozenset({"compartmentId", "compartmentIds", "subtree"})


def batches(compartment_ids: Sequence[str], size: int) -> list[tuple[str, ...]]:
    """In order, `size` at a time; the last batch holds what is left."""
    if size < 1:
        raise ValueError("a batch holds at least one compartment")
    return [tuple(compartment_ids[start : start + size]) for start in range(0, len(compartment_ids), size)]


def child_body(
    action_body: Mapping[str, Any],
    batch: Sequence[str],
    coordinator_call_id: str,
    share: Mapping[str, int],
    metrics_slot: PostingSlot,
) -> str:
    """`share` is the child's part of the action's limit ({"maxCopies": 3}), empty for an action without one."""
    body = {key: value for key, value in action_body.items() if key not in SCOPE_FIELDS}
    body.update(share)
    body["compartmentIds"] = list(batch)
    body["metricsSlot"] = metrics_slot.to_json()
    body["fanOutOf"] = coordinator_call_id
    return json.dumps(body, separators=(",", ":"))
