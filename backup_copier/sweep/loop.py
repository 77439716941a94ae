"""The sweep's loop: for each missing copy of the scope, oldest first, the copy, within the limits.

Each missing copy goes through the event path's CopyJob, which checks the destination
once more right before asking (a copy made since the index was read is found, not
duplicated) and sends the same retry token the event path would, so a sweep racing an
event, or another sweep, converges on one copy.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from ..backups.copy_job import CopyJob
from ..backups.listing import STEP_SECONDS, OutOfTime, check_time
from ..backups.marker import Marker
from ..backups.per_compartment import Step, read_each, scan_invocation
from ..backups.states import AVAILABLE, NOT_YET_STATES
from ..shared.clients import BlockStorageClients
from ..shared.context import Invocation
from ..shared.kinds import BackupKind, KindSpec
from ..shared.result import CopyResult, Outcome
from ..shared.settings import Settings
from ..shared.workers import Workers
from .scan import CompartmentFindings, Listed, Missing, read_compartment, retryable_in_sweep
from .summary import StopReason, Summary

# Concurrent cross-region copies per source region, tenancy-wide, of volume and volume
# group backups (Oracle's documented limit). Boot volume backups: one copy at a time per
# boot volume instead.
COPY_LIMIT = 10
LIMITED_KINDS = frozenset({BackupKind.VOLUME, BackupKind.VOLUME_GROUP})
# Reading takes at most this share of the time left; the rest makes copies (a destination
# check, the copy, and two tag updates each).
SCAN_SHARE = 0.7


def compartment_of(listed: Listed) -> str:
    """The compartment a source backup was listed in, whose metrics count what became of it."""
    return str(listed.backup.compartment_id)


@dataclass
class Backlog:
    """The oldest missing copies of the scope, as many as one run can make, and how many there are.

    A run makes at most maxCopies copies (at most 100); keeping twice that of each sort (the
    kinds the copy limit counts, and boot volume backups, which the limit does not count)
    leaves room for copies found made since the listing, while a first run over a tenancy
    with a hundred thousand missing copies keeps a few hundred in memory.
    """

    keep: int
    held: dict[bool, list[Missing]] = field(default_factory=lambda: {True: [], False: []})
    # (limited, compartment): how many were dropped, so that each compartment counts its own.
    dropped: Counter[tuple[bool, str]] = field(default_factory=Counter)

    def add(self, missing: list[Missing]) -> None:
        for item in missing:
            self.held[item.listed.spec.kind in LIMITED_KINDS].append(item)
        for limited, items in self.held.items():
            if len(items) > 2 * self.keep:
                self._drop(limited, items)

    def oldest_first(self) -> list[Missing]:
        for limited, items in self.held.items():
            self._drop(limited, items)
        return sorted(self.held[True] + self.held[False], key=lambda item: item.order)

    def _drop(self, limited: bool, items: list[Missing]) -> None:
        items.sort(key=lambda item: item.order)
        for item in items[self.keep :]:
            self.dropped[limited, compartment_of(item.listed)] += 1
        del items[self.keep :]


@dataclass
class Sweep:
    summary: Summary
    specs: tuple[KindSpec, ...]
    window_start: datetime
    max_copies: int
    settings: Settings
    clients: BlockStorageClients
    workers: Workers
    invocation: Invocation
    _attempts: int = 0
    _limited_blocked: bool = False
    _busy_boot_volumes: set[str] = field(default_factory=set)

    def run(self, compartments: list[str]) -> None:
        """Read every compartment in the pool, then make the missing copies of the whole scope, oldest first.

        Reading first counts the copies in flight across every compartment read, so that the
        copies started stay under the tenancy's limit for the source region however many
        compartments hold them.
        """
        sweep_invocation = self.invocation.retrying_only(retryable_in_sweep)
        reading = scan_invocation(sweep_invocation, SCAN_SHARE)
        backlog = Backlog(keep=2 * self.max_copies)
        repairs: list[tuple[Listed, str, str]] = []

        def read(compartment_id: str, step: Step) -> CompartmentFindings:
            return read_compartment(
                self.clients,
                reading,
                step,
                compartment_id,
                self.summary.source_region,
                self.summary.destination_regions,
                self.specs,
                self.window_start,
                self._reason_to_skip,
                self.settings.keep_last_copies,
                self.settings.retention_for,
            )

        for compartment_id, found in read_each(compartments, read, self.workers, reading, self.summary.progress):
            self.summary.read_whole(compartment_id)
            self.summary.scanned += found.scanned
            self.summary.skipped.update(found.skipped)
            self.summary.already_copied += found.already_copied
            self.summary.in_flight += found.limited_in_flight
            self._busy_boot_volumes |= found.busy_boot_volumes
            backlog.add(found.missing)
            repairs += found.unmarked_ours
        self.summary.scan_complete = self.summary.progress.complete
        try:
            for listed, region, copy_id in repairs:
                self._mark_if_ours(listed, region, copy_id, sweep_invocation)
            pending = backlog.oldest_first()
            for position, missing in enumerate(pending):
                try:
                    self._copy(missing, sweep_invocation)
                except OutOfTime:
                    # This one was deferred where time ran out; the rest wait for the next run too.
                    for later in pending[position + 1 :]:
                        self.summary.defer(compartment_of(later.listed), "Deadline")
                    break
        except OutOfTime:
            for held in backlog.oldest_first():
                self.summary.defer(compartment_of(held.listed), "Deadline", "deadline")
        self._defer_unheld(backlog)

    def _defer_unheld(self, backlog: Backlog) -> None:
        """The missing copies beyond those held in memory wait for the next run, for whatever stopped this one."""
        for (limited, compartment_id), count in backlog.dropped.items():
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
        listed, region, boot_volume = missing.listed, missing.region, missing.boot_volume
        held = self._reason_to_wait(listed, boot_volume)
        if held:
            self.summary.defer(compartment_of(listed), *held)
            return
        try:
            check_time(invocation)
        except OutOfTime:
            self.summary.defer(compartment_of(listed), "Deadline", "deadline")
            raise
        job = CopyJob(
            listed.spec,
            listed.backup,
            self.summary.source_region,
            self.settings,
            self.clients,
            invocation,
            among_newest=missing.among_newest,
        )
        self._record(listed, job.copy_to(region, self.summary.dry_run), boot_volume, invocation)

    def _mark_if_ours(self, listed: Listed, region: str, copy_id: str, invocation: Invocation) -> None:
        """A copy this function made (its source records it) whose mark could not be written then."""
        if self.summary.dry_run:
            return
        check_time(invocation)
        marker = Marker(listed.spec, self.clients, invocation, self.settings.retention_for, self.settings.defined_tag())
        result = marker.repair(listed.backup, region, copy_id)
        if result.left_alone:
            return  # its tags changed since the listing: not this function's to mark any more
        entry = {"backupId": listed.backup.id, "destinationRegion": region, "copyId": copy_id}
        if result.marked:
            self.summary.marked.append(entry)
        else:
            failure = {**entry, "reasonCode": result.reason_code or "", "reason": result.reason or ""}
            self.summary.record_failure(compartment_of(listed), failure)
            self.summary.record_mark_failure(compartment_of(listed), region)

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
        compartment_id = compartment_of(listed)
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
            if listed.spec.kind in LIMITED_KINDS:
                self.summary.in_flight += 1
            elif boot_volume:
                self._busy_boot_volumes.add(boot_volume)
            return
        if copy.reason_code == "LimitExceeded":
            # The service's count includes copies this sweep cannot see (outside its scope, or made by others).
            if listed.spec.kind in LIMITED_KINDS:
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
