"""Copy one source backup to one destination region, exactly once.

For each destination: look for a copy that already exists there (made by this function,
a backup policy or by hand); if there is none, ask the source region to copy, with a retry
token derived from (backup, destination) so that redelivered events and concurrent
containers converge on one copy; unless the expiry pass already deleted the copy there
(expired.py), or that copy would expire on arrival (arrival.py).
The copy itself takes minutes to hours; this does not wait for it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..shared.clients import BlockStorageClients
from ..shared.context import Invocation
from ..shared.deadline import OutOfTime
from ..shared.kinds import BackupKind, KindSpec
from ..shared.outcomes import SERVICE_FAILURES, copy_verdict, verdict_for
from ..shared.result import CopyResult, Outcome
from ..shared.settings import Settings
from .arrival import EXPIRES_ON_ARRIVAL, among_newest, copied_by_this_function, expires_on_arrival
from .expired import COPY_EXPIRED, copy_expired
from .marker import Marker, MarkResult
from .marks import may_repair, read_mark
from .states import COPY_CLOCK_SKEW, NOT_YET_STATES, PRESENT_STATES

_LIST_PAGE_SIZE = 100
_DISPLAY_NAME_MAX = 255


def retry_token(backup_id: str, destination_region: str, superseded_copy_ids: tuple[str, ...] = ()) -> str:
    """Deterministic, so every container asking for the same copy sends the same token.

    A copy that failed or was deleted is superseded: its id enters the token, so the new
    attempt is not answered with the dead copy for the token's 24 hours.
    """
    material = "\n".join((backup_id, destination_region, *sorted(superseded_copy_ids)))
    return hashlib.sha256(material.encode()).hexdigest()


@dataclass
class CopyJob:
    """One available source backup, to be copied to one destination at a time.

    Shared by the event path and the reconcile sweep, so both find existing copies and
    name, encrypt and token their copy requests identically.
    """

    spec: KindSpec
    backup: Any
    source_region: str
    settings: Settings
    clients: BlockStorageClients
    invocation: Invocation
    # OCI copies a boot volume's backups one at a time: while one copy of this backup is in
    # flight (to any region), asking for the next would only meet LimitExceeded until the
    # deadline, since a copy takes minutes to hours.
    boot_copy_in_flight_to: str | None = field(default=None, init=False)
    # The source backup's ETag as read (None when it came from a list): the first record
    # written onto it needs no second read.
    backup_etag: str | None = None
    # Whether the backup is among its volume's newest KEEP_LAST_COPIES (arrival.py); None: not
    # known yet, and asked of the source region only if a copy would expire on arrival.
    among_newest: bool | None = None
    _marker_of_source: Marker | None = field(default=None, init=False)

    def copy_to(self, region: str, dry_run: bool) -> CopyResult:
        try:
            present, superseded = self._existing_copies(region)
            if present is not None:
                self._note_in_flight(region, present.lifecycle_state)
                mark = self._mark_of_present(region, present, dry_run)
                return CopyResult(
                    region,
                    Outcome.ALREADY_COPIED,
                    present.id,
                    present.lifecycle_state,
                    mark=mark.to_json(),
                    mark_failed=mark.failed,
                )
        except SERVICE_FAILURES as error:
            verdict = verdict_for(error, action=f"list the copies in {region}", region=region)
            return CopyResult(region, verdict.outcome, reason_code=verdict.reason_code, reason=verdict.reason)
        expired = copy_expired(self.backup, region)
        if expired:
            return CopyResult(region, Outcome.SKIPPED, reason_code=COPY_EXPIRED, reason=expired)
        try:
            pointless = self._expires_on_arrival(region)
        except (*SERVICE_FAILURES, OutOfTime) as error:
            # Its rank among the volume's newest backups is one list call in the source region, which
            # stops when less than a step's time is left (listing.py): the deadline, answered as one.
            action = f"rank {self.backup.id} among its volume's newest backups for the copy to {region}"
            verdict = verdict_for(error, action=action, region=self.source_region)
            return CopyResult(region, verdict.outcome, reason_code=verdict.reason_code, reason=verdict.reason)
        if pointless:
            return CopyResult(region, Outcome.SKIPPED, reason_code=EXPIRES_ON_ARRIVAL, reason=pointless)
        if dry_run:
            return CopyResult(region, Outcome.DRY_RUN, reason_code="DryRun", reason=f"would copy to {region}; dry run")
        if self.boot_copy_in_flight_to is not None:
            return self._deferred(region)
        try:
            response = self._request_copy(region, superseded)
        except SERVICE_FAILURES as error:
            verdict = copy_verdict(error, self.spec, self.source_region, region, self.settings.kms_key_ids.get(region))
            return CopyResult(region, verdict.outcome, reason_code=verdict.reason_code, reason=verdict.reason)
        copy = response.data
        self._note_in_flight(region, copy.lifecycle_state)
        marked = self._marker.mark_new_copy(self.backup, self.source_region, region, copy, response.headers.get("etag"))
        return CopyResult(
            region,
            Outcome.COPIED,
            copy.id,
            copy.lifecycle_state,
            response.headers.get("opc-request-id"),
            mark=marked.to_json(),
            mark_failed=marked.failed,
        )

    def _expires_on_arrival(self, region: str) -> str | None:
        return expires_on_arrival(self.backup, self.settings.retention_for(region), datetime.now(UTC), self._ranked)

    def _ranked(self) -> bool:
        """Among its volume's newest KEEP_LAST_COPIES? Asked once, for every destination."""
        if self.among_newest is None:
            self.among_newest = among_newest(
                self.clients,
                self.invocation,
                self.source_region,
                self.spec,
                self.backup,
                self.settings.keep_last_copies,
                copied_by_this_function(self.settings),
            )
        return self.among_newest

    @property
    def _marker(self) -> Marker:
        if self._marker_of_source is None:
            self._marker_of_source = Marker(
                self.spec,
                self.clients,
                self.invocation,
                self.settings.retention_for,
                self.settings.defined_tag(),
                (self.backup, self.backup_etag) if self.backup_etag else None,
            )
        return self._marker_of_source

    def _mark_of_present(self, region: str, present: Any, dry_run: bool) -> MarkResult:
        """Whether the copy found is marked; one this function made (the source's record names it)
        but whose marking failed, so that it carries none of the mark's keys, is marked now.
        Any other copy's tags are left as they are (marks.may_repair)."""
        if may_repair(present, self.spec, self.backup, region):
            if dry_run:
                return MarkResult.dry_run()
            return self._marker.repair(self.backup, region, present.id)
        return MarkResult.as_found(read_mark(present, self.spec))

    def _note_in_flight(self, region: str, state: str) -> None:
        if self.spec.kind is BackupKind.BOOT_VOLUME and state in NOT_YET_STATES:
            self.boot_copy_in_flight_to = region

    def _deferred(self, region: str) -> CopyResult:
        return CopyResult(
            region,
            Outcome.FAILED,
            reason_code="BootVolumeCopyInProgress",
            reason=(
                f"copy to {region} not requested: OCI copies a boot volume's backups one at a time and the copy to "
                f"{self.boot_copy_in_flight_to} is still in progress. Once it is AVAILABLE, re-drive this backup "
                '({"backupId": ...}) or let the reconcile sweep copy it.'
            ),
        )

    def _existing_copies(self, region: str) -> tuple[Any | None, tuple[str, ...]]:
        """The live copy of the backup in `region`, if any, and the ids of dead ones."""
        superseded: list[str] = []
        for candidate in self._copies_in(region):
            if candidate.lifecycle_state in PRESENT_STATES:
                return candidate, ()
            superseded.append(candidate.id)
        return None, tuple(superseded)

    def _copies_in(self, region: str) -> Iterator[Any]:
        """Walk the destination's list page by page, so a large compartment never sits in memory."""
        list_call = getattr(self.clients.for_region(region), self.spec.list_operation)
        filters: dict[str, Any] = {"sort_by": "TIMECREATED", "sort_order": "DESC"}
        if self.spec.list_source_filter:
            filters[self.spec.list_source_filter] = self.backup.id
        # A copy is made after its source, so once the newest-first scan reaches copies
        # older than the source (less a margin for clock skew between regions), no copy of
        # it can follow: the unfiltered volume group scan stops there instead of reading
        # the whole compartment.
        oldest_possible = _time_created(self.backup)
        if oldest_possible is not None:
            oldest_possible -= COPY_CLOCK_SKEW
        page = None
        while True:
            kwargs: dict[str, Any] = {"limit": _LIST_PAGE_SIZE, "retry_strategy": self.invocation.retry_strategy}
            kwargs.update(filters)
            if page:
                kwargs["page"] = page
            response = list_call(self.backup.compartment_id, **kwargs)
            for candidate in response.data:
                created = _time_created(candidate)
                if oldest_possible is not None and created is not None and created < oldest_possible:
                    return
                # The volume group list cannot filter on the source; every list is checked
                # anyway, so a service that ignored a filter could not cause a wrong answer.
                if getattr(candidate, self.spec.source_attribute, None) == self.backup.id:
                    yield candidate
            page = response.headers.get("opc-next-page")
            if not page:
                return

    def _request_copy(self, region: str, superseded: tuple[str, ...]) -> Any:
        # Deferred for cold start, as in clients.py: importing this module must not load oci.core.
        from oci.core import models

        details = getattr(models, self.spec.copy_details_class)(
            destination_region=region,
            display_name=self._display_name(region),
            kms_key_id=self.settings.kms_key_ids.get(region),
        )
        kwargs: dict[str, Any] = {
            "opc_retry_token": retry_token(self.backup.id, region, superseded),
            "retry_strategy": self.invocation.retry_strategy,
        }
        if self.invocation.opc_request_id:
            kwargs["opc_request_id"] = self.invocation.opc_request_id
        source = self.clients.for_region(self.source_region)
        return getattr(source, self.spec.copy_operation)(self.backup.id, details, **kwargs)

    def _display_name(self, region: str) -> str:
        name = self.settings.display_name_template.format(
            source_name=self.backup.display_name or self.backup.id,
            source_region=self.source_region,
            destination_region=region,
            backup_id=self.backup.id,
            kind=self.spec.kind.value,
        )
        return name[:_DISPLAY_NAME_MAX]


def _time_created(resource: Any) -> datetime | None:
    value = getattr(resource, "time_created", None)
    return value if isinstance(value, datetime) else None
