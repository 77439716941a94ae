"""The world as the emulator records it, and the six promises of copies checked on it (issue 22's five,
and keep-last's exception to "no copy that expires on arrival").

Nothing here takes the function's word for what it did. Each check reads the emulator's own
records: its state (a snapshot of the compartments a test seeded, before and after a step) and
its request log (what the function sent during the step, in the order the emulator served it).
Replaying the log's accepted updates and deletions over the snapshot taken before the step gives
the world as it stood at the moment of each request, which is when a promise must hold.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import unquote

from blockstorage_emulator import Emulator, RecordedRequest
from tests.helpers import (
    MARK_COPY,
    MARK_EXPIRES,
    MARK_SOURCE_BACKUP,
    MARK_SOURCE_CREATED,
    MARK_SOURCE_RESOURCE,
    SOURCE_REGION,
)
from tests.stateful.tally import TALLY

MARK_KEYS = (MARK_COPY, MARK_SOURCE_BACKUP, MARK_SOURCE_RESOURCE, MARK_SOURCE_CREATED, MARK_EXPIRES)
SOURCE_FIELDS = ("sourceVolumeBackupId", "sourceBootVolumeBackupId", "sourceVolumeGroupBackupId")
RESOURCE_FIELDS = ("volumeId", "bootVolumeId", "volumeGroupId")
PRESENT_STATES = frozenset({"REQUEST_RECEIVED", "CREATING", "AVAILABLE"})
GONE_STATES = frozenset({"TERMINATING", "TERMINATED"})
# The copy limit per source region (Oracle's 10 concurrent copies of volume and volume group backups).
COPY_LIMIT = 10
# Skip reasons that by definition concern backups outside "AVAILABLE and in the window", and the
# remaining reasons that only a short budget gives: neither explains a backup promise 5 is about.
# ("Failed" is counted from the answer's `failed` list instead, each entry naming its backup.)
OUTSIDE_THE_PROMISE = frozenset(
    {"OutsideWindow", "NotYetAvailable", "NotCopyable", "CopyOfAnotherBackup", "VolumeGroupMember"}
)
BUDGET_REASONS = frozenset({"MaxCopies", "CopyLimit", "Deadline", "Failed"})
# The source's record of an expiry the function carried out (docs/retention.md, "An expiry is final").
EXPIRY_RECORD_PREFIX = "backup-copier-expired-in-"
# Backups seeded this close to the window's edge are left out of promise 5 (the sweep's clock and
# this check's differ by the step's duration); the machine seeds none there.
WINDOW_MARGIN = timedelta(hours=1)

# A snapshot maps each backup's OCID to the backup as the API renders it, plus the region it lives in.
Snapshot = dict[str, dict[str, Any]]
REGION = "region (the snapshot's)"


def source_of(backup: dict[str, Any]) -> str | None:
    return next((backup[name] for name in SOURCE_FIELDS if backup.get(name)), None)


def resource_of(backup: dict[str, Any]) -> str | None:
    return next((backup[name] for name in RESOURCE_FIELDS if backup.get(name)), None)


def kind_of(backup_id: str) -> str:
    return backup_id.split(".")[1]


def parse_time(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@dataclass(frozen=True)
class Mark:
    """What a copy's tags say, read by the rules of docs/retention.md, independently of the function."""

    valid: bool
    expires: datetime | None = None  # None: never (or no expiry tag)


def read_mark(backup: dict[str, Any]) -> Mark:
    tags = backup.get("freeformTags") or {}
    if tags.get(MARK_COPY) != backup["id"] or tags.get(MARK_SOURCE_BACKUP) != source_of(backup):
        return Mark(False)
    text = tags.get(MARK_EXPIRES)
    if text is None or text.strip().lower() == "never":
        return Mark(True)
    expires = parse_time(text)
    return Mark(expires is not None, expires)


def mark_tags(copy_id: str, source: dict[str, Any], expires: datetime) -> dict[str, str]:
    """The mark this function writes on `copy_id`, a copy of `source` (docs/retention.md's tag keys)."""
    return {
        MARK_COPY: copy_id,
        MARK_SOURCE_BACKUP: source["id"],
        MARK_SOURCE_RESOURCE: resource_of(source) or "",
        MARK_SOURCE_CREATED: source["timeCreated"][:19] + "Z",
        MARK_EXPIRES: expires.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }


