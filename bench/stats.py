"""Medians and 95th percentiles of timings, in milliseconds."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class Summary:
    count: int
    median_ms: float
    p95_ms: float

    @classmethod
    def of(cls, seconds: list[float]) -> Summary:
        if not seconds:
            raise ValueError("no samples")
        ordered = sorted(seconds)
        # Nearest rank: the p95 is a time some call actually took, never an interpolation.
        rank = math.ceil(0.95 * len(ordered)) - 1
        return cls(len(ordered), statistics.median(ordered) * 1000, ordered[rank] * 1000)


def paired_sums(first: list[float], second: list[float]) -> list[float]:
    """Sample i of one floor component plus sample i of the other, taken in the same round."""
    if len(first) != len(second):
        raise ValueError("the two components need the same number of samples")
    return [a + b for a, b in zip(first, second, strict=True)]
