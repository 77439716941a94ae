"""func.handler in this process against the emulator, with one container's settings at a time.

An fdk process costs a second or more to start per settings, and the state machine changes
settings every few steps, so it runs the handler here, as tests/reliability/test_properties.py
does. OCI builds a new container when `fn config` changes; here each set of settings gets its
container once (shared/runtime.py builds it from the environment), cached, and made current by
swapping runtime's one container
(`use`). FAN_OUT=on children, started by InvokeFunction on the emulator,
run here too: the emulator's runner hands each to the main thread, which runs them one after
another in the order the coordinator started them, so a run is the same every time it is replayed
(OCI would run them at once, in containers of their own; one after another is one of the orders
that allows).
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fdk import context

import func
from backup_copier.shared import runtime
from backup_copier.shared.settings import load_settings
from blockstorage_emulator import Emulator, FunctionCall
from blockstorage_emulator.functions import new_call_id
from local_runtime.credentials import ResourcePrincipal
from tests.helpers import SOURCE_REGION

FUNCTION_ID = "ocid1.fnfunc.oc1.phx.aaaaaaaastatefulmachine"
FUNCTION_COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaastatefulfunctions"
# A synchronous call may take 300 s; the machine's runs take well under a second.
TIMEOUT_SECONDS = 300
CHILD_TIMEOUT_SECONDS = 120
# How long the emulator's thread waits for the main thread to run its child, and the other way round.
HANDOFF_SECONDS = 60.0
# Every key `use` may set; a key a profile leaves out is removed, as `fn config` removes it.
SETTING_KEYS = (
    "COPY_RETENTION_DAYS",
    "COPY_RETENTION_DAYS_US_ASHBURN_1",
    "COPY_RETENTION_DAYS_EU_FRANKFURT_1",
    "KEEP_LAST_COPIES",
    "REQUIRED_FREEFORM_TAG",
    "FAN_OUT",
    "FAN_OUT_BATCH",
    "DRILL_TIMEOUT_MINUTES",
)


# A body the function was invoked with, and its answer.
Call = tuple[dict[str, Any], dict[str, Any]]


@dataclass(frozen=True)
class Answer:
    """What a runner gives the emulator: local_runtime's FnResponse has the same three fields."""

    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class _Child:
    call: FunctionCall
    answer: Answer | None = None
    done: threading.Event = field(default_factory=threading.Event)


class InProcessFunction:
    def __init__(self, emulator: Emulator, principal: ResourcePrincipal, destinations: tuple[str, ...]) -> None:
        self.emulator = emulator
        base = {
            **principal.environment(),
            "DESTINATION_REGION": ",".join(destinations),
            "BLOCKSTORAGE_ENDPOINT": emulator.endpoint_template,
            "METRICS_ENDPOINT": emulator.metrics_endpoint_template,
            "IDENTITY_ENDPOINT": emulator.identity_endpoint_template,
            "FUNCTIONS_ENDPOINT": emulator.functions_endpoint_template,
            "COMPUTE_ENDPOINT": emulator.compute_endpoint_template,
            "FN_FN_ID": FUNCTION_ID,
            "MAX_CONCURRENCY": "2",
        }
        self._saved = {key: os.environ.get(key) for key in (*base, *SETTING_KEYS)}
        os.environ.update(base)
        self._first: runtime.Container | None = None
        self._containers: dict[tuple[tuple[str, str], ...], runtime.Container] = {}
        self._handoff = threading.Condition()
        self._waiting: dict[str, _Child] = {}
        emulator.add_function(
            SOURCE_REGION,
            FUNCTION_COMPARTMENT,
            function_id=FUNCTION_ID,
            timeout_in_seconds=TIMEOUT_SECONDS,
            detached_mode_timeout_in_seconds=CHILD_TIMEOUT_SECONDS,
        )
        emulator.serve_function(FUNCTION_ID, self._detached)

    def use(self, settings: Mapping[str, str | None]) -> None:
        """Make current a container with these settings, read from the environment as OCI's would be.

        Every container shares the first one's clients and worker threads: they depend only on the
        endpoints, which never change here, and a set of clients per settings would leave hundreds
        of idle connections open over a long run.
        """
        chosen = {key: value for key, value in settings.items() if value is not None}
        for name in SETTING_KEYS:
            if name in chosen:
                os.environ[name] = chosen[name]
            else:
                os.environ.pop(name, None)
        key = tuple(sorted(chosen.items()))
        if key not in self._containers:
            if self._first is None:
                runtime._container = None
                self._first = runtime.container()
            self._containers[key] = dataclasses.replace(self._first, settings=load_settings(os.environ))
        runtime._container = self._containers[key]

    def invoke(self, body: Mapping[str, Any], timeout_seconds: int = TIMEOUT_SECONDS) -> list[Call]:
        """`body` and its answer, then each child it started with its answer (once all have run)."""
        self.emulator.clear_function_invocations()
        answer = self._handle(json.dumps(body).encode(), new_call_id(), timeout_seconds)
        return [(dict(body), json.loads(answer.body)), *self._run_children()]

    def close(self) -> None:
        runtime._container = None
        if self._first is not None:
            self._first.workers.executor().shutdown(wait=False)
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def _handle(self, body: bytes, call_id: str, timeout_seconds: int) -> Answer:
        deadline = (datetime.now(UTC) + timedelta(seconds=timeout_seconds)).isoformat()
        ctx = context.InvokeContext(
            "app", "backup-copier-app", FUNCTION_ID, "backup-copier", call_id,
            content_type="application/json", deadline=deadline, config=os.environ,
        )  # fmt: skip
        answer = func.handler(ctx, io.BytesIO(body))
        return Answer(answer.status(), {"content-type": "application/json"}, answer.body_bytes())

    def _detached(self, call: FunctionCall) -> Answer:
        """The emulator's runner, on the emulator's thread: hand the call over and wait for its answer."""
        child = _Child(call)
        with self._handoff:
            self._waiting[call.call_id] = child
            self._handoff.notify_all()
        if not child.done.wait(HANDOFF_SECONDS) or child.answer is None:
            raise TimeoutError(f"child {call.call_id} was never run")
        return child.answer

    def _handed_over(self, call_id: str) -> _Child:
        with self._handoff:
            if not self._handoff.wait_for(lambda: call_id in self._waiting, HANDOFF_SECONDS):
                raise TimeoutError(f"child {call_id} was started but never reached the runner")
            return self._waiting.pop(call_id)

    def _run_children(self) -> list[Call]:
        answers: list[Call] = []
        ran: set[str] = set()
        while True:
            started = [
                record.call_id
                for record in self.emulator.function_invocations(FUNCTION_ID)
                if record.invoke_type == "detached" and record.call_id not in ran
            ]
            if not started:
                break
            for call_id in started:
                child = self._handed_over(call_id)
                child.answer = self._handle(child.call.body, call_id, child.call.timeout_seconds)
                child.done.set()
                ran.add(call_id)
                answers.append((json.loads(child.call.body), json.loads(child.answer.body)))
        self.emulator.wait_for_detached(HANDOFF_SECONDS)
        return answers