def mark_keys(backup: dict[str, Any]) -> dict[str, str]:
    tags = backup.get("freeformTags") or {}
    return {key: tags[key] for key in MARK_KEYS if key in tags}


def resource_id(request: RecordedRequest) -> str:
    """The backup a request addresses: /20160918/<collection>/<id>[/actions/copy]."""
    return unquote(request.path.split("/")[3])


@dataclass(frozen=True)
class SweepRun:
    """One run of a sweep's family (the sweep itself, or each child of a fan-out): what it was
    asked to cover and allowed to copy, whether that was enough, and its answer."""

    compartments: tuple[str, ...]
    max_copies: int
    enough_budget: bool
    answer: dict[str, Any]


@dataclass(frozen=True)
class SweepCheck:
    """What promise 5 needs of one sweep: its window, the regions, and each run of its family."""

    window_start: datetime
    regions: tuple[str, ...]
    runs: tuple[SweepRun, ...]
    # REQUIRED_FREEFORM_TAG as the run's container had it (None: unset): which backups it copies at all.
    required_tag: str | None = None

    @property
    def enough_budget(self) -> bool:
        return any(run.enough_budget for run in self.runs)


@dataclass
class Step:
    """One step of a test: the world before it, what the function sent during it, the world after it."""

    name: str
    before: Snapshot
    requests: list[RecordedRequest]
    after: Snapshot
    keep_last: int = 1
    max_copies: int | None = None
    max_deletes: int | None = None
    sweep: SweepCheck | None = None
    # The answers of a run and of each child it started: promise 3 reads the expiry pass's.
    answers: Sequence[dict[str, Any]] = ()
    # The drill's part of the step (drills.py's Volumes), for a world that reads volumes too.
    volumes: Any = None


