"""Pairwise Cohen's kappa between annotators, averaged over the pairs that share enough items.

Re-exported by ``qa.stats.agreement``.
"""

from dataclasses import dataclass

import numpy as np

from ._units import as_index_array, by_item, check_range, check_single_labels

# Annotation pairs generated per step of the pairwise kappa: 1M pairs cost ~100 MB of
# temporaries (a dozen int64 arrays: row indices, annotators, labels, keys); larger steps
# gain nothing measurable.
PAIR_CHUNK = 1_000_000
# Units up to this size are paired by comparing rows at each offset (fast, O(rows x size));
# larger ones by explicit index arithmetic (O(pairs), several passes).
SMALL_UNIT = 64
# Below this many (annotator pair x label) cells the pairwise counts are dense bincounts
# (32 MB of int64); above it they are reduced by sorting, which costs time but not memory.
DENSE_PAIR_CELLS = 1 << 22


@dataclass(frozen=True)
class PairwiseKappa:
    mean: float | None  # unweighted mean of kappa over the pairs it is defined for
    reason: str | None
    pairs_used: int
    pairs_undefined: int  # overlap large enough, but both used one and the same label only
    pairs_below_overlap: int
    # One entry per annotator pair sharing >= min_overlap items (a < b); kappa NaN if undefined.
    annotator_a: np.ndarray
    annotator_b: np.ndarray
    overlap: np.ndarray
    kappa: np.ndarray


