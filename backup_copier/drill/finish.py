"""A pass's first phase: every drill this function created and marked, read fresh, judged, and ended.

For each drill resource the pass listed (a volume, boot volume or volume group carrying this
function's mark), and for each copy whose running record names one the listing no longer shows:
- read it fresh (its ETag comes with it) and prove it a drill (marks.proof); anything else carrying
  the function's key (a clone, a copied mark) is counted and never touched, and a drill whose OCID
  nothing binds yet is reported (it still holds a slot of maxRestores: what it costs is bounded);
- judge it (verdict.py); a passed or failed drill is deleted (teardown.py), and its verdict
  written on its copy, merged with If-Match, with the running record removed once it is deleted.
A verdict is written once: a drill whose copy's last record already names it (its delete failed,
or it is attached) is only ended again, never judged again. State lives in OCI: a pass that stops
anywhere leaves what the next pass needs to go on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from oci import exceptions as oci_exceptions

from ..backups import states as backup_states
from ..backups.listing import OutOfTime, check_time
from ..shared.clients import BlockStorageClients
from ..shared.context import Invocation
from ..shared.errors import InvalidRequest
from ..shared.kinds import BY_RESTORED_OCID_TYPE, KindSpec
from ..shared.ocids import parse_ocid
from ..shared.outcomes import SERVICE_FAILURES, verdict_for
from . import marks, tags
from .read import RecordedCopy
from .restored import GONE_STATES, Restored, write_mark
from .rotation import VolumeKey
from .summary import Entry, Summary
from .teardown import DRILL_STATEMENTS, Ending, Teardown
from .verdict import Verdict, judge

# A drill created by a pass running at the same moment may not be bound yet: no alarm for this long.
BIND_GRACE = timedelta(minutes=5)


@dataclass
class Finisher:
    clients: BlockStorageClients
    teardown: Teardown
    invocation: Invocation
    function_id: str
    timeout_minutes: int
    dry_run: bool
    now: datetime
    summary: Summary
    # The drill records of the copies the pass listed, by copy OCID.
    records: dict[str, RecordedCopy]
    # The volumes whose drill this pass saw (in flight, ended or not provable): they wait for their next turn.
    busy: set[VolumeKey] = field(default_factory=set)
    # Copies as read in this pass, by OCID, with their ETag (None: gone).
    _copies: dict[str, tuple[Any, str | None] | None] = field(default_factory=dict)

    @property
    def holding(self) -> int:
        """Drills holding a slot of maxRestores: anything not deleted, gone, or left to an operator."""
        return sum(1 for entry in self.summary.entries if _holds_slot(entry, self.dry_run))

    def finish(self, drills: list[Restored]) -> None:
        """Every drill listed, groups and volumes first, then the members of deleted groups."""
        live = {drill.id for drill in drills}
        try:
            for drill in sorted(drills, key=lambda d: (d.is_member, d.region, d.id)):
                check_time(self.invocation)
                if drill.is_member:
                    self._member(drill, live)
                else:
                    self._drill(drill)
            for copy_id, recorded in sorted(self.records.items()):
                if recorded.record.running and recorded.record.running not in live:
                    check_time(self.invocation)
                    self._unlisted(copy_id, recorded)
        except OutOfTime:
            self.summary.stopped_early = True

    # A drill: a volume, boot volume or volume group restored from one copy

    def _drill(self, listed: Restored) -> None:
        mark = listed.mark
        if mark is None:
            self.summary.not_drills += 1  # the function's key, but not a whole mark: never touched
            return
        fresh = self._read(listed.spec, listed.region, listed.id)
        entry = Entry(mark.volume_id, listed.kind, listed.region, mark.copy_id, listed.id, "gone")
        entry.compartment_id = listed.compartment_id
        if fresh is None or fresh.state == "TERMINATED":
            # Gone since it was listed: recorded on its copy only if the listing proved it a drill.
            recorded = self.records.get(mark.copy_id)
            running = recorded.record.running if recorded else None
            if marks.proof(listed.id, listed.tags, listed.source_backup_id, self.function_id, running) is None:
                self._record(listed.spec, entry, Verdict("gone"), ended=True)
                self.summary.add(entry)
            return
        problem = marks.proof(fresh.id, fresh.tags, fresh.source_backup_id, self.function_id, self._running(fresh))
        if problem is not None:
            self._not_proven(fresh, entry, problem)
            return
        fresh_mark = fresh.mark
        assert fresh_mark is not None  # proven
        entry.size_in_gbs, entry.hydrated = fresh.size_in_gbs, fresh.hydrated if fresh.state == "AVAILABLE" else None
        # A volume whose drill this pass saw waits for its next turn, whatever becomes of the drill.
        self.busy.add(VolumeKey(fresh.region, fresh.spec.kind, fresh_mark.volume_id))
        self.summary.add(entry)
        if fresh_mark.resource_id is None and not self.dry_run:
            fresh = self._rewrite(fresh, fresh_mark)
        members = self._members(fresh, fresh_mark)
        verdict: Verdict | None = None
        if self._judged(fresh_mark.copy_id, fresh.id):
            entry.state = "ending"
        else:
            # Its copy is read only to compare it with what is AVAILABLE.
            copy = self._copy(fresh.spec, fresh.region, fresh_mark.copy_id) if fresh.state == "AVAILABLE" else None
            verdict = judge(fresh, copy[0] if copy else None, members, self.now, self.timeout_minutes)
            entry.state, entry.restore_minutes = verdict.state, verdict.restore_minutes
            entry.reason_code, entry.reason = verdict.reason_code, verdict.reason
            if verdict.state == "restoring":
                return
            if verdict.state == "gone":
                self._record(fresh.spec, entry, verdict, ended=True)
                return
        ending = self._end(fresh, members, entry)
        ended = ending is not None and ending.done in ("deleted", "gone")
        if verdict is not None or ended:
            self._record(fresh.spec, entry, verdict, ended=ended)

    def _end(self, drill: Restored, members: list[Restored], entry: Entry) -> Ending | None:
        if self.dry_run:
            entry.would_delete = True
            return None
        if drill.spec.restore.attachments_operation is None:
            ending = self.teardown.group(drill, members)
        else:
            ending = self.teardown.volume(drill)
        _apply(ending, entry)
        return ending

    # A member of a volume group the drill restored: deleted once it has left its group

    def _member(self, listed: Restored, live: set[str]) -> None:
        if listed.group_id is not None:
            return  # still in its group: ended with it (the group's entry), or after it
        fresh = self._read(listed.spec, listed.region, listed.id)
        if fresh is None or fresh.state in GONE_STATES:
            return
        mark = fresh.mark
        problem = marks.proof(fresh.id, fresh.tags, fresh.source_backup_id, self.function_id, None)
        if mark is None or problem is not None:
            self.summary.not_drills += 1
            return
        entry = self.summary.add(
            Entry(mark.volume_id, fresh.kind, fresh.region, mark.copy_id, fresh.id, "ending", group=mark.group_id)
        )
        entry.size_in_gbs, entry.compartment_id = fresh.size_in_gbs, fresh.compartment_id
        if fresh.group_id is not None:
            entry.reason_code, entry.reason = "InGroup", f"waits to leave volume group {fresh.group_id}"
            return
        if self.dry_run:
            entry.would_delete = True
            return
        _apply(self.teardown.volume(fresh), entry)

    def _members(self, group: Restored, mark: marks.DrillMark) -> list[Restored]:
        """The group's volumes that its restore made, read fresh; each is given the drill's mark if it lacks
        it (not in a dry run).

        Membership alone proves nothing: anyone may add a volume to the group (UpdateVolumeGroup), and a
        volume marked here is one a later pass deletes. So a member counts only when it was restored from
        one of the copy's own member backups (volumeBackupIds); any other is left out, unmarked, and stays
        when the group is deleted (deleting a group leaves its volumes). If the copy cannot be read, an
        unmarked member is not marked, and the group waits for it (teardown.group's MembersUnmarked)."""
        try:
            copy = self._copy(group.spec, group.region, mark.copy_id)
        except SERVICE_FAILURES:
            copy = None
        restored_from = set(getattr(copy[0], "volume_backup_ids", None) or ()) if copy else None
        members = []
        for member_id in group.member_ids:
            spec = BY_RESTORED_OCID_TYPE.get(member_id.split(".")[1])
            member = self._read(spec, group.region, member_id) if spec else None
            if member is None:
                continue
            if restored_from is not None and member.source_backup_id not in restored_from:
                continue  # not of this restore: someone's volume, added to the group
            if marks.read_mark(member.tags) is None and not self.dry_run and restored_from is not None:
                member = self._mark_member(member, group, mark) or member
            members.append(member)
        return members

    def _mark_member(self, member: Restored, group: Restored, mark: marks.DrillMark) -> Restored | None:
        """The whole mark on a member: OCI made it for this drill's create request (it is in the group's
        volumeIds), but a group's request tags do not reach its members."""
        member_mark = marks.DrillMark(
            self.function_id, member.source_backup_id or "", mark.volume_id, mark.started, member.id, group.id
        )
        try:
            return write_mark(self.clients, member, member_mark, self.invocation)
        except (*SERVICE_FAILURES, tags.TagsChanging):
            return None  # the group waits for its members' marks (teardown.group): tried again next pass

    # Reading and recording

    def _read(self, spec: KindSpec | None, region: str, resource_id: str) -> Restored | None:
        """The resource as it is now, with its ETag; None when it is gone (404)."""
        if spec is None:
            return None
        client = self.clients.for_region(region)
        try:
            response = getattr(client, spec.restore.get_operation)(
                resource_id, retry_strategy=self.invocation.retry_strategy
            )
        except oci_exceptions.ServiceError as error:
            if error.status == 404:
                return None
            raise
        return Restored.of(spec, region, response.data, response.headers.get("etag"))

    def _copy(self, spec: KindSpec, region: str, copy_id: str) -> tuple[Any, str | None] | None:
        """The copy as read now (model and ETag), once per pass; None when it is gone."""
        if copy_id not in self._copies:
            try:
                response = getattr(self.clients.for_region(region), spec.get_operation)(
                    copy_id, retry_strategy=self.invocation.retry_strategy
                )
                self._copies[copy_id] = (response.data, response.headers.get("etag"))
            except oci_exceptions.ServiceError as error:
                if error.status != 404:
                    raise
                self._copies[copy_id] = None
        return self._copies[copy_id]

    def _running(self, drill: Restored) -> str | None:
        """The running record of the copy the drill was restored from, when its mark needs it (no resource key
        yet): from the listing, else read. Only a copy its own sourceDetails name is read, never one a tag names."""
        mark = drill.mark
        if mark is None or mark.resource_id is not None or not drill.source_backup_id:
            return None
        recorded = self.records.get(drill.source_backup_id)
        if recorded is not None:
            return recorded.record.running
        try:
            copy = self._copy(drill.spec, drill.region, drill.source_backup_id)
        except SERVICE_FAILURES:
            return None
        return marks.read_record(marks.tags_of(copy[0])).running if copy else None

    def _judged(self, copy_id: str, resource_id: str) -> bool:
        recorded = self.records.get(copy_id)
        last = recorded.record.last if recorded else None
        return last is not None and last.resource_id == resource_id

    def _record(self, spec: KindSpec, entry: Entry, verdict: Verdict | None, *, ended: bool) -> None:
        """The verdict (if new) on the copy, and the running record removed once the drill has ended."""
        if self.dry_run or entry.restored is None:
            return
        last = None
        if verdict is not None and not self._judged(entry.copy, entry.restored):
            detail = f"{verdict.restore_minutes:g}" if verdict.restore_minutes is not None else verdict.reason_code
            last = marks.LastDrill(verdict.state, self.now, detail or "", entry.restored)
        if last is None and not ended:
            return
        restored = entry.restored
        try:
            copy = self._copy(spec, entry.region, entry.copy)
            if copy is None or copy[0].lifecycle_state in backup_states.GONE_STATES:
                # The copy is gone or going (expired): its record goes with it, and OCI refuses a
                # TERMINATING backup's update with 409, which is no failure of the drill's.
                return
            tags.merge_tags(
                self.clients.for_region(entry.region),
                tags.Operations.of_copy(spec),
                entry.copy,
                lambda current: marks.recorded_tags(
                    marks.tags_of(current), stopped=restored if ended else None, last=last
                ),
                self.invocation,
                known=copy,
            )
            self._copies.pop(entry.copy, None)  # its ETag changed
        except (*SERVICE_FAILURES, tags.TagsChanging) as error:
            said = str(error) if isinstance(error, tags.TagsChanging) else _said(error, entry)
            entry.fail(
                "RecordFailed",
                f"the drill's verdict could not be written on its copy ({said}); the next pass judges it again",
            )

    def _rewrite(self, drill: Restored, mark: marks.DrillMark) -> Restored:
        """A drill bound by its copy's running record only: its mark now names its own OCID too. The drill
        as written (its new ETag, for the delete's If-Match), or as it was if the write failed."""
        bound = marks.DrillMark(mark.function_id, mark.copy_id, mark.volume_id, mark.started, drill.id)
        try:
            return write_mark(self.clients, drill, bound, self.invocation)
        except (*SERVICE_FAILURES, tags.TagsChanging):
            return drill  # still bound by the copy's record; tried again next pass

    def _not_proven(self, fresh: Restored, entry: Entry, problem: str) -> None:
        mark = fresh.mark
        # Only a whole mark of this function, on the backup it names, that no tag yet binds to another OCID:
        # what a pass that stopped between its create and its tag writes leaves. Anything else is no drill.
        bindable = (
            mark is not None
            and mark.function_id == self.function_id
            and mark.copy_id == fresh.source_backup_id
            and mark.resource_id is None
            and mark.group_id is None
        )
        if not bindable or mark is None:
            self.summary.not_drills += 1
            return
        entry.state = "unproven"
        self.summary.add(entry)
        self.busy.add(VolumeKey(fresh.region, fresh.spec.kind, mark.volume_id))
        if self.now - mark.started >= BIND_GRACE:
            entry.fail(
                "DrillUnbound",
                f"it carries this function's drill mark, but {problem}: it is never deleted. Delete it by hand, and "
                f"add {DRILL_STATEMENTS} (the tag writes after a restore need them)",
            )

    def _unlisted(self, copy_id: str, recorded: RecordedCopy) -> None:
        """A copy's running record names a drill the listing did not show: gone (deleted by a pass that stopped
        before it could say so, or by hand), which is recorded and never a failure; or alive elsewhere (moved to
        another compartment), which is left for a scope that lists it."""
        running = _restored_ocid(recorded.record.running)
        spec = BY_RESTORED_OCID_TYPE.get(running.split(".")[1]) if running else None
        if running is None or spec is None:
            return  # a tag value that is no OCID of what a drill restores: never read, never sent in a URL
        fresh = self._read(spec, recorded.region, running)
        if fresh is not None and fresh.state not in GONE_STATES:
            return
        entry = self.summary.add(
            Entry(recorded.volume_id, recorded.spec.kind.value, recorded.region, copy_id, running, "gone")
        )
        self.busy.add(VolumeKey(recorded.region, recorded.spec.kind, recorded.volume_id))
        self._record(recorded.spec, entry, Verdict("gone", "AlreadyGone"), ended=True)


def _restored_ocid(value: str | None) -> str | None:
    """A tag's value as the OCID of a volume, boot volume or volume group, checked before it goes in a URL."""
    try:
        return parse_ocid(value, field=marks.RUNNING_KEY, types=BY_RESTORED_OCID_TYPE.keys(), regional=True).value
    except InvalidRequest:
        return None


def _apply(ending: Ending, entry: Entry) -> None:
    """What the teardown did, in the drill's entry."""
    entry.deleted = ending.done in ("deleted", "gone")
    entry.left_attached = ending.done in ("attached", "refused")
    if ending.done in ("attached", "refused", "waiting", "changed"):
        if entry.state != "failed":
            entry.reason_code, entry.reason = ending.reason_code, ending.reason
    elif ending.done == "failed":
        entry.fail(ending.reason_code, ending.reason)


def _holds_slot(entry: Entry, dry_run: bool) -> bool:
    """Whether the drill still counts against maxRestores: until it is deleted (or would be, in a dry run),
    gone, or left to an operator. A member of a deleted group holds none unless its own delete failed."""
    if entry.deleted or entry.would_delete or entry.left_attached or entry.state == "gone":
        return False
    return entry.group is None or entry.problem


def _said(error: BaseException, entry: Entry) -> str:
    return verdict_for(error, action=f"tag {entry.copy}", region=entry.region).reason