@dataclass
class World:
    """The compartments one test (or one example of the machine) seeded, in the source region and each destination."""

    emulator: Emulator
    compartments: tuple[str, ...]
    destinations: tuple[str, ...]
    # Every copy the function deleted, from the request log of every step so far.
    deleted_by_function: set[str] = field(default_factory=set)
    # Of those, the copies whose deletion the expiry pass's answer said it could not record on the
    # source ("recorded": false): the one deletion by the function after which a copy may be made again.
    unrecorded: set[str] = field(default_factory=set)

    def snapshot(self) -> Snapshot:
        """Every backup of the compartments, in the source region and each destination, with its REGION."""
        return {
            backup["id"]: {**backup, REGION: region}
            for region in (SOURCE_REGION, *self.destinations)
            for compartment in self.compartments
            for backup in self.emulator.backups_in(region, compartment)
        }

    def begin(self) -> Snapshot:
        """The world before a step; the request log is emptied so that it holds this step's requests only."""
        self.emulator.clear_requests()
        return self.snapshot()

    def end(self, name: str, before: Snapshot, **details: Any) -> Step:
        """The step, with the requests since `begin` and the world now; `details` are Step's fields."""
        step = Step(name, before, self.emulator.requests, self.snapshot(), **details)
        self.deleted_by_function |= {
            resource_id(r) for r in step.requests if r.operation == "delete" and r.status == 204
        }
        self.unrecorded |= {
            entry["copyId"]
            for answer in step.answers
            if answer.get("action") == "expire"  # a drill's "deleted" is a count
            for entry in answer.get("deleted") or ()
            if entry.get("recorded") is False
        }
        return step

    def missing_copies(
        self, state: Snapshot, compartments: Sequence[str], window_start: datetime, rules: CopyRules | None = None
    ) -> tuple[int, int]:
        """(missing (backup, region) pairs in the window, of them of the kinds the copy limit counts). With
        `rules` (a run's settings, at its start), only the pairs that run would copy: no run copies an
        untagged backup under REQUIRED_FREEFORM_TAG, a pair whose copy expired (the source's record), nor
        one whose copy would expire on arrival, unless keep-last keeps it; none of these spends budget."""
        newest = (
            {b["id"] for b in newest_copied(state, compartments, rules.keep_last, rules.required_tag)}
            if rules
            else set()
        )
        missing = limited = 0
        for backup in in_window(state, compartments, window_start):
            if rules and not carries_required_tag(backup, rules.required_tag):
                continue
            for region in self.destinations:
                if has_copy(state, backup["id"], region):
                    continue
                if rules and not rules.copies(backup, region, backup["id"] in newest):
                    continue
                missing += 1
                limited += kind_of(backup["id"]) in ("volumebackup", "volumegroupbackup")
        return missing, limited

    def copies_in_flight(self, state: Snapshot) -> int:
        """Copies of volume and volume group backups from the source region still being made."""
        return sum(
            1
            for backup in state.values()
            if backup["lifecycleState"] == "CREATING"
            and source_of(backup)
            and not backup.get("volumeGroupBackupId")
            and kind_of(backup["id"]) in ("volumebackup", "volumegroupbackup")
            and state.get(source_of(backup) or "", {}).get(REGION) == SOURCE_REGION
        )

    def sweep_check(
        self,
        before: Snapshot,
        calls: Sequence[tuple[dict[str, Any], dict[str, Any]]],
        started: datetime,
        settings: Mapping[str, str] | None = None,
    ) -> SweepCheck:
        """`calls` are the (body, answer) of the sweep and of each child it started, in order. A
        coordinator that fanned out covers nothing itself: its children do, each with the share
        of maxCopies its body carries. A run had enough budget when it may copy every copy missing
        from its compartments, and the copies in flight leave room under the copy limit for every
        missing copy the limit counts, in the whole scope. With `settings`, the copies missing are
        only those the run would make (missing_copies)."""
        body = calls[0][0]
        window_start = started - timedelta(hours=float(body.get("sinceHours", 168)))
        runs = list(calls[1:]) if calls[0][1].get("outcome") == "fanned_out" else [calls[0]]
        scope = body.get("compartmentIds") or [body["compartmentId"]]
        rules = CopyRules(settings, started) if settings is not None else None
        missing_in_scope = self.missing_copies(before, scope, window_start, rules)
        room = self.copies_in_flight(before) + missing_in_scope[1] <= COPY_LIMIT
        checked = []
        for run_body, answer in runs:
            compartments = tuple(run_body.get("compartmentIds") or [run_body["compartmentId"]])
            max_copies = int(run_body.get("maxCopies", 10))
            missing = self.missing_copies(before, compartments, window_start, rules)[0]
            checked.append(SweepRun(compartments, max_copies, room and missing <= max_copies, answer))
        return SweepCheck(window_start, self.destinations, tuple(checked), rules.required_tag if rules else None)


def in_window(state: Snapshot, compartments: Sequence[str], window_start: datetime) -> Iterator[dict[str, Any]]:
    """Source backups a sweep of `compartments` must copy: AVAILABLE, made in the window, not part of a group."""
    for backup in state.values():
        if (
            backup["compartmentId"] in compartments
            and backup[REGION] == SOURCE_REGION
            and not source_of(backup)
            and not backup.get("volumeGroupBackupId")
            and backup["lifecycleState"] == "AVAILABLE"
            and parse_time(backup["timeCreated"]) >= window_start + WINDOW_MARGIN  # type: ignore[operator]
        ):
            yield backup


def has_copy(state: Snapshot, backup_id: str, region: str) -> bool:
    return any(
        source_of(other) == backup_id and other["lifecycleState"] in PRESENT_STATES and other[REGION] == region
        for other in state.values()
    )


