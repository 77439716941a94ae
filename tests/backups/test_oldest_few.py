"""backups/oldest_few.py: the `keep` oldest items, whatever the order they come in, and every other counted."""

from __future__ import annotations

import random

from backup_copier.backups.oldest_few import OldestFew


def _few(keep: int) -> OldestFew[tuple[int, str]]:
    return OldestFew(keep, order=lambda item: item[0], group=lambda item: item[1])


def test_the_oldest_are_kept_in_order_and_the_rest_counted_by_group() -> None:
    items = [(moment, "even" if moment % 2 == 0 else "odd") for moment in range(100)]
    random.Random(7).shuffle(items)
    few = _few(keep=5)

    few.extend(items)

    assert few.oldest_first() == [(0, "even"), (1, "odd"), (2, "even"), (3, "odd"), (4, "even")]
    assert few.seen == 100
    assert few.dropped == {"even": 47, "odd": 48} and few.count_dropped == 95


def test_never_more_than_twice_keep_are_held() -> None:
    few = _few(keep=3)
    for moment in range(50, 0, -1):  # newest first: every item displaces one
        few.add((moment, "x"))
        assert len(few._held) <= 6
    assert [moment for moment, _ in few.oldest_first()] == [1, 2, 3]


def test_compartments_taken_in_one_by_one_keep_what_one_container_would() -> None:
    """Each compartment keeps its own oldest few in a worker; the scope's takes them in: the same
    items and the same counts as one container that saw every item."""
    rng = random.Random(11)
    compartments = [[(rng.randrange(10_000), f"c{number}") for _ in range(rng.randrange(0, 40))] for number in range(9)]
    whole = _few(keep=7)
    scope = _few(keep=7)
    for items in compartments:
        whole.extend(items)
        own = _few(keep=7)
        own.extend(items)
        scope.absorb(own)

    assert scope.oldest_first() == whole.oldest_first()
    assert scope.dropped == whole.dropped and scope.seen == whole.seen == sum(map(len, compartments))


def test_keep_zero_holds_nothing_and_counts_everything() -> None:
    few = _few(keep=0)
    few.extend([(1, "a"), (2, "b")])
    assert few.oldest_first() == [] and few.dropped == {"a": 1, "b": 1}
