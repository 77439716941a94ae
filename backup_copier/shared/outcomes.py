"""The one place where errors become outcomes, reason codes and sentences an operator can act on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from oci import exceptions as oci_exceptions

from .deadline import OutOfTime
from .errors import CopierError, InvalidRequest, InvalidSetting
from .kinds import KindSpec
from .result import Outcome
from .retries import RetriesExhausted


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    reason_code: str
    reason: str


def verdict_for(error: BaseException, *, action: str = "", region: str = "", refused: str | None = None) -> Verdict:
    """`action` says what was being done (e.g. "copy to us-ashburn-1"), for the sentence;
    `refused`, when given, is what to do about a 404 NotAuthorizedOrNotFound instead of the
    general advice (the caller knows which permission the call needs, and where)."""
    if isinstance(error, InvalidRequest):
        return Verdict(Outcome.REJECTED, error.code, error.message)
    if isinstance(error, InvalidSetting):
        stop = "" if error.message.endswith((".", "?")) else "."
        return Verdict(Outcome.FAILED, error.code, f"{error.message}{stop} Fix it with: {setting_fix(error)}")
    if isinstance(error, CopierError):
        return Verdict(Outcome.FAILED, error.code, error.message)
    if isinstance(error, RetriesExhausted):
        inner = verdict_for(error.last_error, action=action, region=region, refused=refused)
        return Verdict(
            Outcome.FAILED,
            inner.reason_code,
            f"{inner.reason} Still failing after {error.attempts} attempts in {error.seconds:.1f} s, "
            "so the function answered before its deadline; the next event or a reconcile sweep will retry.",
        )
    if isinstance(error, OutOfTime):
        # The same last words as RetriesExhausted's: operations.md's row for the timeout reads both.
        return Verdict(
            Outcome.FAILED,
            "DeadlineReached",
            f"{action}: less than a step's time was left, so the function answered before its deadline; the next "
            "event or a reconcile sweep will retry.",
        )
    if isinstance(error, oci_exceptions.ServiceError):
        return _service_error(error, action, region, refused)
    if isinstance(error, oci_exceptions.RequestException | oci_exceptions.ConnectTimeout):
        return Verdict(
            Outcome.FAILED,
            "ConnectionFailed",
            f"{action}: could not reach the OCI endpoint in {region} ({type(error).__name__}). "
            "Check the function's subnet has a route to Oracle Services (service or NAT gateway).",
        )
    return Verdict(
        Outcome.FAILED, "InternalError", f"{action}: unexpected {type(error).__name__}; see the function's log"
    )


def setting_fix(error: InvalidSetting) -> str:
    """The commands that fix a setting: the answer's reason and the check's fix both say this.

    A misspelt key is never offered again: the key meant is set, and the misspelt one removed,
    since the function refuses to run while it is there. Fn merges the application's
    configuration into the function's, so the key may be on either (fnproject/docs,
    cli/ref/fn-delete.md: `fn delete config app|function`)."""
    set_it = f"fn config function <app> <function> {error.fixed_by} <value>"
    if error.meant is None:
        return set_it
    return (
        f"{set_it}; and remove {error.key}: fn delete config function <app> <function> {error.key} "
        f"(or fn delete config app <app> {error.key}, where the application sets it)"
    )


def copy_verdict(
    error: BaseException, spec: KindSpec, source_region: str, destination: str, kms_key_id: str | None = None
) -> Verdict:
    """Why a copy request failed. A refusal names the permissions a copy needs and the regions that
    need them: the request goes to the source region, which the preflight check cannot prove
    without copying, so "run the check" alone would send the operator in a circle. A copy that
    names a KMS key also needs the key's two statements, which only a copy proves too."""
    source = " and ".join(spec.copy_source_permissions)
    refused = (
        f"The backup was deleted, or the function's dynamic group lacks a copy permission. The copy request is sent "
        f"to the source region, {source_region}: it needs {source} there, on the backup's compartment, and "
        f"{spec.copy_destination_permission} in {destination}. The preflight check cannot prove these without "
        "copying; add the copy statements of `.venv/bin/python -m backup_copier.deploy_kit policies` "
        "(volume-family does not include the COPY permissions) and re-drive the backup."
    )
    if kms_key_id:
        refused += (
            f" The copy names the KMS key {kms_key_id} (KMS_KEY_ID_<REGION>), so it also needs `use key-delegate` "
            "on that key for the dynamic group, and `use keys` for the blockstorage service: the key statements "
            "of the same command."
        )
    return verdict_for(error, action=f"copy to {destination}", region=source_region, refused=refused)