@dataclass(frozen=True)
class CopyRules:
    """Which copies a run makes, by its settings, written out again from docs/retention.md ("When a copy
    expires", "No copy that expires on arrival", "An expiry is final") and docs/deploying.md."""

    settings: Mapping[str, str]
    now: datetime

    @property
    def required_tag(self) -> str | None:
        return self.settings.get("REQUIRED_FREEFORM_TAG")

    @property
    def keep_last(self) -> int:
        return int(self.settings.get("KEEP_LAST_COPIES") or 1)

    def expiry(self, backup: dict[str, Any], region: str) -> datetime | None:
        """When a copy of `backup` made into `region` expires (None: never); the first rule that applies wins."""
        created = parse_time(backup["timeCreated"])
        assert created is not None
        region_days = self.settings.get("COPY_RETENTION_DAYS_" + region.upper().replace("-", "_"))
        if region_days is not None:
            return None if region_days.strip().lower() == "never" else created + timedelta(days=int(region_days))
        if backup.get("expirationTime"):
            return parse_time(backup["expirationTime"])
        days = self.settings.get("COPY_RETENTION_DAYS")
        return created + timedelta(days=int(days)) if days else None

    def copies(self, backup: dict[str, Any], region: str, among_newest: bool) -> bool:
        """Whether a run copies `backup` (missing there) into `region`: not when its copy there expired (the
        source's record), nor when that copy would be past its expiry on arrival, unless keep-last keeps it."""
        if EXPIRY_RECORD_PREFIX + region in (backup.get("freeformTags") or {}):
            return False
        expires = self.expiry(backup, region)
        return expires is None or expires > self.now or among_newest


def carries_required_tag(backup: dict[str, Any], required_tag: str | None) -> bool:
    """REQUIRED_FREEFORM_TAG as docs/deploying.md words it: `key` (present) or `key=value` (equal)."""
    if not required_tag:
        return True
    key, equals, value = required_tag.partition("=")
    tags = backup.get("freeformTags") or {}
    return key.strip() in tags and (not equals or tags[key.strip()] == value.strip())


def newest_copied(
    state: Snapshot, compartments: Sequence[str], keep: int, required_tag: str | None
) -> Iterator[dict[str, Any]]:
    """Each volume's newest `keep` source backups that the function copies at all, as docs/retention.md's
    "No copy that expires on arrival" ranks them: AVAILABLE, not a volume backup inside a volume group
    backup, not itself a copy, carrying REQUIRED_FREEFORM_TAG when it is set; per kind, compartment and
    volume (a backup that names no volume is a volume of its own), whatever the window."""
    volumes: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for backup in state.values():
        if (
            backup["compartmentId"] in compartments
            and backup[REGION] == SOURCE_REGION
            and backup["lifecycleState"] == "AVAILABLE"
            and not source_of(backup)
            and not backup.get("volumeGroupBackupId")
            and carries_required_tag(backup, required_tag)
        ):
            volume = (kind_of(backup["id"]), backup["compartmentId"], resource_of(backup) or backup["id"])
            volumes.setdefault(volume, []).append(backup)
    for backups in volumes.values():
        backups.sort(key=lambda backup: (parse_time(backup["timeCreated"]), backup["id"]), reverse=True)
        yield from backups[:keep]


def replayed(step: Step) -> Iterator[tuple[RecordedRequest, Snapshot]]:
    """Each update and deletion the emulator accepted in the step, with the world just before it."""
    state = copy.deepcopy(step.before)
    for request in step.requests:
        if request.operation not in ("update", "delete") or request.status not in (200, 204):
            continue
        backup_id = resource_id(request)
        if backup_id not in state and backup_id in step.after:
            # A copy made during this step: it began with its source's tags, as OCI copies them.
            made = copy.deepcopy(step.after[backup_id])
            source = state.get(source_of(made) or "", {})
            made["freeformTags"] = dict(source.get("freeformTags") or {})
            state[backup_id] = made
        yield request, state
        if backup_id not in state:
            continue
        if request.operation == "update":
            details = json.loads(request.body)
            if "freeformTags" in details:
                state[backup_id]["freeformTags"] = dict(details["freeformTags"])
        else:
            for gone in (backup_id, *(state[backup_id].get("volumeBackupIds") or ())):
                if gone in state:
                    state[gone]["lifecycleState"] = "TERMINATING"


# The six promises. Each returns the sentences that say how the step broke it (none: it held).


