"""One drill's state, from a fresh read of what it restored: in flight, passed, failed or gone.

- PROVISIONING or RESTORING (a volume group has no RESTORING: it stays PROVISIONING while its
  members restore): in flight, until DRILL_TIMEOUT_MINUTES after the create request;
- AVAILABLE: passed, once it matches its copy (no smaller, and a group has one member per member
  backup, each restored from one of them). Its restore time runs from the create request to this
  pass: the resolution is the schedule's interval, and it measures AVAILABLE (usable: it can be
  attached), not hydrated (`isHydrated`: the data has finished copying in), which the answer
  gives beside it;
- FAULTY, or not AVAILABLE by the timeout: failed;
- TERMINATING or TERMINATED: gone (deleted by a pass that stopped before recording it, or by hand).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from . import marks
from .restored import AVAILABLE, FAULTY, GONE_STATES, Restored

State = Literal["restoring", "passed", "failed", "gone"]


@dataclass(frozen=True)
class Verdict:
    state: State
    reason_code: str | None = None
    reason: str | None = None
    restore_minutes: float | None = None


def judge(
    drill: Restored,
    copy: Any | None,
    members: Sequence[Restored],
    now: datetime,
    timeout_minutes: int,
) -> Verdict:
    """`copy` is the copy as read now (None: it is gone); `members` a group's members as read now."""
    started = drill.started() or now
    if drill.state in GONE_STATES:
        return Verdict("gone", "AlreadyGone", f"it was {drill.state} when read: deleted before this pass recorded it")
    if drill.state == FAULTY:
        return Verdict("failed", "RestoreFaulty", f"OCI set the restored {_label(drill)} FAULTY: the restore failed")
    if drill.state == AVAILABLE:
        problem = mismatch(drill, copy, members)
        if problem:
            return Verdict("failed", "RestoreMismatch", problem)
        return Verdict("passed", restore_minutes=marks.minutes_between(started, now))
    if now - started >= timedelta(minutes=timeout_minutes):
        return Verdict(
            "failed",
            "RestoreTimedOut",
            f"still {drill.state} {marks.minutes_between(started, now):g} minutes after the create request, past "
            f"DRILL_TIMEOUT_MINUTES ({timeout_minutes})",
        )
    return Verdict("restoring")


def mismatch(drill: Restored, copy: Any | None, members: Sequence[Restored]) -> str | None:
    """Why the restored resource does not match its copy, or None."""
    if copy is None:
        return None  # the copy was deleted since (expired): nothing left to compare with
    expected = getattr(copy, "size_in_gbs", None)
    if expected and drill.size_in_gbs is not None and drill.size_in_gbs < expected:
        return f"restored {drill.size_in_gbs} GB, smaller than the copy's {expected} GB"
    if drill.spec.restore.ocid_type != "volumegroup":
        return None
    wanted = set(getattr(copy, "volume_backup_ids", None) or ())
    restored = {member.source_backup_id for member in members}
    if len(members) != len(wanted) or restored != wanted:
        return (
            f"the group holds {len(members)} volumes restored from {len(restored & wanted)} of the copy's "
            f"{len(wanted)} member backups"
        )
    return None


def _label(drill: Restored) -> str:
    return drill.kind.replace("_", " ")
