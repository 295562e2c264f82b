"""Turnaround histograms: log-spaced buckets of seconds, and percentiles read from them.

Resolution: BUCKETS_PER_DOUBLING buckets per doubling of time, so each bucket's upper edge is
2^(1/8) = 1.0905 times its lower edge (9%). Bucket 0 holds [0, 1 s); bucket b >= 1 holds
[2^((b-1)/8), 2^(b/8)) seconds; the last one, LAST_BUCKET, everything from 2^25 s (388 days)
on. A percentile is reported as the upper edge of the bucket that holds it (nearest-rank
method), which makes it a guarantee: at least that share of the items completed within it, and
the true value lies at most 9% below it. Pure functions: no database here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

BUCKETS_PER_DOUBLING = 8
LAST_BUCKET = 25 * BUCKETS_PER_DOUBLING + 1
RESOLUTION = "log-spaced buckets, 8 per doubling: a percentile is the upper edge of its bucket, at most 9% above the true value"  # noqa: E501


def bucket_of(seconds: float) -> int:
    """The bucket of one turnaround (negative ones, from clock skew, count as 0)."""
    if not seconds or seconds < 1:
        return 0
    return min(LAST_BUCKET, math.floor(BUCKETS_PER_DOUBLING * math.log2(seconds)) + 1)


def upper_edge(bucket: int) -> float:
    """Seconds: every turnaround in the bucket is below this (the last bucket: at least)."""
    return 2.0 ** (min(bucket, LAST_BUCKET - 1) / BUCKETS_PER_DOUBLING)


def histogram(seconds: Iterable[float]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for value in seconds:
        bucket = bucket_of(value)
        counts[bucket] = counts.get(bucket, 0) + 1
    return counts


def percentile(counts: Mapping[int, int], percent: int) -> float | None:
    """The percentile (1..100) of a histogram, in seconds; None when it is empty. Buckets that
    a late undo left negative count as empty. Integer ranks: 0.9 * 70 is 63.00000000000001."""
    positive = sorted((bucket, n) for bucket, n in counts.items() if n > 0)
    total = sum(n for _, n in positive)
    if total == 0:
        return None
    rank = max(1, -(-percent * total // 100))
    seen = 0
    for bucket, n in positive:
        seen += n
        if seen >= rank:
            return upper_edge(bucket)
    return upper_edge(positive[-1][0])  # not reached: the ranks add up to total
