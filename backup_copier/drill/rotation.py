"""Which volumes a pass drills next: the one whose last drill is oldest, never-drilled first.

A volume (boot volume, volume group) is drilled per destination region: each pair has its own
turn. Its facts come from the copies this function made and marked there: the newest AVAILABLE
one is what a drill restores, and the drill records on all of them (marks.py) say when the
volume was last drilled and last passed. A copy that expires takes its record with it, so a
volume whose drilled copy is gone looks drilled longer ago than it was: it is drilled sooner,
never later.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from ..shared.kinds import BackupKind, KindSpec
from . import marks
from .restored import AVAILABLE


class VolumeKey(NamedTuple):
    region: str
    kind: BackupKind
    volume_id: str


@dataclass(frozen=True)
class CopyFacts:
    """A marked copy as the drill restores it."""

    spec: KindSpec
    region: str
    id: str
    compartment_id: str
    state: str
    time_created: datetime
    size_in_gbs: int | None
    display_name: str

    @classmethod
    def of(cls, copy: Any, spec: KindSpec, region: str, compartment_id: str | None = None) -> CopyFacts:
        """`copy` is a lean record or an SDK model; `compartment_id` where it was listed, when its own is not read."""
        return cls(
            spec=spec,
            region=region,
            id=copy.id,
            compartment_id=getattr(copy, "compartment_id", None) or compartment_id or "",
            state=str(copy.lifecycle_state),
            time_created=copy.time_created,
            size_in_gbs=getattr(copy, "size_in_gbs", None),
            display_name=copy.display_name or "",
        )


@dataclass
class Copies:
    """One (region, kind, volume): its newest AVAILABLE marked copy and what its copies' records say."""

    newest: CopyFacts | None
    # The oldest AVAILABLE copy's creation: a never-passed volume's drill_age_hours is at least its age.
    oldest_available: datetime | None
    last_ended: datetime | None
    last_passed: datetime | None

    @classmethod
    def first(cls, copy: CopyFacts, record: marks.Record) -> Copies:
        copies = cls(None, None, None, None)
        copies.add(copy, record)
        return copies

    def add(self, copy: CopyFacts, record: marks.Record) -> None:
        if copy.state == AVAILABLE:
            if self.newest is None or (copy.time_created, copy.id) > (self.newest.time_created, self.newest.id):
                self.newest = copy
            if self.oldest_available is None or copy.time_created < self.oldest_available:
                self.oldest_available = copy.time_created
        self.last_ended = _later(self.last_ended, record.ended)
        self.last_passed = _later(self.last_passed, record.passed)

    def absorb(self, other: Copies) -> None:
        """The same volume's copies seen in another compartment (a copy was moved)."""
        if other.newest is not None and (
            self.newest is None
            or (other.newest.time_created, other.newest.id) > (self.newest.time_created, self.newest.id)
        ):
            self.newest = other.newest
        if other.oldest_available is not None and (
            self.oldest_available is None or other.oldest_available < self.oldest_available
        ):
            self.oldest_available = other.oldest_available
        self.last_ended = _later(self.last_ended, other.last_ended)
        self.last_passed = _later(self.last_passed, other.last_passed)


def turn_order(key: VolumeKey, copies: Copies) -> tuple[bool, datetime | None, str, str]:
    """Never-drilled first, then the oldest last drill; the volume and region break ties, so every pass
    of a scope agrees on the order."""
    return (copies.last_ended is not None, copies.last_ended, key.volume_id, key.region)


def next_turns(
    volumes: dict[VolumeKey, Copies], busy: Collection[VolumeKey], slots: int
) -> tuple[list[tuple[VolumeKey, CopyFacts]], int]:
    """Up to `slots` volumes to drill, in turn order, and how many more wait for a later pass.

    A volume with a drill of its own still in the region (`busy`) waits; one with no AVAILABLE copy
    has nothing to restore."""
    ready = sorted(
        ((key, copies) for key, copies in volumes.items() if copies.newest is not None and key not in busy),
        key=lambda pair: turn_order(*pair),
    )
    chosen = [(key, copies.newest) for key, copies in ready[: max(0, slots)] if copies.newest is not None]
    return chosen, len(ready) - len(chosen)


def _later(first: datetime | None, second: datetime | None) -> datetime | None:
    return max(filter(None, (first, second)), default=None)
