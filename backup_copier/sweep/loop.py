"""The sweep's loop: for each missing copy of the scope, oldest first, the copy, within the limits.

Each missing copy goes through the event path's CopyJob, which checks the destination
once more right before asking (a copy made since the index was read is found, not
duplicated) and sends the same retry token the event path would, so a sweep racing an
event, or another sweep, converges on one copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..backups.arrival import copied_by_this_function
from ..backups.copy_job import CopyJob
from ..backups.listing import STEP_SECONDS, OutOfTime, check_time
from ..backups.marker import Marker
from ..backups.oldest_few import OldestFew
from ..backups.scope_pass import CompartmentRead, ScopePass
from ..backups.states import AVAILABLE, NOT_YET_STATES
from ..shared.clients import BlockStorageClients
from ..shared.context import Invocation
from ..shared.kinds import KindSpec
from ..shared.result import CopyResult, Outcome
from ..shared.settings import Settings
from .scan import (
    LIMITED_KINDS,
    CompartmentFindings,
    Missing,
    MissingCopies,
    Repair,
    SweepReading,
    new_repairs,
    read_compartment,
)
from .summary import StopReason, Summary

# Concurrent cross-region copies per source region, tenancy-wide, of volume and volume
# group backups (Oracle's documented limit). Boot volume backups: one copy at a time per
# boot volume instead.
COPY_LIMIT = 10


@dataclass
class Sweep(ScopePass[CompartmentFindings]):
    """The sweep over its scope (backups/scope_pass.py): read every compartment in the pool, then
    make the missing copies of the whole scope, oldest first.

    Reading first counts the copies in flight across every compartment read, so that the
    copies started stay under the tenancy's limit for the source region however many
    compartments hold them.
    """

    summary: Summary
    specs: tuple[KindSpec, ...]
    window_start: datetime
    max_copies: int
    settings: Settings
    clients: BlockStorageClients
    _attempts: int = 0
    _limited_blocked: bool = False
    _busy_boot_volumes: set[str] = field(default_factory=set)
    _backlog: MissingCopies = field(init=False)
    _repairs: OldestFew[Repair] = field(default_factory=new_repairs)

    # Reading takes at most this share of the time left; the rest makes copies (a destination
    # check, the copy, and two tag updates each).
    read_share = 0.7

    def __post_init__(self) -> None:
        self._backlog = MissingCopies(keep=2 * self.max_copies)

    def read(self, compartment: CompartmentRead) -> CompartmentFindings:
        return read_compartment(
            compartment,
            SweepReading(
                self.clients,
                self.summary.source_region,
                self.summary.destination_regions,
                self.specs,
                self.window_start,
                self._reason_to_skip,
                self.settings.keep_last_copies,
                copied_by_this_function(self.settings),
                self.settings.retention_for,
                keep=2 * self.max_copies,
            ),
        )

    def fold(self, compartment_id: str, found: CompartmentFindings) -> None:
        self.summary.read_whole(compartment_id)
        self.summary.scanned += found.scanned
        self.summary.skipped.update(found.skipped)
        self.summary.already_copied += found.already_copied
        self.summary.in_flight += found.limited_in_flight
        self._busy_boot_volumes |= found.busy_boot_volumes
        self._backlog.absorb(found.missing)
        self._repairs.absorb(found.unmarked_ours)

    def act(self, invocation: Invocation) -> None:
        self.summary.scan_complete = self.summary.progress.complete
        self.summary.marks_waiting = self._repairs.count_dropped
        backlog = self._backlog
        try:
            for repair in self._repairs.oldest_first():
                self._mark_if_ours(repair, invocation)
            pending = backlog.oldest_first()
            for position, missing in enumerate(pending):
                try:
                    self._copy(missing, invocation)
                except OutOfTime:
                    # This one was deferred where time ran out; the rest wait for the next run too.
                    for later in pending[position + 1 :]:
                        self.summary.defer(later.compartment_id, "Deadline")
                    break
        except OutOfTime:
            for held in backlog.oldest_first():
                self.summary.defer(held.compartment_id, "Deadline", "deadline")
        self._defer_unheld(backlog)

    def _defer_unheld(self, backlog: MissingCopies) -> None:
        """The missing copies beyond those held in memory wait for the next run, for whatever stopped this one."""
        for (limited, compartment_id), count in backlog.dropped().items():
            if not count:
                continue
            stop: StopReason
            if self.summary.stopped_early == "deadline":
                why, stop = "Deadline", "deadline"
            elif limited and self._limited_blocked:
                why, stop = "CopyLimit", "copy_limit"
            else:
                why, stop = "MaxCopies", "max_copies"
            self.summary.defer(compartment_id, why, stop, count)

    def _copy(self, missing: Missing, invocation: Invocation) -> None:
        region, boot_volume = missing.region, missing.boot_volume
        held = self._reason_to_wait(missing.spec, boot_volume)
        if held:
            self.summary.defer(missing.compartment_id, *held)
            return
        try:
            check_time(invocation)
        except OutOfTime:
            self.summary.defer(missing.compartment_id, "Deadline", "deadline")
            raise
        job = CopyJob(
            missing.spec,
            missing.backup,
            self.summary.source_region,
            self.settings,
            self.clients,
            invocation,
            among_newest=missing.among_newest,
        )
        self._record(missing, job.copy_to(region, self.summary.dry_run), invocation)

    def _mark_if_ours(self, repair: Repair, invocation: Invocation) -> None:
        """A copy this function made (its source records it) whose mark could not be written then."""
        if self.summary.dry_run:
            return
        check_time(invocation)
        marker = Marker(repair.spec, self.clients, invocation, self.settings.retention_for, self.settings.defined_tag())
        result = marker.repair(repair.backup, repair.region, repair.copy_id)
        if result.left_alone:
            return  # its tags changed since the listing: not this function's to mark any more
        entry = {"backupId": repair.backup.id, "destinationRegion": repair.region, "copyId": repair.copy_id}
        if result.marked:
            self.summary.marked.append(entry)
        else:
            failure = {**entry, "reasonCode": result.reason_code or "", "reason": result.reason or ""}
            self.summary.record_failure(repair.compartment_id, failure)
            self.summary.record_mark_failure(repair.compartment_id, repair.region)

    def _reason_to_skip(self, spec: KindSpec, backup: Any) -> str | None:
        if getattr(backup, spec.source_attribute, None):
            # A copy made into this region from elsewhere: its original is another sweep's business.
            return "CopyOfAnotherBackup"
        if getattr(backup, "volume_group_backup_id", None):
            # Copied with its volume group backup; copying it alone would duplicate the data.
            return "VolumeGroupMember"
        if backup.lifecycle_state != AVAILABLE:
            return "NotYetAvailable" if backup.lifecycle_state in NOT_YET_STATES else "NotCopyable"
        if backup.time_created < self.window_start:
            return "OutsideWindow"
        if not self.settings.carries_required_tag(backup.freeform_tags):
            # The sweep copies what the Events rule would have: the same tag filter applies.
            return "TagNotPresent"
        return None

    def _reason_to_wait(self, spec: KindSpec, boot_volume: str | None) -> tuple[str, StopReason | None] | None:
        if self._attempts >= self.max_copies:
            return "MaxCopies", "max_copies"
        if spec.kind in LIMITED_KINDS:
            if self._limited_blocked or self.summary.in_flight >= COPY_LIMIT:
                self._limited_blocked = True
                return "CopyLimit", "copy_limit"
        elif boot_volume and boot_volume in self._busy_boot_volumes:
            return "BootVolumeBusy", None
        return None

    def _record(self, missing: Missing, copy: CopyResult, invocation: Invocation) -> None:
        entry = {"backupId": missing.backup.id, "destinationRegion": copy.destination_region}
        compartment_id, boot_volume = missing.compartment_id, missing.boot_volume
        if copy.mark_failed:
            self.summary.record_mark_failure(compartment_id, copy.destination_region)
        if copy.outcome is Outcome.ALREADY_COPIED:
            self.summary.already_copied += 1
            return
        if copy.outcome is Outcome.SKIPPED:
            # ExpiresOnArrival, its expiry passed since the compartment was read: counted as the scan counts it.
            self.summary.skipped[copy.reason_code or "Skipped"] += 1
            return
        if copy.outcome in (Outcome.COPIED, Outcome.DRY_RUN):
            self._attempts += 1
            if copy.outcome is Outcome.COPIED:
                self.summary.record_copy(compartment_id, {**entry, "copyId": copy.copy_id or "", **copy.mark})
            else:
                self.summary.planned.append(entry)
            if missing.limited:
                self.summary.in_flight += 1
            elif boot_volume:
                self._busy_boot_volumes.add(boot_volume)
            return
        if copy.reason_code == "LimitExceeded":
            # The service's count includes copies this sweep cannot see (outside its scope, or made by others).
            if missing.limited:
                self._limited_blocked = True
                self.summary.defer(compartment_id, "CopyLimit", "copy_limit")
            else:
                if boot_volume:
                    self._busy_boot_volumes.add(boot_volume)
                self.summary.defer(compartment_id, "BootVolumeBusy")
            return
        if invocation.deadline.remaining() < STEP_SECONDS:
            # Cut off by the deadline, not refused: the copy may even exist; the next run will see.
            self.summary.defer(compartment_id, "Deadline", "deadline")
            raise OutOfTime()
        self._attempts += 1
        failure = {**entry, "reasonCode": copy.reason_code or "", "reason": copy.reason or ""}
        self.summary.record_failure(compartment_id, failure)
        self.summary.defer(compartment_id, "Failed")
