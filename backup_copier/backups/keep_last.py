"""Keep-last: the newest few of each volume's backups, kept whatever their expiry.

The expiry pass keeps the newest KEEP_LAST_COPIES AVAILABLE marked copies of each volume in
each region (expire/plan.py); for the same reason a backup among its volume's newest
KEEP_LAST_COPIES is copied even when its copy would expire on arrival (arrival.py). Both rank
with Newest, in whatever order the items come: memory grows with volumes, not with backups.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import datetime

# What is ranked together: (kind, volume, boot volume or volume group OCID).
Key = tuple[str, str]


@dataclass
class Newest:
    """Per key, the newest `keep` items seen, as a min-heap of (moment, id)."""

    keep: int
    _heaps: dict[Key, list[tuple[datetime, str]]] = field(default_factory=dict)

    def see(self, key: Key, moment: datetime, item_id: str) -> None:
        heap = self._heaps.setdefault(key, [])
        entry = (moment, item_id)
        if entry in heap:
            return  # seen twice (the event path adds the backup itself, then lists it)
        if len(heap) < self.keep:
            heapq.heappush(heap, entry)
        elif entry > heap[0]:
            heapq.heapreplace(heap, entry)

    def holds(self, key: Key, item_id: str) -> bool:
        return any(held == item_id for _, held in self._heaps.get(key, ()))

    def ids(self) -> set[str]:
        return {item_id for heap in self._heaps.values() for _, item_id in heap}
