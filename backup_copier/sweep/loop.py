"""The sweep's loop: for each source backup, oldest first, each destination without a copy.

Each missing copy goes through the event path's CopyJob, which checks the destination
once more right before asking (a copy made since the index was read is found, not
duplicated) and sends the same retry token the event path would, so a sweep racing an
event, or another sweep, converges on one copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..backups.copy_job import CopyJob
from ..backups.listing import STEP_SECONDS, OutOfTime, check_time
from ..backups.marker import Marker
from ..backups.marks import recorded_copy
from ..backups.states import AVAILABLE, NOT_YET_STATES
from ..shared.clients import BlockStorageClients
from ..shared.context import Invocation
from ..shared.kinds import BackupKind, KindSpec
from ..shared.outcomes import SERVICE_FAILURES, verdict_for
from ..shared.result import CopyResult, Outcome
from ..shared.settings import Settings
from .scan import (
    DestinationIndex,
    Listed,
    index_destination,
    retryable_in_sweep,
    source_backups,
)
from .summary import StopReason, Summary

# Concurrent cross-region copies per source region, tenancy-wide, of volume and volume
# group backups (Oracle's documented limit). Boot volume backups: one copy at a time per
# boot volume instead.
COPY_LIMIT = 10
LIMITED_KINDS = frozenset({BackupKind.VOLUME, BackupKind.VOLUME_GROUP})


@dataclass
class Sweep:
    summary: Summary
    specs: tuple[KindSpec, ...]
    window_start: datetime
    max_copies: int
    settings: Settings
    clients: BlockStorageClients
    invocation: Invocation
    _attempts: int = 0
    _limited_blocked: bool = False
    _busy_boot_volumes: set[str] = field(default_factory=set)
    _busy_boot_sources: set[str] = field(default_factory=set)
    _doing: tuple[str, str] = ("", "")

    def run(self) -> None:
        sweep_invocation = self.invocation.retrying_only(retryable_in_sweep)
        try:
            indexes = self._index_destinations(sweep_invocation)
            self._doing = ("list the source backups", self.summary.source_region)
            listed_backups = source_backups(
                self.clients, sweep_invocation, self.summary.source_region, self.summary.compartment_id, self.specs
            )
            for listed in listed_backups:
                self.summary.scanned += 1
                self._reconcile(listed, indexes, sweep_invocation)
            self.summary.scan_complete = True
        except OutOfTime:
            # Whatever stopped copying before, the scan itself ended early now.
            if self.summary.stopped_early is None:
                self.summary.stopped_early = "deadline"
        except SERVICE_FAILURES as error:
            action, region = self._doing
            verdict = verdict_for(error, action=action, region=region)
            self.summary.fatal = (verdict.reason_code, verdict.reason)

    def _index_destinations(self, invocation: Invocation) -> dict[str, DestinationIndex]:
        indexes: dict[str, DestinationIndex] = {}
        for region in self.summary.destination_regions:
            self._doing = ("list the copies already made", region)
            index = indexes[region] = index_destination(
                self.clients,
                invocation,
                region,
                self.summary.source_region,
                self.summary.compartment_id,
                self.specs,
                self.window_start,
            )
            self.summary.in_flight += index.limited_in_flight
            self._busy_boot_volumes |= index.busy_boot_volumes
            self._busy_boot_sources |= index.busy_boot_sources
        return indexes

    def _reconcile(self, listed: Listed, indexes: dict[str, DestinationIndex], invocation: Invocation) -> None:
        backup = listed.backup
        boot_volume = getattr(backup, "boot_volume_id", None) if listed.spec.kind is BackupKind.BOOT_VOLUME else None
        if boot_volume and backup.id in self._busy_boot_sources:
            self._busy_boot_volumes.add(boot_volume)
        skip = self._reason_to_skip(listed)
        if skip:
            self.summary.skipped[skip] += 1
            return
        for region in self.summary.destination_regions:
            if indexes[region].has_copy(listed):
                self.summary.already_copied += 1
                self._mark_if_ours(listed, region, indexes[region], invocation)
                continue
            held = self._reason_to_wait(listed, boot_volume)
            if held:
                self.summary.defer(*held)
                continue
            try:
                check_time(invocation)
            except OutOfTime:
                self.summary.defer("Deadline", "deadline")
                raise
            job = CopyJob(listed.spec, backup, self.summary.source_region, self.settings, self.clients, invocation)
            self._record(listed, job.copy_to(region, self.summary.dry_run), boot_volume, invocation)

    def _mark_if_ours(self, listed: Listed, region: str, index: DestinationIndex, invocation: Invocation) -> None:
        """A copy this function made (its source records it) whose mark could not be written then."""
        copy_id = recorded_copy(listed.backup, region)
        if copy_id is None or copy_id not in index.unmarked or self.summary.dry_run:
            return
        check_time(invocation)
        marker = Marker(listed.spec, self.clients, invocation, self.settings.retention_for, self.settings.defined_tag())
        result = marker.repair(listed.backup, region, copy_id)
        entry = {"backupId": listed.backup.id, "destinationRegion": region, "copyId": copy_id}
        if result.marked:
            self.summary.marked.append(entry)
        else:
            self.summary.failed.append({**entry, "reasonCode": result.reason_code or "", "reason": result.reason or ""})

    def _reason_to_skip(self, listed: Listed) -> str | None:
        backup = listed.backup
        if getattr(backup, listed.spec.source_attribute, None):
            # A copy made into this region from elsewhere: its original is another sweep's business.
            return "CopyOfAnotherBackup"
        if getattr(backup, "volume_group_backup_id", None):
            # Copied with its volume group backup; copying it alone would duplicate the data.
            return "VolumeGroupMember"
        if backup.lifecycle_state != AVAILABLE:
            return "NotYetAvailable" if backup.lifecycle_state in NOT_YET_STATES else "NotCopyable"
        if backup.time_created < self.window_start:
            return "OutsideWindow"
        required = self.settings.required_tag()
        if required:
            # The sweep copies what the Events rule would have: the same tag filter applies.
            key, value = required
            tags = backup.freeform_tags or {}
            if key not in tags or (value is not None and tags[key] != value):
                return "TagNotPresent"
        return None

    def _reason_to_wait(self, listed: Listed, boot_volume: str | None) -> tuple[str, StopReason | None] | None:
        if self._attempts >= self.max_copies:
            return "MaxCopies", "max_copies"
        if listed.spec.kind in LIMITED_KINDS:
            if self._limited_blocked or self.summary.in_flight >= COPY_LIMIT:
                self._limited_blocked = True
                return "CopyLimit", "copy_limit"
        elif boot_volume and boot_volume in self._busy_boot_volumes:
            return "BootVolumeBusy", None
        return None

    def _record(self, listed: Listed, copy: CopyResult, boot_volume: str | None, invocation: Invocation) -> None:
        entry = {"backupId": listed.backup.id, "destinationRegion": copy.destination_region}
        if copy.outcome is Outcome.ALREADY_COPIED:
            self.summary.already_copied += 1
            return
        if copy.outcome in (Outcome.COPIED, Outcome.DRY_RUN):
            self._attempts += 1
            if copy.outcome is Outcome.COPIED:
                self.summary.copied.append({**entry, "copyId": copy.copy_id or "", **copy.mark})
            else:
                self.summary.planned.append(entry)
            if listed.spec.kind in LIMITED_KINDS:
                self.summary.in_flight += 1
            elif boot_volume:
                self._busy_boot_volumes.add(boot_volume)
            return
        if copy.reason_code == "LimitExceeded":
            # The service's count includes copies this sweep cannot see (other compartments).
            if listed.spec.kind in LIMITED_KINDS:
                self._limited_blocked = True
                self.summary.defer("CopyLimit", "copy_limit")
            else:
                if boot_volume:
                    self._busy_boot_volumes.add(boot_volume)
                self.summary.defer("BootVolumeBusy")
            return
        if invocation.deadline.remaining() < STEP_SECONDS:
            # Cut off by the deadline, not refused: the copy may even exist; the next run will see.
            self.summary.defer("Deadline", "deadline")
            raise OutOfTime()
        self._attempts += 1
        self.summary.failed.append({**entry, "reasonCode": copy.reason_code or "", "reason": copy.reason or ""})
        self.summary.defer("Failed")
