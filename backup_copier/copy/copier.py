"""The copy of one backup, as an event or an operator asked for it: to each destination region, exactly once.

Decides whether the request is one to act on (the settings' filters, the backup's state),
then hands each destination to the CopyJob that the sweep uses too. It posts no metric, and so
never loads the SDK's Monitoring package, unless a copy could not be marked: that copy would never
expire, so it is counted (copy_mark_failures) for the deploy kit's alarm.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..backups.copy_job import CopyJob
from ..backups.marker import mark_failure_counts
from ..backups.states import AVAILABLE, NOT_YET_STATES
from ..shared import runtime
from ..shared.clients import BlockStorageClients, MonitoringClients
from ..shared.context import Invocation
from ..shared.errors import InvalidRequest, InvalidSetting
from ..shared.kinds import KindSpec
from ..shared.metrics import publish
from ..shared.ocids import Ocid
from ..shared.outcomes import verdict_for
from ..shared.request import Request
from ..shared.result import InvocationResult, Outcome, combine
from ..shared.settings import Settings


@dataclass(frozen=True)
class CopyRequest(Request):
    """Copy one backup to the destination regions (the settings', unless overridden)."""

    backup_id: Ocid
    spec: KindSpec
    origin: Literal["event", "manual"]
    event_id: str | None = None
    compartment_id: str | None = None
    freeform_tags: dict[str, str] | None = None
    backup_failed: bool = False
    destination_regions: tuple[str, ...] | None = None
    dry_run: bool | None = None

    def execute(self, invocation: Invocation) -> InvocationResult:
        container = runtime.container()
        return copy_backup(self, container.settings, container.clients, invocation, container.metrics)

    def answer_failure(self, error: BaseException) -> InvocationResult:
        # Only the read of the source escapes as a service error; per-destination failures
        # are answered inside the copy.
        verdict = verdict_for(error, action="read the source backup", region=self.backup_id.region or "")
        return InvocationResult(
            verdict.outcome,
            verdict.reason_code,
            verdict.reason,
            event_id=self.event_id,
            backup_id=self.backup_id.value,
            backup_type=self.spec.kind.value,
            source_region=self.backup_id.region,
        )


def copy_backup(
    request: CopyRequest,
    settings: Settings,
    clients: BlockStorageClients,
    invocation: Invocation,
    metrics: MonitoringClients,
) -> InvocationResult:
    spec = request.spec
    result = InvocationResult(
        outcome=Outcome.SKIPPED,
        event_id=request.event_id,
        backup_id=request.backup_id.value,
        backup_type=spec.kind.value,
        source_region=request.backup_id.region or clients.home_region,
    )
    skip = _reason_to_skip(request, settings)
    if skip:
        result.reason_code, result.reason = skip
        return result
    source_region = result.source_region
    if source_region is None:
        raise InvalidRequest("backupId", "cannot tell the backup's region from its OCID", "UnknownRegion")
    destinations = request.destination_regions or settings.destination_regions
    if source_region in destinations:
        problem = f"{source_region} is the backup's own region; a copy must go to another region"
        if request.destination_regions:
            # The body's field, not a setting: no `fn config` command can fix it.
            raise InvalidRequest("destinationRegions", problem)
        raise InvalidSetting("DESTINATION_REGION", problem)

    source = clients.for_region(source_region)
    read = getattr(source, spec.get_operation)(request.backup_id.value, retry_strategy=invocation.retry_strategy)
    backup = read.data
    if backup.lifecycle_state != AVAILABLE:
        return _not_available(result, backup.lifecycle_state)

    job = CopyJob(spec, backup, source_region, settings, clients, invocation, backup_etag=read.headers.get("etag"))
    dry_run = settings.dry_run if request.dry_run is None else request.dry_run
    for region in destinations:
        result.copies.append(job.copy_to(region, dry_run))
    result.outcome = combine(result.copies)
    # The answer's reason: the failures', else, when no region was copied, why each was skipped.
    telling = [copy for copy in result.copies if copy.outcome.is_failure]
    if not telling and result.outcome is Outcome.SKIPPED:
        telling = [copy for copy in result.copies if copy.reason_code]
    if telling:
        result.reason_code = telling[0].reason_code
        result.reason = "; ".join(f"{copy.destination_region}: {copy.reason}" for copy in telling)
    _count_mark_failures(result, settings, metrics, source_region, backup.compartment_id, invocation)
    return result


def _count_mark_failures(
    result: InvocationResult,
    settings: Settings,
    metrics: MonitoringClients,
    source_region: str,
    compartment_id: str,
    invocation: Invocation,
) -> None:
    """Copies left without their mark: counted in the answer (WARNING in the log) and posted, by region."""
    by_region = {copy.destination_region: 1 for copy in result.copies if copy.mark_failed}
    if not by_region:
        return
    result.mark_failures = len(by_region)
    posted = publish(
        settings, metrics, source_region, invocation, compartment_id, mark_failure_counts(by_region, compartment_id)
    )
    result.extra.update(posted.to_json())


def _reason_to_skip(request: CopyRequest, settings: Settings) -> tuple[str, str] | None:
    if request.backup_failed:
        return (
            "BackupFailed",
            "the event reports the backup itself failed (data.additionalDetails.status = operationFailed); "
            "there is nothing to copy",
        )
    # Filters narrow what the Events rule sends; a manual request is the operator's explicit choice.
    if request.origin != "event":
        return None
    if settings.source_compartment_ids and request.compartment_id not in settings.source_compartment_ids:
        return "CompartmentNotSelected", "data.compartmentId is not in SOURCE_COMPARTMENT_IDS"
    required = settings.required_tag()
    if required and not settings.carries_required_tag(request.freeform_tags):
        key, value = required
        wanted = key if value is None else f"{key}={value}"
        return "TagNotPresent", f"data.freeFormTags lacks {wanted} (REQUIRED_FREEFORM_TAG)"
    return None


def _not_available(result: InvocationResult, state: str) -> InvocationResult:
    if state in NOT_YET_STATES:
        result.outcome = Outcome.FAILED
        result.reason_code = "BackupNotAvailable"
        result.reason = (
            f"the backup is {state}, not yet AVAILABLE; re-drive it with "
            '`fn invoke` and {"backupId": ...} once it is, or let the reconcile sweep copy it'
        )
    else:
        result.outcome = Outcome.SKIPPED
        result.reason_code = "BackupNotCopyable"
        result.reason = f"the backup is {state}; only AVAILABLE backups can be copied"
    return result
