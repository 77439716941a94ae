"""The drill's mark on what it restores, its proof, and its record on the copy it restored.

The mark: freeform tags with keys of their own (never the copy mark's, backups/marks.py), set
in the create request and rewritten right after it:
- `backup-copier-drill-function`: the OCID of the function that made it (FN_FN_ID), so that
  two deployments of this function never take each other's drills;
- `backup-copier-drill-copy`: the backup it was restored from (on a group's member, its member backup);
- `backup-copier-drill-volume`: the volume (boot volume, volume group) that backup is of;
- `backup-copier-drill-started`: when the create request was sent, from which the restore time
  and the timeout count;
- `backup-copier-drill-resource`: the resource's own OCID, which only the update after creation
  can write (the OCID is not known before);
- `backup-copier-drill-group`: on a member only, the drill's volume group. A group's
  create-request tags do not reach its members (unconfirmed in OCI either way), so the drill
  writes the whole mark on each member once the group exists, before it deletes anything.

What proves a resource is a drill of this function (proof()), all on the resource as read:
1. its function key is this function's OCID;
2. its copy key names the backup its own sourceDetails name;
3. its OCID is bound to the drill: its resource key names it, or the copy's running record
   does (written right after the create, so a pass stopped before the rewrite leaves a drill
   the next pass still proves; a member has only its own key).
A restore of one of our copies by hand carries the copy's tags (Oracle: "When the volume is
restored from a backup, the volume is restored with the source volume's tags"), which hold no
key of the mark; a clone of a drill volume carries the drill's mark, but its sourceDetails name
the drill volume, not the copy (2); a mark copied onto another volume names another OCID (3).

The record on the copy, also keys of their own, which selection and drill_age_hours read:
- `backup-copier-drill-running`: the drill in flight (its OCID), removed once it is deleted or gone;
- `backup-copier-drill-last`: `<passed|failed|gone> <ended> <minutes, or a reason code> <OCID>`;
- `backup-copier-drill-passed`: when the copy's last passed drill ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..backups.marks import format_time, parse_time

PREFIX = "backup-copier-drill-"
FUNCTION_KEY = PREFIX + "function"
COPY_KEY = PREFIX + "copy"
VOLUME_KEY = PREFIX + "volume"
STARTED_KEY = PREFIX + "started"
RESOURCE_KEY = PREFIX + "resource"
GROUP_KEY = PREFIX + "group"
RUNNING_KEY = PREFIX + "running"
LAST_KEY = PREFIX + "last"
PASSED_KEY = PREFIX + "passed"
# Every key this function writes, on a copy (backups/marks.py) or on a drill: a drill's rewritten mark drops
# those it inherited from the copy, which describe the copy, not the drill.
_OWN_PREFIX = "backup-copier-"


@dataclass(frozen=True)
class DrillMark:
    function_id: str
    copy_id: str
    volume_id: str
    started: datetime
    # None until the update after creation wrote it.
    resource_id: str | None = None
    # A volume group's member: the drill's volume group.
    group_id: str | None = None

    def tags(self) -> dict[str, str]:
        tags = {
            FUNCTION_KEY: self.function_id,
            COPY_KEY: self.copy_id,
            VOLUME_KEY: self.volume_id,
            STARTED_KEY: format_time(self.started),
        }
        if self.resource_id:
            tags[RESOURCE_KEY] = self.resource_id
        if self.group_id:
            tags[GROUP_KEY] = self.group_id
        return tags


def read_mark(tags: dict[str, str] | None) -> DrillMark | None:
    """The drill mark the tags carry, or None when they carry none (or only part of one, or a bad time)."""
    tags = tags or {}
    function_id, copy_id, started = tags.get(FUNCTION_KEY), tags.get(COPY_KEY), parse_time(tags.get(STARTED_KEY, ""))
    if not function_id or not copy_id or started is None:
        return None
    return DrillMark(
        function_id=function_id,
        copy_id=copy_id,
        volume_id=tags.get(VOLUME_KEY, ""),
        started=started,
        resource_id=tags.get(RESOURCE_KEY) or None,
        group_id=tags.get(GROUP_KEY) or None,
    )


def carries_function_key(tags: dict[str, str] | None) -> bool:
    return bool((tags or {}).get(FUNCTION_KEY))


def rewritten_tags(existing: dict[str, str] | None, mark: DrillMark) -> dict[str, str]:
    """The resource's tags with the whole mark, its own OCID included. OCI replaces the map whole on
    update, so the tags already there stay, except this function's keys inherited from the copy."""
    kept = {key: value for key, value in (existing or {}).items() if not key.startswith(_OWN_PREFIX)}
    return {**kept, **mark.tags()}


