"""What a drill pass reads of one compartment (its `read`, backups/scope_pass.py), and the scope's
picture each compartment read whole is folded into (its `fold`).

In each destination region: the copies this function made and marked, through the pass's lean
records (with their tags: the marks and the drill records are there), and the volumes, boot
volumes and volume groups that carry a drill's function key. Those three listings stay on the
SDK's models: the lean reader's records are for backups, a destination region holds few live
volumes next to its copies, and only the few fields of restored.py's record outlive the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..backups.listing import paged
from ..backups.marks import read_mark as read_copy_mark
from ..backups.scope_pass import CompartmentRead
from ..shared.kinds import SPECS, KindSpec
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


def read_compartment(
    clients: Any, compartment: CompartmentRead, regions: tuple[str, ...], function_id: str
) -> ScopeRead:
    """One compartment, in every destination region: its marked copies, then its drill resources."""
    found = ScopeRead()
    for region in regions:
        compartment.step.doing("list the copies", region)
        _read_copies(clients, compartment, region, found)
        compartment.step.doing("list the restored volumes", region)
        _read_restored(clients, compartment, region, function_id, found)
    return found


def _read_copies(clients: Any, compartment: CompartmentRead, region: str, found: ScopeRead) -> None:
    for spec in SPECS.values():
        for copy in compartment.backups(clients, region, spec, "DESC"):
            if getattr(copy, "volume_group_backup_id", None) or copy.lifecycle_state == "TERMINATED":
                continue  # a group's member backup is drilled with its group
            mark = read_copy_mark(copy, spec).mark
            if mark is None:
                continue  # only a copy this function made and marked is drilled
            record = marks.read_record(marks.tags_of(copy))
            key = VolumeKey(region, spec.kind, mark.source_resource_id or copy.id)
            if record.running or record.last:
                found.records[copy.id] = RecordedCopy(spec, region, key.volume_id, record)
            facts = CopyFacts.of(copy, spec, region, compartment.compartment_id)
            copies = found.volumes.get(key)
            if copies is None:
                found.volumes[key] = Copies.first(facts, record)
            else:
                copies.add(facts, record)


def _read_restored(clients: Any, compartment: CompartmentRead, region: str, function_id: str, found: ScopeRead) -> None:
    client = clients.for_region(region)
    for spec in SPECS.values():
        listing = getattr(client, spec.restore.list_operation)
        for model in paged(listing, compartment.invocation, compartment_id=compartment.compartment_id):
            if model.lifecycle_state == "TERMINATED" or not marks.carries_function_key(marks.tags_of(model)):
                continue
            if marks.tags_of(model)[marks.FUNCTION_KEY] != function_id:
                found.others += 1
                continue
            found.drills.append(Restored.of(spec, region, model))
