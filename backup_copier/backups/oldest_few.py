"""The oldest few: the `keep` first items of a scope by some order, and a count of the rest.

An action over a scope acts on a few items of it per run (the sweep at most maxCopies copies,
the expiry pass at most maxDeletes deletions), oldest first, and the next run goes on from
there. So it holds only the oldest few of what it found, whatever the scope holds, and counts
the others, by a group of its choosing (the sweep counts each compartment's own), so that the
answer still says how many wait.

Each compartment fills its own in a worker; the scope's takes them in, one at a time, in the
caller's thread (backups/scope_pass.py). Items are sorted only when more than twice `keep`
are held: holding at most twice `keep` costs a few hundred small records, and each item is
sorted a handful of times at most.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")


def _no_group(_: Any) -> None:
    return None


@dataclass
class OldestFew(Generic[Item]):
    """At most `keep` items, the first by `order`; every other item counted by `group(item)`."""

    keep: int
    order: Callable[[Item], Any]
    group: Callable[[Item], Hashable] = _no_group
    # Every item added, held or not.
    seen: int = 0
    # Items let go, by group.
    dropped: Counter[Hashable] = field(default_factory=Counter)
    _held: list[Item] = field(default_factory=list)

    def add(self, item: Item) -> None:
        self.seen += 1
        self._held.append(item)
        if len(self._held) > 2 * self.keep:
            self._trim()

    def extend(self, items: Iterable[Item]) -> None:
        for item in items:
            self.add(item)

    def absorb(self, other: OldestFew[Item]) -> None:
        """Another container's items and counts (a compartment's, into the scope's)."""
        self.seen += other.seen - len(other._held)
        self.dropped.update(other.dropped)
        self.extend(other._held)

    def oldest_first(self) -> list[Item]:
        """The items held, at most `keep`, oldest first."""
        self._trim()
        return list(self._held)

    @property
    def count_dropped(self) -> int:
        return sum(self.dropped.values())

    def _trim(self) -> None:
        self._held.sort(key=self.order)
        for item in self._held[self.keep :]:
            self.dropped[self.group(item)] += 1
        del self._held[self.keep :]