def deletions_were_due(step: Step) -> list[str]:
    """1. A copy is deleted only if, at that moment, it carried a valid mark naming itself, was past its
    expiry, and was not among its volume's newest KEEP_LAST_COPIES in its region (and compartment)."""
    broken = []
    for request, state in replayed(step):
        if request.operation != "delete":
            continue
        TALLY.items["deletions"] += 1
        deleted = state[resource_id(request)]
        mark = read_mark(deleted)
        when = parsedate_to_datetime(request.headers["date"])
        if not mark.valid:
            broken.append(f"{deleted['id']} deleted without a valid mark naming it: {mark_keys(deleted)}")
        elif mark.expires is None or mark.expires > when:
            broken.append(f"{deleted['id']} deleted at {when} before its expiry {mark.expires or 'never'}")
        peers = [
            other
            for other in state.values()
            if other["id"] != deleted["id"]
            and other["lifecycleState"] == "AVAILABLE"
            and kind_of(other["id"]) == kind_of(deleted["id"])
            and other["compartmentId"] == deleted["compartmentId"]
            and other[REGION] == deleted[REGION]
            and resource_of(other) == resource_of(deleted)
            and read_mark(other).valid
        ]
        point = _recovery_point(state, deleted)
        newer = [other for other in peers if _recovery_point(state, other) >= point]
        if len(newer) < step.keep_last:
            broken.append(
                f"{deleted['id']} deleted while among the newest {step.keep_last} copies of {resource_of(deleted)}"
            )
    return broken


def _recovery_point(state: Snapshot, copy_: dict[str, Any]) -> datetime:
    """When its source was made (the moment the copy restores to); the copy's own time if the source is unknown."""
    source = state.get(source_of(copy_) or "")
    return parse_time((source or copy_)["timeCreated"])  # type: ignore[return-value]


def marks_left_alone(step: Step) -> list[str]:
    """2. The function never changes the mark keys of a copy that already carried any of them."""
    broken = []
    for request, state in replayed(step):
        backup = state.get(resource_id(request))
        if request.operation != "update" or backup is None or not source_of(backup):
            continue
        TALLY.items["updates"] += 1
        carried = mark_keys(backup)
        sent = json.loads(request.body).get("freeformTags")
        if not carried or sent is None:
            continue
        written = {key: sent[key] for key in MARK_KEYS if key in sent}
        if written != carried:
            broken.append(f"{backup['id']}: mark keys {carried} rewritten as {written}")
    return broken


def copied_once(step: Step, world: World) -> list[str]:
    """3. A source is never copied into a region twice, unless its earlier copy was deleted by someone
    other than the function. An expiry the function carried out is final (docs/retention.md): not a
    change of settings, not an expiry the operator moved into the past, nothing brings the copy back
    but the operator removing the record of that expiry from the source. The one exception is the
    function's own word: an expiry pass whose answer said it could not write that record (the copy's
    `deleted` entry with "recorded": false), after which the source is copied as before the record."""
    broken = []
    for made in step.after.values():
        source = step.after.get(source_of(made) or "")
        if made["id"] in step.before or source is None or source_of(source) or made.get("volumeGroupBackupId"):
            continue  # not made now, not a copy, a copy of a copy (made by hand), or part of a group's copy
        TALLY.items["copies made"] += 1
        earlier = [
            other
            for other in step.after.values()
            if source_of(other) == source["id"]
            and other[REGION] == made[REGION]
            and other["id"] != made["id"]
            and (other["timeCreated"], other["id"]) < (made["timeCreated"], made["id"])
        ]
        if not earlier:
            continue
        last = max(earlier, key=lambda other: (other["timeCreated"], other["id"]))
        if last["lifecycleState"] not in GONE_STATES:
            broken.append(f"{source['id']} has two live copies in {made[REGION]}: {last['id']}, {made['id']}")
        elif last["id"] in world.unrecorded:
            TALLY.items["copies again after an unrecorded expiry"] += 1
        elif last["id"] in world.deleted_by_function:
            broken.append(
                f"{source['id']} copied into {made[REGION]} again ({made['id']}) after the function deleted {last['id']}"
            )
    return broken


def within_limits(step: Step) -> list[str]:
    """4. No invocation, with its children, makes more copies than maxCopies or more deletions than maxDeletes."""
    made = [
        backup_id
        for backup_id, backup in step.after.items()
        if backup_id not in step.before and source_of(backup) and not backup.get("volumeGroupBackupId")
    ]
    deletions = [r for r in step.requests if r.operation == "delete" and r.status == 204]
    broken = []
    if step.max_copies is not None:
        TALLY.items["limited runs"] += 1
        if len(made) > step.max_copies:
            broken.append(f"{len(made)} copies made with maxCopies {step.max_copies}")
    if step.max_deletes is not None:
        TALLY.items["limited runs"] += 1
        if len(deletions) > step.max_deletes:
            broken.append(f"{len(deletions)} copies deleted with maxDeletes {step.max_deletes}")
    return broken


