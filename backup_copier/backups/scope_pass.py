"""One pass over a scope, for every action that reads one: read each compartment, fold it, then act.

An action over many compartments (the sweep, the expiry pass, the report; restore drills next)
is a ScopePass and brings only what is its own:
- `read_share`: the share of its time that reading may take; the rest is kept for acting;
- `read(compartment)`: in a worker, one compartment's listings (lean records, through
  CompartmentRead.backups) turned into a small summary of that compartment, never its pages;
- `fold(compartment_id, found)`: in the caller's thread, each compartment's summary once that
  compartment was read whole; it keeps the oldest few items it may act on (oldest_few.py);
- `act(invocation)`: with the time that is left, on what was folded, and on nothing else.

The pass owns the rest, once for every action:
- the scope's compartments (compartments.py), listed through Identity;
- the reading's deadline, its share of the invocation's time;
- the worker pool, each compartment read whole or not at all (per_compartment.py);
- each compartment's malformed items, absorbed with it into the answer's `malformedItems`;
- the memory guard (shared/memory.py): no compartment starts once resident memory is above its
  high-water mark, and what was read is still acted on and answered;
- ScopeProgress: which compartments were read, failed or left, and the one sentence saying so.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from ..shared.context import Invocation
from ..shared.kinds import KindSpec
from ..shared.memory import MemoryGuard
from ..shared.runtime import Container
from ..shared.scope import Scope
from .compartments import compartments_in
from .lean_listing import MalformedItems, backup_records
from .listing import pages
from .per_compartment import ScopeProgress, Step, read_each

Found = TypeVar("Found")


def sdk_model_backups(
    clients: Any,
    invocation: Invocation,
    region: str,
    spec: KindSpec,
    compartment_id: str,
    order: str,
    malformed: MalformedItems,
    *,
    tags: bool = True,
    **filters: Any,
) -> Iterator[Any]:
    """backup_records(), as the SDK's models (tags always): for the equivalence test only (read_backups)."""
    return pages(clients, invocation, region, spec, compartment_id, order, **filters)


# Every list read of every pass: lean records from the raw page (lean_listing.py). The test-only
# switch: tests/scope/test_pass_equivalence.py sets it to sdk_model_backups to show that every
# pass answers the same from the SDK's models as from lean records. Nothing else does.
read_backups = backup_records


@dataclass
class CompartmentRead:
    """What a worker's read of one compartment is given: where it is, and how to list it."""

    compartment_id: str
    # What the worker is doing, for the sentence should the compartment fail.
    step: Step
    # The reading's deadline (its share of the time), which every page is checked against.
    invocation: Invocation
    # This compartment's own; the scope's takes it in once the compartment was read whole.
    malformed: MalformedItems = field(default_factory=MalformedItems)

    def backups(
        self, clients: Any, region: str, spec: KindSpec, order: str, *, tags: bool = True, **filters: Any
    ) -> Iterator[Any]:
        """Every backup of `spec`'s kind in this compartment in `region`, by creation time in `order`
        (ASC or DESC), one page in memory at a time; with tags=False, without their freeform tags
        nor the fields only tag-reading passes use, nor the compartment's OCID (records.py: a pass
        that reads no tag is spared about half of each record)."""
        invocation, compartment_id, malformed = self.invocation, self.compartment_id, self.malformed
        return read_backups(clients, invocation, region, spec, compartment_id, order, malformed, tags=tags, **filters)


class ScopePass(ABC, Generic[Found]):
    """An action over the compartments of a scope: its read of one, its fold, and its act."""

    # The share of the time left that reading may take; the rest is for act().
    read_share: ClassVar[float]

    @abstractmethod
    def read(self, compartment: CompartmentRead) -> Found:
        """In a worker: one compartment, read whole, as what the action keeps of it."""

    @abstractmethod
    def fold(self, compartment_id: str, found: Found) -> None:
        """In the caller's thread: a compartment read whole, added to the scope's picture."""

    @abstractmethod
    def act(self, invocation: Invocation) -> None:
        """With the time left: act on what was folded (only compartments read whole were)."""

    def run(
        self,
        scope: Scope,
        container: Container,
        home_region: str,
        invocation: Invocation,
        progress: ScopeProgress,
        guard: MemoryGuard | None = None,
    ) -> list[str]:
        """Read every compartment of `scope`, fold each one read whole, then act; the compartments in scope.

        The scope is listed in `home_region` (Identity's compartments are global). `guard`
        defaults to the container's limit, FN_MEMORY.
        """
        compartments = compartments_in(scope, container.identity, home_region, container.workers, invocation, progress)
        reading = invocation.within(invocation.deadline.remaining() * self.read_share)

        def read(compartment_id: str, step: Step) -> tuple[Found, MalformedItems]:
            compartment = CompartmentRead(compartment_id, step, reading)
            return self.read(compartment), compartment.malformed

        memory = guard if guard is not None else MemoryGuard.from_environment()
        for compartment_id, (found, malformed) in read_each(
            compartments, read, container.workers, reading, progress, memory
        ):
            progress.malformed.absorb(malformed)
            self.fold(compartment_id, found)
        self.act(invocation)
        return compartments
