"""Property-based: for any body, the parser rejects cleanly or accepts, and the whole
handler (func.handler with a real fdk context) answers a JSON outcome and never raises."""

from __future__ import annotations

import copy
import io
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from fdk import context
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import func
from backup_copier.dispatch import parse_request
from backup_copier.shared import runtime
from backup_copier.shared.errors import InvalidRequest
from blockstorage_emulator import Emulator
from local_runtime import samples
from local_runtime.credentials import ResourcePrincipal
from tests.helpers import DESTINATION_REGION
from tests.reliability.conftest import FIGURES

EVENT = samples.load("volume-backup-completed.json")
OUTCOMES = {"copied", "already_copied", "skipped", "rejected", "failed", "dry_run"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
EVENT_PATHS = [
    ("eventType",),
    ("eventID",),
    ("data",),
    ("data", "resourceId"),
    ("data", "compartmentId"),
    ("data", "freeFormTags"),
    ("data", "additionalDetails"),
    ("data", "definedTags"),
    ("extensions",),
]


@st.composite
def mutated_events(draw: st.DrawFn) -> bytes:
    """A real event with one used field replaced by anything JSON can hold."""
    document = copy.deepcopy(EVENT)
    path = draw(st.sampled_from(EVENT_PATHS))
    target = document
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = draw(json_values | st.text(alphabet=st.characters(), max_size=80))
    return json.dumps(document).encode()


bodies = st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()) | mutated_events()


@settings(max_examples=300, deadline=None)
@given(body=bodies)
def test_parser_accepts_or_rejects_naming_a_field(body: bytes) -> None:
    try:
        request = parse_request(body)
    except InvalidRequest as rejection:
        assert rejection.field
        assert rejection.message.startswith(rejection.field + ":")
    else:
        assert request is not None


@pytest.fixture(scope="module")
def in_process_function(emulator: Emulator, principal: ResourcePrincipal) -> Iterator[None]:
    """func.handler in this process, configured as the fdk process would be."""
    environment = {
        **principal.environment(),
        "DESTINATION_REGION": DESTINATION_REGION,
        "BLOCKSTORAGE_ENDPOINT": emulator.endpoint_template,
    }
    saved = {key: os.environ.get(key) for key in environment}
    os.environ.update(environment)
    runtime._container = None
    yield
    runtime._container = None
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_handler_always_answers_a_json_outcome(body: bytes, in_process_function: Any) -> None:
    ctx = context.InvokeContext("app", "app", "fn", "fn", "CALL01", content_type="application/json", config=os.environ)
    answer = func.handler(ctx, io.BytesIO(body))
    result = json.loads(answer.body())
    FIGURES.events_delivered += 1
    assert result["outcome"] in OUTCOMES
    assert answer.status() == (502 if result["outcome"] in ("rejected", "failed") else 200)
    if result["outcome"] in ("rejected", "failed"):
        assert result["reason"]
