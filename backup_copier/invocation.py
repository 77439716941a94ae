"""One invocation, from raw body to result: parse, act, and never raise.

Every path ends in an InvocationResult that is logged once and returned; an unexpected
exception becomes a `failed` answer rather than the fdk's bare 502 with a Python message.
"""

from __future__ import annotations

import time

from . import dispatch
from .shared import logs
from .shared.context import Invocation
from .shared.deadline import Deadline
from .shared.outcomes import verdict_for
from .shared.request import Request
from .shared.result import InvocationResult
from .shared.retries import AttemptLog
from .shared.tracebacks import where


def run(call_id: str | None, deadline_header: str | None, body: bytes) -> InvocationResult:
    started = time.monotonic()
    invocation = Invocation(call_id, Deadline.from_header(deadline_header), AttemptLog())
    request: Request | None = None
    try:
        request = dispatch.request_for(body)
        result = request.execute(invocation)
    except Exception as error:  # the one net: every failure becomes an answer
        if request is not None:
            result = request.answer_failure(error)
        else:
            verdict = verdict_for(error, action="the requested action")
            result = InvocationResult(verdict.outcome, verdict.reason_code, verdict.reason)
            result.event_id = dispatch.event_id_of(body)
        if result.reason_code == "InternalError":
            result.extra["errorAt"] = where(error)
    result.call_id = call_id
    if request is not None:
        result.fan_out_of = request.fan_out_of
    result.attempts = invocation.attempts.attempts
    result.retries = invocation.attempts.retries
    result.retried_errors = dict(invocation.attempts.retried_errors)
    result.duration_ms = (time.monotonic() - started) * 1000
    logs.emit(result)
    return result
