"""One result object per invocation, rendered both as the HTTP answer and as the log line."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Outcome(enum.StrEnum):
    COPIED = "copied"
    ALREADY_COPIED = "already_copied"
    SKIPPED = "skipped"
    REJECTED = "rejected"
    FAILED = "failed"
    DRY_RUN = "dry_run"
    # Answer of the expiry pass ({"action": "expire"}) that deleted copies.
    EXPIRED = "expired"
    # Answers of the preflight check ({"action": "check"}).
    READY = "ready"
    NOT_READY = "not_ready"
    # Answers of the recovery-point report ({"action": "report"}): at_risk is not a failure,
    # since the report itself worked; what it found is what needs attention.
    REPORTED = "reported"
    AT_RISK = "at_risk"
    # Answer of a restore drill's pass ({"action": "drill"}) in which no drill failed.
    DRILLED = "drilled"
    # Answer of a reconcile, expire or report whose scope was split over detached invocations of
    # this function (FAN_OUT=on): the children were started; what they do, they log themselves.
    FANNED_OUT = "fanned_out"

    @property
    def is_failure(self) -> bool:
        return self in (Outcome.REJECTED, Outcome.FAILED, Outcome.NOT_READY)


# The fdk passes only 200, 502 and 504 through; 502 is how a failure reaches `fn invoke`
# and the Events service.
HTTP_OK = 200
HTTP_FAILURE = 502


@dataclass
class CopyResult:
    """What happened for one destination region."""

    destination_region: str
    outcome: Outcome
    copy_id: str | None = None
    copy_state: str | None = None
    opc_request_id: str | None = None
    reason_code: str | None = None
    reason: str | None = None
    # Whether the copy carries this function's mark, and when it expires (backups/marker.py).
    mark: dict[str, Any] = field(default_factory=dict)
    # The function tried to write the mark and could not (the answer's marked: false, markReasonCode):
    # such a copy never expires, so it is counted (copy_mark_failures) and logged at WARNING.
    mark_failed: bool = False

    def to_json(self) -> dict[str, Any]:
        return _without_none(
            {
                "destinationRegion": self.destination_region,
                "outcome": self.outcome.value,
                "copyId": self.copy_id,
                "copyState": self.copy_state,
                "opcRequestId": self.opc_request_id,
                "reasonCode": self.reason_code,
                "reason": self.reason,
                **self.mark,
            }
        )


@dataclass
class InvocationResult:
    outcome: Outcome
    reason_code: str | None = None
    reason: str | None = None
    event_id: str | None = None
    backup_id: str | None = None
    backup_type: str | None = None
    source_region: str | None = None
    copies: list[CopyResult] = field(default_factory=list)
    call_id: str | None = None
    attempts: int = 0
    retries: int = 0
    retried_errors: dict[str, int] = field(default_factory=dict)
    duration_ms: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    # The coordinator's call id, when this invocation is a child of a fan-out: in the answer and
    # the log line, so one Logging search for it finds the whole family.
    fan_out_of: str | None = None
    # Copies made (or found) whose mark could not be written: a success with this above 0 is logged
    # at WARNING (logs.py), since each such copy never expires.
    mark_failures: int = 0

    @property
    def http_status(self) -> int:
        return HTTP_FAILURE if self.outcome.is_failure else HTTP_OK

    def to_json(self) -> dict[str, Any]:
        body = {
            "outcome": self.outcome.value,
            "reasonCode": self.reason_code,
            "reason": self.reason,
            "eventId": self.event_id,
            "backupId": self.backup_id,
            "backupType": self.backup_type,
            "sourceRegion": self.source_region,
            "copies": [copy.to_json() for copy in self.copies],
            "callId": self.call_id,
            "attempts": self.attempts,
            "retries": self.retries,
            "retriedErrors": self.retried_errors,
            "durationMs": round(self.duration_ms, 1),
        }
        if self.fan_out_of:
            body["fanOutOf"] = self.fan_out_of
        if self.mark_failures:
            body["markFailures"] = self.mark_failures
        body.update(self.extra)
        return body


def combine(copies: list[CopyResult]) -> Outcome:
    """The invocation's outcome from its destinations': the worst one wins."""
    outcomes = {copy.outcome for copy in copies}
    for outcome in (Outcome.FAILED, Outcome.REJECTED, Outcome.COPIED, Outcome.DRY_RUN, Outcome.ALREADY_COPIED):
        if outcome in outcomes:
            return outcome
    return Outcome.SKIPPED


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
