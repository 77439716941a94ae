"""One invocation, from raw body to result: parse, act, and never raise.

Every path ends in an InvocationResult that is logged once and returned; an unexpected
exception becomes a `failed` answer rather than the fdk's bare 502 with a Python message.
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path

from . import dispatch
from .shared import logs
from .shared.context import Invocation
from .shared.deadline import Deadline
from .shared.outcomes import verdict_for
from .shared.request import Request
from .shared.result import InvocationResult
from .shared.retries import AttemptLog


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
            result.extra["errorAt"] = _where(error)
    result.call_id = call_id
    if request is not None:
        result.fan_out_of = request.fan_out_of
    result.attempts = invocation.attempts.attempts
    result.retries = invocation.attempts.retries
    result.retried_errors = dict(invocation.attempts.retried_errors)
    result.duration_ms = (time.monotonic() - started) * 1000
    logs.emit(result)
    return result


def _where(error: BaseException) -> str:
    """The exception's type and the function's own line it passed last: enough to find the bug,
    without the message, which may quote a request, a header or a key."""
    package = Path(__file__).resolve().parent
    frames = traceback.extract_tb(error.__traceback__)
    own = [frame for frame in frames if Path(frame.filename).resolve().is_relative_to(package)]
    frame = own[-1] if own else (frames[-1] if frames else None)
    if frame is None:
        return type(error).__name__
    where = Path(frame.filename).resolve()
    shown = where.relative_to(package.parent) if where.is_relative_to(package.parent) else Path(where.name)
    return f"{type(error).__name__} at {shown}:{frame.lineno}"
