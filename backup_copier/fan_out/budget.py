"""How a whole-scope limit (maxCopies, maxDeletes, the calls to Monitoring) is shared among a coordinator's children.

The limit bounds the coordinator and all of its children together: each child's body carries
its share, and the shares add up to the limit exactly, never more. Each batch gets
`limit // batches`; the `limit % batches` left over go one each to consecutive batches
(wrapping around). So a limit smaller than the number of batches leaves some children a share
of 0: they read and count, and copy or delete nothing.

Which batches get one more is decided by the run's turn: days since the epoch plus the hour of
the day (UTC), so that successive hourly runs of a day, and successive daily runs at one hour, have
successive turns. Each turn's larger shares start where the last turn's ended, so any
ceil(batches / left over) such runs give every batch one (docs/tenancy-wide.md works it
through). A clock, not a random draw: the deploy kit's hourly sweep and daily expiry pass then
serve every batch in the fewest runs there can be. Runs several days apart step by that many
turns; only when gcd(step, batches) is larger than the left over can a batch be passed over run
after run, and a limit at least the number of batches leaves no child at 0.

The function's PostMetricData calls a second are such a limit too: Oracle's 50 are the tenancy's,
so children each posting at the function's own rate would together post as fast as that many
runs. Each child gets one slot of the family's (shared/metrics.py PostingSlot): child i of n
posts only in slots i, i + n, i + 2n, ... of the wall clock's, so the family makes at most the
calls one unsplit run would, and each child's share never rounds to nothing however many there are.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ..shared.metrics import PostingSlot

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def turn_of(moment: datetime) -> int:
    """The run's turn: days since the epoch plus the hour of the day, both in UTC."""
    utc = moment.astimezone(UTC)
    return (utc - _EPOCH).days + utc.hour


def shares(total: int, batches: int, turn: int) -> list[int]:
    """`total` split over `batches`, in batch order; sum(shares(...)) == total."""
    if batches < 1:
        raise ValueError("a fan-out has at least one batch")
    if total < 0:
        raise ValueError("a limit is never negative")
    each, left = divmod(total, batches)
    first = turn * left % batches
    return [each + int((index - first) % batches < left) for index in range(batches)]


def metrics_slots(batches: int) -> list[PostingSlot]:
    """One slot of the function's calls to Monitoring per batch, in batch order: together, all of them."""
    if batches < 1:
        raise ValueError("a fan-out has at least one batch")
    return [PostingSlot(index, batches) for index in range(batches)]
