"""Latency statistics: percentiles by linear interpolation between closest ranks (the method
numpy calls "linear"), and the summary every latency figure carries."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

# Below this many samples a p99 is one or two observations: reported, but flagged as rough.
P99_MIN_SAMPLES = 1000


def percentile(samples: Sequence[float], percent: float) -> float:
    """The `percent` (0-100) percentile of `samples`. Raises ValueError when empty."""
    if not samples:
        raise ValueError("percentile of no samples")
    if not 0 <= percent <= 100:
        raise ValueError(f"percent must be within 0..100, got {percent}")
    ordered = sorted(samples)
    rank = percent / 100 * (len(ordered) - 1)
    low = math.floor(rank)
    high = math.ceil(rank)
    if low == high:
        return float(ordered[low])
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class LatencySummary:
    count: int
    mean: float
    minimum: float
    p50: float
    p90: float
    p99: float
    maximum: float

    @property
    def p99_is_reliable(self) -> bool:
        return self.count >= P99_MIN_SAMPLES

    def as_dict(self) -> dict[str, float | int | bool]:
        return {**asdict(self), "p99_is_reliable": self.p99_is_reliable}


def summarize(samples: Sequence[float]) -> LatencySummary:
    """Count, mean, min, p50, p90, p99 and max of `samples`. Raises ValueError when empty."""
    if not samples:
        raise ValueError("no samples to summarize")
    ordered = sorted(samples)
    return LatencySummary(
        count=len(ordered),
        mean=sum(ordered) / len(ordered),
        minimum=float(ordered[0]),
        p50=percentile(ordered, 50),
        p90=percentile(ordered, 90),
        p99=percentile(ordered, 99),
        maximum=float(ordered[-1]),
    )