def _within_unit_pairs(
    sorted_items: np.ndarray, starts: np.ndarray, u0: int, u1: int
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (first, second) of every unordered pair of annotations within units u0..u1."""
    r0, r1 = int(starts[u0]), int(starts[u1])
    sizes = np.diff(starts[u0 : u1 + 1])
    largest = int(sizes.max())
    if largest <= SMALL_UNIT:
        # Rows p and p + d (sorted by item) pair up when they hold the same item: one
        # vectorised comparison per offset d, no per-row bookkeeping.
        block = sorted_items[r0:r1]
        firsts = [np.flatnonzero(block[:-d] == block[d:]) + r0 for d in range(1, largest)]
        firsts = firsts or [np.zeros(0, dtype=np.int64)]
        seconds = [first + d for d, first in enumerate(firsts, start=1)]
        return np.concatenate(firsts), np.concatenate(seconds)
    # Large units: each row pairs with the `later` rows after it in its unit.
    rows = np.arange(r0, r1, dtype=np.int64)
    position = rows - np.repeat(starts[u0:u1], sizes)
    later = np.repeat(sizes, sizes) - position - 1
    first = np.repeat(rows, later)
    offset = np.arange(first.shape[0], dtype=np.int64) - np.repeat(np.cumsum(later) - later, later)
    return first, first + offset + 1


def _sum_by_key(keys: np.ndarray, weights: np.ndarray | None = None):
    """Distinct keys (sorted) and the count (or weight sum) of each."""
    unique, inverse = np.unique(keys, return_inverse=True)
    return unique, np.bincount(inverse, weights=weights, minlength=unique.shape[0])


_NO_KEYS = np.zeros(0, dtype=np.int64)
_NO_COUNTS = np.zeros(0, dtype=np.int64)


def _lookup(sorted_keys: np.ndarray, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position of each query in sorted_keys, and whether it is there at all."""
    where = np.searchsorted(sorted_keys, query)
    if sorted_keys.shape[0] == 0:
        return where, np.zeros(query.shape[0], dtype=bool)
    hit = sorted_keys[np.minimum(where, sorted_keys.shape[0] - 1)] == query
    return where, hit


class _PairCounts:
    """Per annotator pair: overlap, agreements and both label marginals, dense or sparse."""

    def __init__(self, n_annotators: int, n_labels: int):
        self.n_labels = n_labels
        self.n_keys = n_annotators * n_annotators
        self.dense = self.n_keys * n_labels <= DENSE_PAIR_CELLS
        if self.dense:
            self.overlap = np.zeros(self.n_keys, dtype=np.int64)
            self.agree = np.zeros(self.n_keys, dtype=np.int64)
            self.rows = np.zeros(self.n_keys * n_labels, dtype=np.int64)
            self.cols = np.zeros(self.n_keys * n_labels, dtype=np.int64)
        else:
            self.parts: list[tuple[np.ndarray, ...]] = []

    def add(self, pair: np.ndarray, label_a: np.ndarray, label_b: np.ndarray) -> None:
        same = label_a == label_b
        row_key = pair * self.n_labels + label_a
        col_key = pair * self.n_labels + label_b
        if self.dense:
            self.overlap += np.bincount(pair, minlength=self.n_keys)
            self.agree += np.bincount(pair[same], minlength=self.n_keys)
            self.rows += np.bincount(row_key, minlength=self.rows.shape[0])
            self.cols += np.bincount(col_key, minlength=self.cols.shape[0])
        else:
            self.parts.append(
                (*_sum_by_key(pair), *_sum_by_key(pair[same]))
                + (*_sum_by_key(row_key), *_sum_by_key(col_key))
            )

    def result(self, min_overlap: int):
        """(pair keys, overlap, agree, row marginals [K, L], col marginals [K, L]) of the pairs
        sharing at least min_overlap items."""
        n_labels = self.n_labels
        if self.dense:
            keys = np.flatnonzero(self.overlap >= min_overlap)
            label_cells = (keys[:, None] * n_labels + np.arange(n_labels)).ravel()
            return (
                keys,
                self.overlap[keys],
                self.agree[keys],
                self.rows[label_cells].reshape(-1, n_labels),
                self.cols[label_cells].reshape(-1, n_labels),
                int(np.count_nonzero((self.overlap > 0) & (self.overlap < min_overlap))),
            )
        merged = []
        for field in range(4):
            keys = np.concatenate([part[2 * field] for part in self.parts] + [_NO_KEYS])
            counts = np.concatenate([part[2 * field + 1] for part in self.parts] + [_NO_COUNTS])
            merged.append(_sum_by_key(keys, counts.astype(np.float64)))
        (all_keys, overlap), (agree_keys, agree_counts) = merged[0], merged[1]
        keep = overlap >= min_overlap
        keys, overlap = all_keys[keep], overlap[keep]
        agree = np.zeros(keys.shape[0])
        where, hit = _lookup(keys, agree_keys)
        agree[where[hit]] = agree_counts[hit]
        marginals = []
        for label_keys, counts in merged[2:]:
            dense = np.zeros((keys.shape[0], n_labels))
            where, hit = _lookup(keys, label_keys // n_labels)
            dense[where[hit], label_keys[hit] % n_labels] = counts[hit]
            marginals.append(dense)
        return keys, overlap, agree, marginals[0], marginals[1], int(np.count_nonzero(~keep))


def cohen_kappa_pairwise_mean(
    items, annotators, labels, n_labels: int, min_overlap: int = 10
) -> PairwiseKappa:
    """Mean Cohen's kappa over annotator pairs sharing at least ``min_overlap`` items.

    Pairs are formed within items (only pairs that actually co-occur exist, so memory follows
    the data, not n_annotators^2) and their confusion counts are accumulated with bincounts on
    a combined (pair, label) index. kappa = (p_o - p_e) / (1 - p_e) per pair, as in
    sklearn.metrics.cohen_kappa_score; a pair whose p_e is 1 (both annotators used one and the
    same label only) has no kappa and is left out of the mean (``pairs_undefined``).
    Raises ValueError if an annotator labelled the same item twice.
    """
    if min_overlap < 1:
        raise ValueError("min_overlap must be at least 1")
    items, labels = check_single_labels(items, labels, n_labels)
    annotators = as_index_array("annotators", annotators, items.shape[0])
    check_range("annotators", annotators, np.iinfo(np.int64).max)
    n_annotators = int(annotators.max()) + 1 if annotators.size else 0
    grouped = by_item(items)
    sorted_annotators = grouped.take(annotators).astype(np.int64, copy=False)
    sorted_labels = grouped.take(labels).astype(np.int64, copy=False)
    sizes = grouped.sizes
    pair_totals = np.cumsum(sizes * (sizes - 1) // 2)
    counts = _PairCounts(n_annotators, n_labels)
    u0 = 0
    while u0 < grouped.n_units:
        # Whole units until PAIR_CHUNK pairs (at least one unit, however large).
        before = int(pair_totals[u0 - 1]) if u0 else 0
        u1 = max(u0 + 1, int(np.searchsorted(pair_totals, before + PAIR_CHUNK, side="right")))
        first, second = _within_unit_pairs(grouped.items, grouped.starts, u0, u1)
        u0 = u1
        if first.size == 0:
            continue
        a, b = sorted_annotators[first], sorted_annotators[second]
        if np.any(a == b):
            raise ValueError("an annotator labelled the same item more than once")
        swap = a > b
        low, high = np.where(swap, b, a), np.where(swap, a, b)
        label_low = np.where(swap, sorted_labels[second], sorted_labels[first])
        label_high = np.where(swap, sorted_labels[first], sorted_labels[second])
        counts.add(low * n_annotators + high, label_low, label_high)
    keys, overlap, agree, rows, cols, below = counts.result(min_overlap)
    overlap = overlap.astype(np.float64)
    p_o = agree / np.maximum(overlap, 1.0)
    p_e = (rows * cols).sum(axis=1) / np.maximum(overlap * overlap, 1.0)
    defined = p_e < 1.0 - 1e-12
    kappa = np.full(keys.shape[0], np.nan)
    kappa[defined] = (p_o[defined] - p_e[defined]) / (1.0 - p_e[defined])
    used = int(defined.sum())
    if used:
        mean, reason = float(kappa[defined].mean()), None
    elif keys.shape[0]:
        mean, reason = None, "kappa is undefined for every pair: each used a single label"
    else:
        mean, reason = None, f"no annotator pair shares {min_overlap} or more items"
    return PairwiseKappa(
        mean=mean,
        reason=reason,
        pairs_used=used,
        pairs_undefined=int(keys.shape[0] - used),
        pairs_below_overlap=below,
        annotator_a=keys // max(n_annotators, 1),
        annotator_b=keys % max(n_annotators, 1),
        overlap=overlap.astype(np.int64),
        kappa=kappa,
    )
