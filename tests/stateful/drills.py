"""Restore drills in the world (issue 25), and the five promises a drill keeps, checked on it.

As world.py does for copies, nothing here takes the function's word. A step's volumes, boot
volumes and volume groups are read from the emulator before and after it (and the attachments
its instances hold, in whatever compartment), and its request log is replayed over them: each
update and deletion the function sent is judged on the world as it stood at that moment. The
proof that a resource is a drill is written out again from docs/drills.md, with the tag keys as
that page names them, not imported from drill/marks.py: a mistake there must not be mirrored here.

What the world remembers across steps (DrillWorld): which resources the function created (a new
resource in a step whose log holds an accepted create request from the same backup; a group's
volumes with their group), which of them the create request itself marked, and which volumes
OCI refused to delete with 409 Conflict.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from blockstorage_emulator import RecordedRequest
from tests.drill.support import (
    DRILL_COPY,
    DRILL_FUNCTION,
    DRILL_GROUP,
    DRILL_LEFT,
    DRILL_RESOURCE,
    DRILL_RUNNING,
    DRILL_STARTED,
)
from tests.stateful.tally import TALLY
from tests.stateful.world import GONE_STATES, REGION, Snapshot, Step, World, parse_time, resource_id

RESTORED_KINDS = ("volume", "boot_volume", "volume_group")
CREATES = frozenset(f"create_{kind}" for kind in RESTORED_KINDS)
UPDATES = frozenset(f"update_{kind}" for kind in RESTORED_KINDS)
DELETES = frozenset(f"delete_{kind}" for kind in RESTORED_KINDS)
DRILL_PREFIX = "backup-copier-drill-"
# Attachment states in which an instance holds the volume (Compute's VolumeAttachment.lifecycleState).
HOLDING_STATES = frozenset({"ATTACHING", "ATTACHED", "DETACHING"})
# What the function created: a drill (a volume, boot volume or group restored from a copy), or a group's volume.
DRILL, MEMBER = "drill", "member"


def source_id(resource: dict[str, Any]) -> str | None:
    """The backup a resource was restored from (a group's sourceDetails name it differently), or None."""
    details = resource.get("sourceDetails") or {}
    return details.get("id") or details.get("volumeGroupBackupId")


def kind_of(resource: dict[str, Any]) -> str:
    return {"volume": "volume", "bootvolume": "boot_volume", "volumegroup": "volume_group"}[
        resource["id"].split(".")[1]
    ]


@dataclass(frozen=True)
class DrillRun:
    """One drill pass as the machine (or a test) asked for it, and its answer."""

    body: dict[str, Any]
    answer: dict[str, Any]
    compartments: tuple[str, ...]
    regions: tuple[str, ...]
    max_restores: int
    dry_run: bool
    # An OCID the body named outside the scope fields (the machine's "body's word" variant).
    named: str | None = None
    # The answers of the passes the same step ran before this one (the machine's "drills settle").
    earlier: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Volumes:
    """The drill's part of one step: the resources before and after it, the attachments as they stood
    (no step of the function attaches or detaches), the pass it was (if any), and what the world knew
    before it."""

    before: Snapshot
    after: Snapshot
    attachments: tuple[dict[str, Any], ...]
    run: DrillRun | None = None
    # The step was the machine's "drills settle": every drill that existed before it must have ended.
    settled: bool = False
    refused_earlier: frozenset[str] = frozenset()

    def holders(self) -> dict[str, dict[str, Any]]:
        """The attachment holding each volume, by volume OCID."""
        return {
            a.get("volumeId") or a["bootVolumeId"]: a for a in self.attachments if a["lifecycleState"] in HOLDING_STATES
        }


@dataclass
class DrillWorld(World):
    """World, plus the volumes, boot volumes and volume groups of its compartments in its destinations."""

    function_id: str = ""
    # What the function created, by OCID, in the order it appeared: DRILL or MEMBER.
    created: dict[str, str] = field(default_factory=dict)
    # Drills whose create request carried the mark (function and copy keys) naming their own source.
    marked_at_creation: set[str] = field(default_factory=set)
    # Volumes whose delete OCI refused with 409 Conflict (attached from another compartment).
    refused: set[str] = field(default_factory=set)
    _volumes_before: Snapshot = field(default_factory=dict)
    _attachments: tuple[dict[str, Any], ...] = ()

    def volume_snapshot(self) -> Snapshot:
        return {
            resource["id"]: {**resource, REGION: region}
            for region in self.destinations
            for resource in self.emulator.volumes(region)
            if resource["compartmentId"] in self.compartments
        }

    def begin(self) -> Snapshot:
        before = super().begin()
        self._volumes_before = self.volume_snapshot()
        self._attachments = tuple(self.emulator.attachments())
        return before

    def end(
        self, name: str, before: Snapshot, *, run: DrillRun | None = None, settled: bool = False, **details: Any
    ) -> Step:
        step = super().end(name, before, **details)
        volumes = Volumes(
            self._volumes_before,
            self.volume_snapshot(),
            self._attachments,
            run,
            settled,
            frozenset(self.refused),
        )
        step.volumes = volumes
        self._learn(step, volumes)
        return step

    def live_drills(
        self, *, kinds: tuple[str, ...] = RESTORED_KINDS, states: tuple[str, ...] = ()
    ) -> list[dict[str, Any]]:
        """What the function created that is still there, in the order it appeared (which replays the same)."""
        now = self.volume_snapshot()
        found = [now[i] for i in self.created if i in now and now[i]["lifecycleState"] not in GONE_STATES]
        return [r for r in found if kind_of(r) in kinds and (not states or r["lifecycleState"] in states)]

    def _learn(self, step: Step, volumes: Volumes) -> None:
        creates = [json.loads(r.body) for r in step.requests if r.operation in CREATES and r.status == 200]
        for resource in volumes.after.values():
            if resource["id"] in volumes.before or resource["id"] in self.created:
                continue
            request = next(
                (
                    body
                    for body in creates
                    if source_id(body) == source_id(resource) and body["compartmentId"] == resource["compartmentId"]
                ),
                None,
            )
            if request is None:
                continue  # made by the operator (a clone, a restore by hand), or a group's volume (below)
            self.created[resource["id"]] = DRILL
            tags = request.get("freeformTags") or {}
            if tags.get(DRILL_FUNCTION) == self.function_id and tags.get(DRILL_COPY) == source_id(resource):
                self.marked_at_creation.add(resource["id"])
            for member in resource.get("volumeIds") or ():
                self.created.setdefault(member, MEMBER)
        self.refused |= {
            resource_id(r)
            for r in step.requests
            if r.operation in DELETES and r.status == 409 and r.error_code == "Conflict"
        }


def replayed(step: Step) -> Iterator[tuple[RecordedRequest, Snapshot, Snapshot]]:
    """Each update and delete the function sent a volume, boot volume or group in the step, accepted or
    not, with the resources and the backups just before it. Accepted updates of either change the tags
    the next request sees (a copy's running record binds a drill), accepted deletes the state."""
    volumes: Snapshot = step.volumes.before if step.volumes else {}
    after: Snapshot = step.volumes.after if step.volumes else {}
    resources = copy.deepcopy(volumes)
    backups = {backup_id: {"freeformTags": dict(b.get("freeformTags") or {})} for backup_id, b in step.before.items()}
    for request in step.requests:
        target = resource_id(request) if request.path.count("/") >= 3 else ""
        if request.operation == "update" and request.status == 200 and target in backups:
            tags = json.loads(request.body).get("freeformTags")
            if tags is not None:
                backups[target]["freeformTags"] = dict(tags)
            continue
        if request.operation not in UPDATES | DELETES:
            continue
        if target not in resources and target in after:
            resources[target] = copy.deepcopy(after[target])  # created in this step: as it ended it
        yield request, resources, backups
        if target not in resources or request.status not in (200, 204):
            continue
        if request.operation in UPDATES:
            tags = json.loads(request.body).get("freeformTags")
            if tags is not None:
                resources[target]["freeformTags"] = dict(tags)
        else:
            resources[target]["lifecycleState"] = "TERMINATING"


def proof(resource: dict[str, Any], backups: Snapshot, function_id: str) -> str | None:
    """None when the resource, as it stands, proves itself a drill of this function (docs/drills.md,
    "The proof"); else why not. `backups` give the running record of the copy it was restored from."""
    tags = resource.get("freeformTags") or {}
    if tags.get(DRILL_FUNCTION) != function_id:
        return f"its {DRILL_FUNCTION} is {tags.get(DRILL_FUNCTION)!r}, not the function's OCID"
    if parse_time(tags.get(DRILL_STARTED, "")) is None:
        return f"its {DRILL_STARTED} is {tags.get(DRILL_STARTED)!r}: no whole mark"
    source = source_id(resource)
    if not source or tags.get(DRILL_COPY) != source:
        return f"its {DRILL_COPY} {tags.get(DRILL_COPY)!r} is not the backup it was restored from ({source})"
    if tags.get(DRILL_RESOURCE) == resource["id"]:
        return None
    running = (backups.get(source) or {}).get("freeformTags", {}).get(DRILL_RUNNING)
    if DRILL_RESOURCE not in tags and DRILL_GROUP not in tags and running == resource["id"]:
        return None
    return (
        f"nothing binds its OCID: {DRILL_RESOURCE} {tags.get(DRILL_RESOURCE)!r}, its copy's {DRILL_RUNNING} {running!r}"
    )


def _held(volumes: Volumes, resource: dict[str, Any], state: Snapshot, *, visible: bool) -> list[str]:
    """The volumes of `resource` (itself, or a group's) an instance holds, per the emulator's attachment
    records; `visible`: only those attached from the volume's own compartment, which its listing shows."""
    holders = volumes.holders()
    found = []
    for volume_id in (resource["id"], *(resource.get("volumeIds") or ())):
        holder = holders.get(volume_id)
        if holder is None:
            continue
        compartment = (state.get(volume_id) or volumes.after.get(volume_id) or {}).get("compartmentId")
        if not visible or holder["compartmentId"] == compartment:
            found.append(f"{volume_id} (instance {holder['instanceId']}, attachment in {holder['compartmentId']})")
    return found


# The drill's promises. Each returns the sentences that say how the step broke it (none: it held).


def drill_deletes_proven_drills(step: Step, world: DrillWorld) -> list[str]:
    """6. A volume, boot volume or group is deleted only if the function created it, its create request
    marked it (a group's volume: marked since), and at that moment it proved itself a drill; never one
    the body named. A body naming an OCID outside the scope is refused, with nothing sent."""
    volumes = step.volumes
    if volumes is None:
        return []
    broken = []
    run = volumes.run
    if run is not None and run.named is not None:
        TALLY.items["bodies naming an OCID"] += 1
        if run.answer.get("outcome") != "rejected" or step.requests:
            broken.append(
                f"a drill body naming {run.named} answered {run.answer.get('outcome')} with {len(step.requests)} "
                "requests sent"
            )
    for request, state, backups in replayed(step):
        if request.operation not in DELETES or request.status != 204:
            continue
        TALLY.items["drill deletions"] += 1
        deleted = state.get(resource_id(request))
        if deleted is None:
            broken.append(f"{resource_id(request)} deleted, a resource outside the world")
            continue
        made = world.created.get(deleted["id"])
        if made is None:
            broken.append(f"{deleted['id']} deleted, which the function did not create")
        elif made == DRILL and deleted["id"] not in world.marked_at_creation:
            broken.append(f"{deleted['id']} deleted, whose create request did not mark it")
        problem = proof(deleted, backups, world.function_id)
        if problem is not None:
            broken.append(f"{deleted['id']} deleted, not proven a drill: {problem}")
        if run is not None and deleted["id"] in json.dumps(run.body):
            broken.append(f"{deleted['id']} deleted, which the body named")
    return broken


def drills_attached_are_kept(step: Step, world: DrillWorld) -> list[str]:
    """7. No volume or boot volume an instance holds is deleted (whatever compartment the attachment is
    in), nor a group one of whose volumes is held where its listing shows it; no delete is even sent
    for what the listing shows attached; and a delete OCI refused with 409 Conflict is never sent again
    (not in the same pass, nor later while the volume carries backup-copier-drill-left)."""
    volumes = step.volumes
    if volumes is None:
        return []
    broken = []
    TALLY.items["drills attached"] += sum(1 for volume_id in volumes.holders() if volume_id in world.created)
    refused_now: set[str] = set()
    for request, state, _ in replayed(step):
        if request.operation not in DELETES:
            continue
        target = state.get(resource_id(request))
        if target is None:
            continue
        TALLY.items["drill deletes sent"] += 1
        accepted = request.status == 204
        if accepted and kind_of(target) != "volume_group" and _held(volumes, target, state, visible=False):
            broken.append(f"{target['id']} deleted while attached: {_held(volumes, target, state, visible=False)}")
        visible = _held(volumes, target, state, visible=True)
        if visible:
            broken.append(f"a delete of {target['id']} sent while its listing shows it attached: {visible}")
        if target["id"] in refused_now:
            broken.append(f"a delete of {target['id']} sent again after OCI refused it with 409 Conflict")
        elif target["id"] in volumes.refused_earlier and DRILL_LEFT in (target.get("freeformTags") or {}):
            broken.append(f"a delete of {target['id']} sent again though it carries {DRILL_LEFT}")
        if request.status == 409 and request.error_code == "Conflict":
            refused_now.add(target["id"])
    return broken


def in_flight(volumes: Volumes, world: DrillWorld, run: DrillRun) -> list[str]:
    """The drills the function has in flight in the run's scope after it: what it created, still there and
    carrying its mark's function key, not left to an operator (held by an instance, or refused)."""
    found = []
    for resource in volumes.after.values():
        tags = resource.get("freeformTags") or {}
        if (
            world.created.get(resource["id"]) == DRILL
            and resource["compartmentId"] in run.compartments
            and resource[REGION] in run.regions
            and resource["lifecycleState"] not in GONE_STATES
            and tags.get(DRILL_FUNCTION) == world.function_id
            and DRILL_LEFT not in tags
            and not _held(volumes, resource, volumes.after, visible=False)
        ):
            found.append(resource["id"])
    return found


def drills_within_max_restores(step: Step, world: DrillWorld) -> list[str]:
    """8. A drill pass that starts a drill leaves at most maxRestores in flight across its scope; a dry
    run starts none."""
    volumes = step.volumes
    run = volumes.run if volumes else None
    if volumes is None or run is None or run.named is not None:
        return []
    started = [i for i in volumes.after if i not in volumes.before and world.created.get(i) == DRILL]
    if run.dry_run:
        return [f"a dry run started {started}"] if started else []
    if not started:
        return []
    TALLY.items["passes that started drills"] += 1
    flying = in_flight(volumes, world, run)
    if len(flying) > run.max_restores:
        return [f"{len(flying)} drills in flight after a pass with maxRestores {run.max_restores}: {flying}"]
    return []


def drills_left_to_the_drill(step: Step, world: DrillWorld) -> list[str]:
    """9. Only a drill pass creates, changes or deletes a volume, boot volume or group: never a sweep, an
    expiry pass or an event. A drill pass never deletes a copy. And a drill pass in a dry run sends
    only reads (GET): no restore, no delete, no tag, no metric."""
    volumes = step.volumes
    run = volumes.run if volumes else None
    writes = [r for r in step.requests if r.operation in CREATES | UPDATES | DELETES]
    if run is None:
        return [f"{r.operation} {resource_id(r)} sent by a step that is no drill pass" for r in writes]
    if run.dry_run:
        TALLY.items["dry runs"] += 1
        return [f"a dry run sent {r.method} {r.path}" for r in step.requests if r.method != "GET"]
    deleted_copies = [resource_id(r) for r in step.requests if r.operation == "delete"]
    if deleted_copies:
        return [f"a drill pass sent a delete of the copies {deleted_copies}"]
    TALLY.items["drill writes"] += len(writes)
    # Promise 2 (world.py) judges these: the record on a copy never changes the copy's mark keys.
    TALLY.items["drill records on copies"] += sum(1 for r in step.requests if _records_a_drill(r))
    return []


def _records_a_drill(request: RecordedRequest) -> bool:
    if request.operation != "update" or request.status != 200:
        return False
    tags = json.loads(request.body).get("freeformTags") or {}
    return any(key.startswith(DRILL_PREFIX) for key in tags)


def drills_end(step: Step, world: DrillWorld) -> list[str]:
    """10. Whatever became of a drill's copy (expired, deleted by hand), once OCI finishes its restores
    two passes later every drill that existed before is deleted, unless it is left to an operator:
    held by an instance (or a group one of whose volumes is), refused (backup-copier-drill-left), its
    function key removed, or nothing proves it a drill (reported, never deleted). And a copy that is
    gone or going (expired, deleted by hand) never fails a pass: its record goes with it."""
    volumes = step.volumes
    if volumes is None:
        return []
    broken = _copies_gone_fail_nothing(step, volumes)
    if not volumes.settled:
        return broken
    backups = step.after
    after = volumes.after
    for resource_id_, made in world.created.items():
        before = volumes.before.get(resource_id_)
        if before is None or before["lifecycleState"] in GONE_STATES:
            continue
        TALLY.items["drills settled"] += 1
        now = after[resource_id_]
        if now["lifecycleState"] in GONE_STATES:
            continue
        tags = now.get("freeformTags") or {}
        if (
            now.get("volumeGroupId") in after  # still in its group, which is judged itself
            or _held(volumes, now, after, visible=False)
            or DRILL_LEFT in tags
            or tags.get(DRILL_FUNCTION) != world.function_id
            or proof(now, backups, world.function_id) is not None
        ):
            continue
        broken.append(f"{made} {resource_id_} still {now['lifecycleState']} after the drills settled: {tags}")
    return broken


def _copies_gone_fail_nothing(step: Step, volumes: Volumes) -> list[str]:
    """The drills of a pass whose verdict could not be written on their copy, though the copy was already
    gone (TERMINATING, TERMINATED or not found) when the pass began: none."""
    run = volumes.run
    entries = [entry for answer in ((*run.earlier, run.answer) if run else ()) for entry in answer.get("drills") or ()]
    broken = []
    for entry in entries:
        copy = step.before.get(entry.get("copy"))
        if copy and copy["lifecycleState"] not in GONE_STATES:
            continue
        TALLY.items["drills of copies gone"] += 1
        if entry.get("reasonCode") == "RecordFailed":
            broken.append(f"the drill {entry['restored']} failed for its copy {entry['copy']}, which is gone: {entry}")
    return broken


PROMISES = {
    "drill deletes proven": drill_deletes_proven_drills,
    "drills attached kept": drills_attached_are_kept,
    "drills within maxRestores": drills_within_max_restores,
    "drills left to the drill": drills_left_to_the_drill,
    "drills end": drills_end,
}


def check_all(step: Step, world: DrillWorld) -> dict[str, list[str]]:
    """Every drill promise on one step, as the fdk tests check their key scenario."""
    found = {name: promise(step, world) for name, promise in PROMISES.items()}
    for name in found:
        TALLY.checks[name] += 1
    return {name: broken for name, broken in found.items() if broken}