def proof(
    resource_id: str, tags: dict[str, str] | None, source_backup_id: str | None, function_id: str, running: str | None
) -> str | None:
    """None when the resource as read is a drill of this function; else why it is not, in words.

    `running` is the drill the copy named by the mark records as in flight (None when unknown).
    """
    mark = read_mark(tags)
    if mark is None:
        return "it carries no whole drill mark"
    if mark.function_id != function_id:
        return f"its {FUNCTION_KEY} names another function"
    if not source_backup_id or mark.copy_id != source_backup_id:
        return f"its {COPY_KEY} does not name the backup it was restored from (a clone, or a copied mark)"
    if mark.resource_id == resource_id:
        return None
    if mark.resource_id is None and mark.group_id is None and running == resource_id:
        return None
    if mark.resource_id is not None:
        return f"its {RESOURCE_KEY} names another resource (a copied mark)"
    return f"nothing binds its OCID to the drill: no {RESOURCE_KEY} on it, and its copy's {RUNNING_KEY} names another"


@dataclass(frozen=True)
class LastDrill:
    """The copy's last drill: its verdict, when it ended, its minutes or reason code, and what it restored."""

    verdict: str  # passed, failed or gone
    ended: datetime
    detail: str
    # Empty when the restore itself was refused: nothing was created.
    resource_id: str

    def value(self) -> str:
        return f"{self.verdict} {format_time(self.ended)} {self.detail or '-'} {self.resource_id or '-'}"

    @classmethod
    def parse(cls, value: str | None) -> LastDrill | None:
        parts = (value or "").split()
        if len(parts) != 4:
            return None
        ended = parse_time(parts[1])
        if ended is None:
            return None
        return cls(parts[0], ended, "" if parts[2] == "-" else parts[2], "" if parts[3] == "-" else parts[3])


@dataclass(frozen=True)
class Record:
    """What a copy's tags say of its drills."""

    running: str | None = None
    last: LastDrill | None = None
    passed: datetime | None = None

    @property
    def ended(self) -> datetime | None:
        return self.last.ended if self.last else None


def read_record(tags: dict[str, str] | None) -> Record:
    tags = tags or {}
    return Record(
        running=tags.get(RUNNING_KEY) or None,
        last=LastDrill.parse(tags.get(LAST_KEY)),
        passed=parse_time(tags.get(PASSED_KEY, "")),
    )


def recorded_tags(
    existing: dict[str, str] | None,
    *,
    running: str | None = None,
    stopped: str | None = None,
    last: LastDrill | None = None,
) -> dict[str, str]:
    """The copy's tags with the record changed; every other key, the copy's mark first, kept as it is.

    `running` starts a drill; `stopped` removes the running record if it still names that drill (a
    newer drill's record is never removed); `last` records a verdict, and a pass also `passed`."""
    tags = dict(existing or {})
    if stopped is not None and tags.get(RUNNING_KEY) == stopped:
        del tags[RUNNING_KEY]
    if running is not None:
        tags[RUNNING_KEY] = running
    if last is not None:
        tags[LAST_KEY] = last.value()
        if last.verdict == "passed":
            tags[PASSED_KEY] = format_time(last.ended)
    return tags


def minutes_between(start: datetime, end: datetime) -> float:
    return round(max(0.0, (end - start).total_seconds()) / 60, 1)


def utc_now() -> datetime:
    return datetime.now(UTC)


def tags_of(model: Any) -> dict[str, str]:
    tags: dict[str, str] = getattr(model, "freeform_tags", None) or {}
    return tags
