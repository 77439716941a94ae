"""The tree of compartments the tenancy-wide tests read, and the two ways they run an action over it:
through the fdk socket, or in this process (to swap a piece of the pass)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from backup_copier.dispatch import parse_request
from backup_copier.shared import runtime
from backup_copier.shared.context import Invocation
from backup_copier.shared.deadline import Deadline
from backup_copier.shared.request import ActionRequest
from backup_copier.shared.retries import AttemptLog
from blockstorage_emulator import Emulator
from local_runtime.credentials import ResourcePrincipal
from local_runtime.fdk_process import FunctionProcess
from tests.helpers import DESTINATION_REGION, NOW, seed_backup, seed_copy


@dataclass
class Tree:
    root: str
    active: list[str]
    # INACTIVE and DELETED compartments: nothing in them is read, copied or deleted.
    gone: list[str]
    # Per compartment: a source backup without a copy, and a marked copy past its expiry.
    missing: dict[str, dict[str, Any]] = field(default_factory=dict)
    expired: dict[str, dict[str, Any]] = field(default_factory=dict)
    # A newer marked copy of the expired copy's volume, so keep-last does not protect the old one.
    newer: dict[str, dict[str, Any]] = field(default_factory=dict)


def _tree(emulator: Emulator) -> Tree:
    """root -> a1 -> b1 -> c1 -> d1, root -> a2; a1 -> b2 (INACTIVE); a2 -> b3 (DELETED)."""
    root = emulator.add_compartment(emulator.tenancy_id, f"root-{uuid.uuid4().hex[:8]}")
    a1 = emulator.add_compartment(root, "a1")
    a2 = emulator.add_compartment(root, "a2")
    b1 = emulator.add_compartment(a1, "b1")
    c1 = emulator.add_compartment(b1, "c1")
    d1 = emulator.add_compartment(c1, "d1")
    b2 = emulator.add_compartment(a1, "b2", lifecycle_state="INACTIVE")
    b3 = emulator.add_compartment(a2, "b3", lifecycle_state="DELETED")
    tree = Tree(root, [root, a1, a2, b1, c1, d1], [b2, b3])
    for position, compartment in enumerate(tree.active + tree.gone):
        tree.missing[compartment] = seed_backup(emulator, compartment, "volume", hours_ago=10 + position)
        volume = f"ocid1.volume.oc1.phx.{'v' * 40}{position:020d}"
        _, tree.expired[compartment] = seed_copy(
            emulator, compartment, hours_ago=72, expires=NOW - timedelta(days=1), volume_id=volume
        )
        _, tree.newer[compartment] = seed_copy(emulator, compartment, hours_ago=24, volume_id=volume)
    return tree


@pytest.fixture
def tree(emulator: Emulator) -> Tree:
    return _tree(emulator)


def invoke(process: FunctionProcess, body: dict[str, Any], deadline: float = 30.0) -> dict[str, Any]:
    answer = process.invoke(body, deadline_seconds=deadline)
    result: dict[str, Any] = answer.json()
    assert answer.status == (502 if result["outcome"] in ("failed", "rejected") else 200), result
    return result


@pytest.fixture
def in_process(emulator: Emulator, principal: ResourcePrincipal, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The function's container in this process, one worker, against the session's emulator."""
    environment = {
        **principal.environment(),
        "DESTINATION_REGION": DESTINATION_REGION,
        "BLOCKSTORAGE_ENDPOINT": emulator.endpoint_template,
        "METRICS_ENDPOINT": emulator.metrics_endpoint_template,
        "IDENTITY_ENDPOINT": emulator.identity_endpoint_template,
        "MAX_CONCURRENCY": "1",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(runtime, "_container", None)
    yield
    runtime._container = None


def run_in_process(body: dict[str, Any]) -> dict[str, Any]:
    request = parse_request(json.dumps(body).encode())
    assert isinstance(request, ActionRequest)
    result = request.execute(Invocation("01INPROCESS", Deadline(60), AttemptLog()))
    return {"outcome": result.outcome.value, "reasonCode": result.reason_code, "reason": result.reason, **result.extra}
