"""Bootstrap confidence interval of nominal Krippendorff's alpha, units resampled.

Method: the nonparametric bootstrap over units (items). A replicate draws as many pairable
units as there are, with replacement, and recomputes alpha; the interval is the percentile
interval of the replicates ((1 - level) / 2 and (1 + level) / 2 quantiles). Units with fewer
than 2 values are not resampled: they contribute nothing to alpha.

Why it is fast: the coincidence matrix is a sum over units, and a unit's contribution depends
only on its label counts n_u (its "pattern"). Nominal alpha needs three sums of per-unit
contributions: n = sum m_u, trace(o) = sum sum_c n_uc (n_uc - 1) / (m_u - 1), and the label
totals n_c = sum n_uc. Resampling N units with replacement is the same as drawing, for each
distinct pattern, how many times it is picked: one multinomial draw (N, pattern frequencies)
per replicate, which is exact, not an approximation. With 3 annotations per item there are at
most C(n_labels + 2, 3) patterns (1,540 at 20 labels), so 1,000 replicates over 1M items are
a (1000 x patterns) multinomial draw and three small matrix products.

This is not Krippendorff's own bootstrap (which resamples pairable values under a model of
the disagreement); it answers "how much would alpha move with another sample of items".
"""

from dataclasses import dataclass

import numpy as np

from ._units import CHUNK_UNITS, alpha_from_totals, by_item, check_single_labels, unit_counts

# Patterns per multinomial block: a block's draw is n_boot x block int64 (32 MB at 1,000
# replicates). Only data with huge numbers of distinct unit patterns uses more than one.
PATTERN_BLOCK = 4_000
# Replicates whose alpha is undefined (every resampled value the same label) are dropped; if
# more than this share are, the interval would be conditional on an unlikely event: refuse.
MAX_UNDEFINED_SHARE = 0.05


@dataclass(frozen=True)
class AlphaInterval:
    low: float | None
    high: float | None
    reason: str | None
    alpha: float | None  # point estimate, from the same sufficient statistics
    level: float
    replicates: int  # replicates with a defined alpha, the interval's sample
    undefined_replicates: int
    units: int  # pairable units, the resampling population
    patterns: int  # distinct unit count vectors

    @property
    def interval(self) -> tuple[float, float] | None:
        return None if self.low is None or self.high is None else (self.low, self.high)


def _hash_multipliers(width: int) -> np.ndarray:
    """Fixed random odd uint64 multipliers: a row's hash is its dot product with them."""
    rng = np.random.default_rng(0x5EED)
    return rng.integers(0, np.iinfo(np.int64).max, size=width, dtype=np.int64).astype(
        np.uint64
    ) | np.uint64(1)