def runs_with_budget(step: Step) -> Iterator[tuple[SweepCheck, SweepRun]]:
    """The runs of a step's sweep family that had enough budget: those promises 5 and 6 judge."""
    if step.sweep is not None:
        for run in step.sweep.runs:
            if run.enough_budget:
                yield step.sweep, run


def sweep_covered_the_window(step: Step) -> list[str]:
    """5. After a sweep with enough budget, every backup in the window has a copy or a named reason.
    Judged per run of the sweep's family: a child of a fan-out gets its share of maxCopies."""
    broken = []
    for check, run in runs_with_budget(step):
        TALLY.items["sweeps with budget"] += 1
        uncovered = [
            backup["id"]
            for backup in in_window(step.after, run.compartments, check.window_start)
            if not all(has_copy(step.after, backup["id"], region) for region in check.regions)
        ]
        answer = run.answer
        reasons = sum(n for why, n in (answer.get("skippedByReason") or {}).items() if why not in OUTSIDE_THE_PROMISE)
        reasons += sum(n for why, n in (answer.get("remainingByReason") or {}).items() if why not in BUDGET_REASONS)
        reasons += sum(1 for entry in answer.get("failed") or () if "copyId" not in entry)
        if len(uncovered) > reasons:
            broken.append(
                f"{len(uncovered)} backups in the window of {list(run.compartments)} (maxCopies {run.max_copies}) "
                f"without a copy and {reasons} reasons given: {uncovered}"
            )
    return broken


def newest_reach_every_region(step: Step) -> list[str]:
    """6. After a sweep with enough budget, each volume's newest KEEP_LAST_COPIES backups that the function
    copies (newest_copied), those in the window, have a copy in every destination region, or the run
    named why: the source's record that the expiry pass deleted its copy there (an expiry is final), the
    pair in the answer's `failed`, or a pair the answer counts as remaining (the limits, a busy boot
    volume, the deadline). Never ExpiresOnArrival: keep-last keeps these copies whatever their expiry,
    so a volume whose backups stopped, or whose untagged backups came after its tagged one, still
    reaches its DR region (docs/retention.md)."""
    broken = []
    for check, run in runs_with_budget(step):
        answer = run.answer
        failed = {(entry.get("backupId"), entry.get("destinationRegion")) for entry in answer.get("failed") or ()}
        uncovered = []
        for backup in newest_copied(step.after, run.compartments, step.keep_last, check.required_tag):
            if parse_time(backup["timeCreated"]) < check.window_start + WINDOW_MARGIN:  # type: ignore[operator]
                continue
            TALLY.items["newest backups"] += 1
            tags = backup.get("freeformTags") or {}
            for region in check.regions:
                if has_copy(step.after, backup["id"], region):
                    continue
                if EXPIRY_RECORD_PREFIX + region in tags:
                    TALLY.items["newest whose copy expired"] += 1
                elif (backup["id"], region) not in failed:
                    uncovered.append(f"{backup['id']} in {region}")
        remaining = sum((answer.get("remainingByReason") or {}).values())
        if len(uncovered) > remaining:
            broken.append(
                f"{len(uncovered)} of the newest backups the function copies in {list(run.compartments)} "
                f"(KEEP_LAST_COPIES {step.keep_last}, REQUIRED_FREEFORM_TAG {check.required_tag}) without a copy, "
                f"and {remaining} pairs remaining: {uncovered}; skippedByReason {answer.get('skippedByReason')}"
            )
    return broken


def check_all(step: Step, world: World) -> dict[str, list[str]]:
    """Every promise on one step, as the fdk tests check their key scenario."""
    found = {
        "deletions due": deletions_were_due(step),
        "marks left alone": marks_left_alone(step),
        "copied once": copied_once(step, world),
        "within limits": within_limits(step),
        "sweep covers": sweep_covered_the_window(step),
        "newest reach every region": newest_reach_every_region(step),
    }
    for name in found:
        TALLY.checks[name] += 1
    return {name: broken for name, broken in found.items() if broken}
