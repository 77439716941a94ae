"""Issue 22, finding 3: a fan-out shares maxCopies and maxDeletes among its children, never multiplies them.

In process: the split itself (fan_out/budget.py) for any limit, batch count and turn, and how
it turns over successive runs. tests/fan_out/test_fan_out_limits.py runs the children through
the fdk socket and counts what they did.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backup_copier.fan_out.budget import shares, turn_of

# The deploy kit's sweep runs hourly at :17, its expiry pass daily at 03:47.
HOURLY = datetime(2026, 1, 1, 0, 17, tzinfo=UTC)
DAILY = datetime(2026, 1, 1, 3, 47, tzinfo=UTC)


def _served_by(runs: list[datetime], total: int, batches: int) -> set[int]:
    """The batches given a share of at least 1 by any of `runs`."""
    return {batch for run in runs for batch, share in enumerate(shares(total, batches, turn_of(run))) if share}


@given(total=st.integers(0, 1000), batches=st.integers(1, 1000), turn=st.integers(0, 10**6))
def test_the_shares_add_up_to_the_limit_and_differ_by_at_most_one(total: int, batches: int, turn: int) -> None:
    split = shares(total, batches, turn)

    assert len(split) == batches
    assert sum(split) == total
    assert set(split) <= {total // batches, total // batches + 1}


@given(total=st.integers(0, 100), batches=st.integers(1, 100), turn=st.integers(0, 10**6))
def test_the_larger_shares_go_to_consecutive_batches(total: int, batches: int, turn: int) -> None:
    split = shares(total, batches, turn)
    larger = {index for index, share in enumerate(split) if share > total // batches}

    # One run of them (wrapping around): one batch among them follows none of the others.
    starts = [index for index in larger if (index - 1) % batches not in larger]
    assert len(starts) == (1 if larger else 0)


def test_a_limit_smaller_than_the_batches_leaves_some_children_nothing() -> None:
    assert sorted(shares(5, 11, turn_of(HOURLY))) == [0] * 6 + [1] * 5


def test_successive_hourly_and_daily_runs_have_successive_turns() -> None:
    hours = [turn_of(HOURLY + timedelta(hours=n)) for n in range(24)]
    days = [turn_of(DAILY + timedelta(days=n)) for n in range(60)]

    assert hours == list(range(hours[0], hours[0] + 24))
    assert days == list(range(days[0], days[0] + 60))
    # Midnight: the next day's hourly runs start one turn after this day's first.
    assert turn_of(HOURLY + timedelta(days=1)) == hours[0] + 1


@pytest.mark.parametrize(("batches", "total"), [(11, 1), (11, 5), (11, 10), (24, 10), (24, 23), (7, 3), (60, 7)])
@pytest.mark.parametrize("every", [timedelta(hours=1), timedelta(days=1)])
def test_the_rotation_serves_every_batch_over_successive_runs(batches: int, total: int, every: timedelta) -> None:
    """Any ceil(batches / left over) successive runs (hourly within a day, or daily) give every batch a share."""
    first = HOURLY if every == timedelta(hours=1) else DAILY
    needed = math.ceil(batches / (total % batches))
    for start in range(0, 24 - needed + 1 if every == timedelta(hours=1) else 30):
        runs = [first + (start + run) * every for run in range(needed)]
        assert _served_by(runs, total, batches) == set(range(batches)), (start, runs)


def test_more_batches_than_a_days_hourly_runs_reach_are_all_served_day_after_day() -> None:
    """100 batches, maxCopies 1: a day's 24 runs serve 24 batches, and each day starts one further on."""
    batches, total = 100, 1
    days = batches - 24 + 1
    runs = [HOURLY + timedelta(hours=hour) for hour in range(24 * days)]

    assert _served_by(runs, total, batches) == set(range(batches))
    assert _served_by(runs[: 24 * (days - 1)], total, batches) != set(range(batches))