def _unique_rows(rows: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of an int matrix and the summed weight of each.

    Rows are hashed to one uint64 (a random linear combination, wrapping) so the grouping is a
    1-D sort; the grouping is then checked exactly and redone row-wise if two patterns ever
    collided, so the result is exact either way.
    """
    if rows.shape[0] == 0:
        return rows, weights
    hashes = (rows.astype(np.uint64) * _hash_multipliers(rows.shape[1])).sum(axis=1)
    _, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
    patterns = rows[first]
    if not np.array_equal(patterns[inverse], rows):
        patterns, inverse = np.unique(rows, axis=0, return_inverse=True)
        inverse = inverse.ravel()
    return patterns, np.bincount(inverse, weights=weights, minlength=patterns.shape[0])


def unit_patterns(
    items, labels, n_labels: int, chunk: int = CHUNK_UNITS
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct label-count vectors of the pairable units [P, n_labels] and how many units have
    each [P] (float64 counts)."""
    items, labels = check_single_labels(items, labels, n_labels)
    grouped = by_item(items)
    sorted_labels = grouped.take(labels)
    sizes = grouped.sizes
    parts, weights = [], []
    for u0, u1, r0, r1 in grouped.chunks(chunk):
        pairable = sizes[u0:u1] >= 2
        if not pairable.any():
            continue
        counts = unit_counts(grouped, sorted_labels, u0, u1, r0, r1, n_labels)[pairable]
        patterns, frequency = _unique_rows(counts, np.ones(counts.shape[0]))
        parts.append(patterns)
        weights.append(frequency)
    if not parts:
        return np.zeros((0, n_labels), dtype=np.int64), np.zeros(0)
    return _unique_rows(np.concatenate(parts), np.concatenate(weights))


def pattern_statistics(patterns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pattern: values m, diagonal coincidences sum_c n_c (n_c - 1) / (m - 1), and the label
    counts (each pattern's contribution to n, trace(o) and the n_c)."""
    counts = patterns.astype(np.float64)
    values = counts.sum(axis=1)
    agreeing = (counts * (counts - 1.0)).sum(axis=1) / (values - 1.0)
    return values, agreeing, counts


def alphas_from_pattern_counts(
    picks: np.ndarray, values: np.ndarray, agreeing: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """Alpha of each replicate (row of ``picks``: how often each pattern was drawn); NaN where
    alpha is undefined."""
    n = picks @ values
    trace = picks @ agreeing
    totals = picks @ counts
    return _alpha_vectorized(n, trace, (totals * totals).sum(axis=1))


def _alpha_vectorized(n: np.ndarray, trace: np.ndarray, squares: np.ndarray) -> np.ndarray:
    expected = n * n - squares
    defined = (n >= 2) & (expected > 1e-9 * n * n)
    alpha = np.full(n.shape, np.nan)
    alpha[defined] = 1.0 - (n[defined] - 1.0) * (n[defined] - trace[defined]) / expected[defined]
    return alpha


def _replicate_totals(rng, frequency: np.ndarray, n_boot: int, stats) -> tuple[np.ndarray, ...]:
    """Per replicate: (n, trace, sum of n_c^2), resampling sum(frequency) units."""
    values, agreeing, counts = stats
    n_units = int(round(frequency.sum()))
    probability = frequency / frequency.sum()
    n_patterns = frequency.shape[0]
    n = np.zeros(n_boot)
    trace = np.zeros(n_boot)
    totals = np.zeros((n_boot, counts.shape[1]))
    blocks = [
        slice(b, min(b + PATTERN_BLOCK, n_patterns)) for b in range(0, n_patterns, PATTERN_BLOCK)
    ]
    if len(blocks) == 1:
        block_units = np.full((n_boot, 1), n_units)
    else:
        # Multinomial over blocks, then within each block given its total: the same law as one
        # multinomial over all patterns, drawn n_boot x PATTERN_BLOCK at a time.
        block_p = np.array([probability[b].sum() for b in blocks])
        block_units = rng.multinomial(n_units, block_p / block_p.sum(), size=n_boot)
    for index, block in enumerate(blocks):
        p = probability[block] / probability[block].sum()
        picks = rng.multinomial(block_units[:, index], p).astype(np.float64)
        n += picks @ values[block]
        trace += picks @ agreeing[block]
        totals += picks @ counts[block]
    return n, trace, (totals * totals).sum(axis=1)


def bootstrap_alpha_ci(
    items,
    labels,
    n_labels: int,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    chunk: int = CHUNK_UNITS,
) -> AlphaInterval:
    """Percentile bootstrap interval of nominal alpha, pairable units resampled with
    replacement (see the module docstring). ``low``/``high`` are None with a ``reason`` when
    alpha itself is undefined, there are fewer than 2 pairable units, or alpha is undefined in
    more than 5 % of the replicates. Deterministic for a given seed."""
    if not 0.0 < level < 1.0:
        raise ValueError("level must lie strictly between 0 and 1")
    if n_boot < 1:
        raise ValueError("n_boot must be at least 1")
    patterns, frequency = unit_patterns(items, labels, n_labels, chunk)
    stats = pattern_statistics(patterns)
    values, agreeing, counts = stats
    totals = frequency @ counts
    alpha, reason = alpha_from_totals(
        float(frequency @ values), float(frequency @ agreeing), totals
    )
    n_units = int(round(frequency.sum()))

    def refuse(why: str, replicates: int = 0, undefined: int = 0) -> AlphaInterval:
        return AlphaInterval(
            None, None, why, alpha, level, replicates, undefined, n_units, patterns.shape[0]
        )

    if alpha is None:
        return refuse(reason or "alpha is undefined")
    if n_units < 2:
        return refuse("fewer than 2 pairable items to resample")
    rng = np.random.default_rng(seed)
    n, trace, squares = _replicate_totals(rng, frequency, n_boot, stats)
    replicates = _alpha_vectorized(n, trace, squares)
    defined = replicates[~np.isnan(replicates)]
    undefined = n_boot - defined.shape[0]
    if undefined > MAX_UNDEFINED_SHARE * n_boot:
        return refuse(
            f"alpha is undefined in {undefined} of {n_boot} bootstrap replicates",
            defined.shape[0],
            undefined,
        )
    low, high = np.quantile(defined, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return AlphaInterval(
        float(low),
        float(high),
        None,
        alpha,
        level,
        defined.shape[0],
        undefined,
        n_units,
        patterns.shape[0],
    )
