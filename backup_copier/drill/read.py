"""The drill's reading of its scope: in each compartment and destination region, the copies this
function marked (with their drill records) and the volumes, boot volumes and groups a drill marked.

Every compartment is read in the worker pool by backups/per_compartment.read_each, and folded into
the scope's picture in the caller's thread once read whole (issue 23's scope pass is to take this
module's place: it holds only the read and the fold).

Both listings stay on the SDK's models rather than the lean reader's records: a destination
region holds copies and few live volumes, and the drill keeps a few fields of each item it reads
(rotation.py's facts, restored.py's records), so no page's models outlive the page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..backups.listing import paged, pages
from ..backups.marks import read_mark as read_copy_mark
from ..backups.per_compartment import ScopeProgress, Step, read_each
from ..shared.clients import BlockStorageClients
from ..shared.context import Invocation
from ..shared.kinds import SPECS, KindSpec
from ..shared.workers import Workers
from . import marks
from .restored import Restored
from .rotation import Copies, CopyFacts, VolumeKey


@dataclass(frozen=True)
class RecordedCopy:
    """A copy that carries a drill record, and where it lives."""

    spec: KindSpec
    region: str
    volume_id: str
    record: marks.Record


@dataclass
class ScopeRead:
    """What the pass knows of its scope: each volume's copies and records, and every drill resource."""

    volumes: dict[VolumeKey, Copies] = field(default_factory=dict)
    # Copies that carry a drill record, by OCID: the running record binds a drill to them.
    records: dict[str, RecordedCopy] = field(default_factory=dict)
    # Resources carrying this function's drill mark (function key), not TERMINATED.
    drills: list[Restored] = field(default_factory=list)
    # Resources carrying another function's drill mark: never touched, counted in the answer.
    others: int = 0
    # Compartments read whole, where the pass posts figures.
    compartments: list[str] = field(default_factory=list)

    def absorb(self, compartment_id: str, other: ScopeRead) -> None:
        self.compartments.append(compartment_id)
        for key, copies in other.volumes.items():
            mine = self.volumes.get(key)
            if mine is None:
                self.volumes[key] = copies
            else:
                mine.absorb(copies)
        self.records.update(other.records)
        self.drills += other.drills
        self.others += other.others


def read_scope(
    clients: BlockStorageClients,
    workers: Workers,
    reading: Invocation,
    regions: tuple[str, ...],
    compartments: Iterable[str],
    progress: ScopeProgress,
    function_id: str,
) -> ScopeRead:
    scope = ScopeRead()

    def read(compartment_id: str, step: Step) -> ScopeRead:
        found = ScopeRead()
        for region in regions:
            step.doing("list the copies", region)
            _read_copies(clients, reading, region, compartment_id, found)
            step.doing("list the restored volumes", region)
            _read_restored(clients, reading, region, compartment_id, function_id, found)
        return found

    for compartment_id, found in read_each(compartments, read, workers, reading, progress):
        scope.absorb(compartment_id, found)
    return scope


def _read_copies(clients: Any, reading: Invocation, region: str, compartment_id: str, found: ScopeRead) -> None:
    for spec in SPECS.values():
        for copy in pages(clients, reading, region, spec, compartment_id, "DESC"):
            if getattr(copy, "volume_group_backup_id", None) or copy.lifecycle_state == "TERMINATED":
                continue  # a group's member backup is drilled with its group
            mark = read_copy_mark(copy, spec).mark
            if mark is None:
                continue  # only a copy this function made and marked is drilled
            record = marks.read_record(marks.tags_of(copy))
            key = VolumeKey(region, spec.kind, mark.source_resource_id or copy.id)
            if record.running or record.last:
                found.records[copy.id] = RecordedCopy(spec, region, key.volume_id, record)
            facts = CopyFacts.of(copy, spec, region)
            copies = found.volumes.get(key)
            if copies is None:
                found.volumes[key] = Copies.first(facts, record)
            else:
                copies.add(facts, record)


def _read_restored(
    clients: Any, reading: Invocation, region: str, compartment_id: str, function_id: str, found: ScopeRead
) -> None:
    client = clients.for_region(region)
    for spec in SPECS.values():
        listing = getattr(client, spec.restore.list_operation)
        for model in paged(listing, reading, compartment_id=compartment_id):
            if model.lifecycle_state == "TERMINATED" or not marks.carries_function_key(marks.tags_of(model)):
                continue
            if marks.tags_of(model)[marks.FUNCTION_KEY] != function_id:
                found.others += 1
                continue
            found.drills.append(Restored.of(spec, region, model))
