"""One invocation, from raw body to result: parse, act, and never raise.

Every path ends in an InvocationResult that is logged once and returned; an unexpected
exception becomes a `failed` answer rather than the fdk's bare 502 with a Python message.
"""

from __future__ import annotations

import time

from .copier import copy_backup
from .requests import CopyRequest, Request, event_id_of, parse_request
from .shared import logs, runtime
from .shared.context import Invocation
from .shared.deadline import Deadline
from .shared.outcomes import verdict_for
from .shared.result import InvocationResult
from .shared.retries import AttemptLog


def run(call_id: str | None, deadline_header: str | None, body: bytes) -> InvocationResult:
    started = time.monotonic()
    invocation = Invocation(call_id, Deadline.from_header(deadline_header), AttemptLog())
    request: Request | None = None
    try:
        request = parse_request(body)
        result = _execute(request, invocation)
    except Exception as error:  # the one net: every failure becomes an answer
        copy_request = request if isinstance(request, CopyRequest) else None
        # Only the copy path's read of the source escapes as a service error; per-destination
        # failures are answered inside the copy, and actions name their own steps.
        if copy_request is not None:
            verdict = verdict_for(error, action="read the source backup", region=copy_request.backup_id.region or "")
        else:
            verdict = verdict_for(error, action="the requested action")
        result = InvocationResult(verdict.outcome, verdict.reason_code, verdict.reason)
        if copy_request is not None:
            result.event_id = copy_request.event_id
            result.backup_id = copy_request.backup_id.value
            result.backup_type = copy_request.spec.kind.value
            result.source_region = copy_request.backup_id.region
        elif request is None:
            result.event_id = event_id_of(body)
    result.call_id = call_id
    result.attempts = invocation.attempts.attempts
    result.retries = invocation.attempts.retries
    result.retried_errors = dict(invocation.attempts.retried_errors)
    result.duration_ms = (time.monotonic() - started) * 1000
    logs.emit(result)
    return result


def _execute(request: Request, invocation: Invocation) -> InvocationResult:
    if isinstance(request, CopyRequest):
        container = runtime.container()
        return copy_backup(request, container.settings, container.clients, invocation)
    return request.execute(invocation)