def _service_error(error: oci_exceptions.ServiceError, action: str, region: str, refused: str | None) -> Verdict:
    status, code = error.status, str(error.code)
    said = f"{action}: {status} {code} ({_message(error)})"
    if status == 404 and code == "NotAuthorizedOrNotFound" and refused:
        advice = refused
    elif status == 404 and code == "NotAuthorizedOrNotFound":
        advice = (
            "The resource does not exist, or the function's dynamic group lacks the IAM permission for this call "
            f'in {region}; run the preflight check ({{"action": "check"}}) to see which statement is missing.'
        )
    elif status == 401:
        advice = "The resource principal was refused; check the dynamic group's matching rule includes this function."
    elif status == 400 and code == "LimitExceeded":
        advice = "The limit of concurrent cross-region copies from this region is reached; copies in progress must finish first."
    elif status == 429:
        advice = "OCI throttled the function's requests."
    elif status == 409:
        advice = "The resource is busy or in a conflicting state."
    elif status >= 500:
        advice = "The Block Storage service failed; this is usually transient."
    elif status == 400:
        advice = (
            "The service refused the request: check the destination region is subscribed by the tenancy, the KMS key "
            "(if set) lives in the destination region, and the backup is not of a Marketplace image (those cannot be copied)."
        )
    else:
        advice = "See the message for details."
    return Verdict(Outcome.FAILED, code if code and code != "None" else f"HTTP{status}", f"{said}. {advice}")


def _message(error: oci_exceptions.ServiceError) -> str:
    message = str(error.message or "").replace("\n", " ")
    return message[:300]


# What a call to OCI can fail with, once the deadline-aware retries are done with it.
SERVICE_FAILURES = (
    oci_exceptions.ServiceError,
    oci_exceptions.RequestException,
    oci_exceptions.ConnectTimeout,
    RetriesExhausted,
)


def metrics_verdict(error: BaseException, *, region: str, permission_fix: str) -> Verdict:
    """Why metrics could not be posted to Monitoring, and what to do.

    Never the outcome of the invocation: the report or sweep that posted them is answered
    all the same, with this in its metricsFailed figures. `permission_fix` is the statement
    that grants what a 404 says is missing.
    """
    return _other_service_verdict(
        error,
        _MONITORING,
        action=f"post metrics to Monitoring in {region}",
        refused=f"The function's dynamic group lacks METRIC_WRITE for this namespace and compartment: {permission_fix}",
    )


def fan_out_verdict(error: BaseException, *, step: str, permission_fix: str) -> Verdict:
    """Why a coordinator could not read or invoke its own function (FAN_OUT=on), and what to do.

    `step` says which call failed ("invoke this function detached for batch 3 of 10"), and
    `permission_fix` is the statement that grants it, for a 404 or 403.
    """
    return _other_service_verdict(
        error, _FUNCTIONS, action=step, refused=f"The function's dynamic group may not do this; add: {permission_fix}"
    )


@dataclass(frozen=True)
class _Service:
    """What to say of a service other than Block Storage, whose failures never mean "retry the copy"."""

    throttled: str
    failed: str
    other: str
    endpoint: str
    # Whether a RetriesExhausted sentence gives the seconds spent as well as the attempts.
    with_seconds: bool
    # The verdict for an error that is not the service's (a bug).
    unexpected: Callable[[BaseException, str], Verdict]


_MONITORING = _Service(
    throttled="Monitoring throttled the posts (Oracle allows 50 PostMetricData calls a second per tenancy); the "
    "next run posts again.",
    failed="The Monitoring service failed; this is usually transient, and the next run posts again.",
    other="Monitoring refused the data; see the message.",
    endpoint="the telemetry-ingestion endpoint",
    with_seconds=False,
    unexpected=lambda error, action: Verdict(
        Outcome.FAILED, "InternalError", f"{action}: unexpected {type(error).__name__}; see the function's log"
    ),
)
_FUNCTIONS = _Service(
    throttled="OCI Functions throttled the invocations; run the action again later, or raise FAN_OUT_BATCH to start "
    "fewer children.",
    failed="The Functions service failed; this is usually transient.",
    other="The Functions service refused the request; see the message.",
    endpoint="the Functions endpoint",
    with_seconds=True,
    unexpected=lambda error, action: verdict_for(error, action=action),
)


def _other_service_verdict(error: BaseException, service: _Service, *, action: str, refused: str) -> Verdict:
    if isinstance(error, RetriesExhausted):
        inner = _other_service_verdict(error.last_error, service, action=action, refused=refused)
        spent = f" in {error.seconds:.1f} s" if service.with_seconds else ""
        return Verdict(
            Outcome.FAILED, inner.reason_code, f"{inner.reason} Still failing after {error.attempts} attempts{spent}."
        )
    if isinstance(error, oci_exceptions.ServiceError):
        status, code = error.status, str(error.code)
        said = f"{action}: {status} {code} ({_message(error)})"
        if status in (403, 404):
            advice = refused
        elif status == 401:
            advice = (
                "The resource principal was refused; check the dynamic group's matching rule includes this function."
            )
        elif status == 429:
            advice = service.throttled
        elif status >= 500:
            advice = service.failed
        else:
            advice = service.other
        return Verdict(Outcome.FAILED, code if code and code != "None" else f"HTTP{status}", f"{said}. {advice}")
    if isinstance(error, oci_exceptions.RequestException | oci_exceptions.ConnectTimeout):
        return Verdict(
            Outcome.FAILED,
            "ConnectionFailed",
            f"{action}: could not reach {service.endpoint} ({type(error).__name__}). Check the function's subnet has "
            "a route to Oracle Services (service or NAT gateway).",
        )
    return service.unexpected(error, action)
