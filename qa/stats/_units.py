"""Shared machinery: input checks, grouping annotations by item, and the alpha formula.

Every agreement statistic is a sum over units (items) of something computed from the unit's
label counts. Materialising the n_items x n_labels count matrix at once costs 160 MB at 1M
items x 20 labels (float64), so units are processed in chunks: annotations are ordered by item
once, and each chunk of whole units gets a small dense count matrix.
"""

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

# Units per chunk. A chunk's count matrix is CHUNK_UNITS x n_labels int64: 10 MB at 20 labels,
# small enough to stay in cache-friendly territory and large enough that the Python loop over
# chunks (16 iterations at 1M items) costs nothing.
CHUNK_UNITS = 1 << 16


def as_index_array(name: str, values, length: int | None = None) -> np.ndarray:
    """A 1-D integer array (not copied when it already is one)."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {array.shape}")
    if array.size and array.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integers, got {array.dtype}")
    if length is not None and array.shape[0] != length:
        raise ValueError(f"{name} has {array.shape[0]} entries, expected {length}")
    return array.astype(np.int64, copy=False) if array.size == 0 else array


def check_range(name: str, array: np.ndarray, upper: int, allow_minus_one: bool = False) -> None:
    if array.size == 0:
        return
    low = -1 if allow_minus_one else 0
    if array.min() < low or array.max() >= upper:
        raise ValueError(f"{name} must lie in [{low}, {upper}), got [{array.min()}, {array.max()}]")


def check_labels(items, labels, n_labels: int) -> tuple[np.ndarray, np.ndarray]:
    """Validated (items, labels): labels is 1-D int in [0, n_labels) or a bool [n, n_labels]."""
    if n_labels < 1:
        raise ValueError("n_labels must be at least 1")
    items = as_index_array("items", items)
    check_range("items", items, np.iinfo(np.int64).max)
    labels = np.asarray(labels)
    if labels.ndim == 2:
        if labels.shape != (items.shape[0], n_labels) or labels.dtype != np.bool_:
            raise ValueError(
                f"a multilabel matrix must be bool of shape ({items.shape[0]}, {n_labels}), "
                f"got {labels.dtype} {labels.shape}"
            )
        return items, labels
    labels = as_index_array("labels", labels, items.shape[0])
    check_range("labels", labels, n_labels)
    return items, labels


def check_single_labels(items, labels, n_labels: int) -> tuple[np.ndarray, np.ndarray]:
    """Like check_labels, for statistics that need one label per annotation."""
    items, labels = check_labels(items, labels, n_labels)
    if labels.ndim != 1:
        raise ValueError("this statistic needs one label per annotation (classification)")
    return items, labels


@dataclass(frozen=True)
class ByItem:
    """Annotations ordered by item, with the row where each unit (distinct item) starts."""

    items: np.ndarray  # sorted item index per annotation
    order: np.ndarray | None  # permutation that sorted the input, None if it was sorted
    starts: np.ndarray  # int64 [n_units + 1]: rows of unit u are starts[u]:starts[u + 1]

    @property
    def n_units(self) -> int:
        return self.starts.shape[0] - 1

    @property
    def sizes(self) -> np.ndarray:
        """Annotations per unit (m_u)."""
        return np.diff(self.starts)

    @property
    def unit_items(self) -> np.ndarray:
        return self.items[self.starts[:-1]]

    def take(self, array: np.ndarray) -> np.ndarray:
        """``array`` (aligned with the input rows) in item order."""
        return array if self.order is None else array[self.order]

    def chunks(self, chunk_units: int = CHUNK_UNITS) -> Iterator[tuple[int, int, int, int]]:
        """(first unit, end unit, first row, end row) of consecutive chunks of whole units."""
        for u0 in range(0, self.n_units, chunk_units):
            u1 = min(u0 + chunk_units, self.n_units)
            yield u0, u1, int(self.starts[u0]), int(self.starts[u1])


def stable_order(keys: np.ndarray) -> np.ndarray:
    """np.argsort(keys, kind="stable") for non-negative integer keys, faster.

    numpy radix-sorts 16-bit integers (O(n)) but merge-sorts wider ones (~1 s for 3M int32),
    so keys below 2^32 are sorted as two 16-bit digits, least significant first (LSD radix).
    """
    if keys.size == 0:
        return np.zeros(0, dtype=np.intp)
    top = int(keys.max())
    if top < 1 << 16:
        return np.argsort(keys.astype(np.uint16), kind="stable")
    if top >= 1 << 32:
        return np.argsort(keys, kind="stable")
    keys = keys.astype(np.uint32, copy=False)
    order = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable")
    high = (keys[order] >> 16).astype(np.uint16)
    return order[np.argsort(high, kind="stable")]


def by_item(items: np.ndarray) -> ByItem:
    n = items.shape[0]
    if n and np.any(items[1:] < items[:-1]):
        # Stable so that ties keep input order (deterministic results for equal keys).
        order = stable_order(items)
        items = items[order]
    else:
        order = None
    if n == 0:
        return ByItem(items=items, order=order, starts=np.zeros(1, dtype=np.int64))
    boundaries = np.flatnonzero(items[1:] != items[:-1]) + 1
    starts = np.concatenate(([0], boundaries, [n])).astype(np.int64)
    return ByItem(items=items, order=order, starts=starts)


def unit_counts(
    grouped: ByItem, sorted_labels: np.ndarray, u0: int, u1: int, r0: int, r1: int, n_labels: int
) -> np.ndarray:
    """Dense label counts [u1 - u0, n_labels] (int64) of units u0..u1.

    ``sorted_labels`` is the label vector (or bool matrix) in item order.
    """
    n_units = u1 - u0
    local_starts = grouped.starts[u0 : u1 + 1] - r0
    block = sorted_labels[r0:r1]
    if block.ndim == 2:
        # Multilabel: positives per unit and label; reduceat sums each unit's rows.
        return np.add.reduceat(block, local_starts[:-1], axis=0, dtype=np.int64)
    local_unit = np.repeat(np.arange(n_units, dtype=np.int64), np.diff(local_starts))
    flat = np.bincount(local_unit * n_labels + block, minlength=n_units * n_labels)
    return flat.reshape(n_units, n_labels)


def alpha_from_totals(
    n_values: float, agreeing: float, value_totals: np.ndarray
) -> tuple[float | None, str | None]:
    """Nominal alpha from the sufficient statistics of a coincidence matrix o.

    n_values = sum(o) (pairable values), agreeing = trace(o), value_totals = row sums n_c.
    alpha = 1 - D_o / D_e = 1 - (n - 1) (n - trace) / (n^2 - sum n_c^2).
    """
    if n_values < 2:
        return None, "fewer than 2 pairable values: no item has 2 or more annotations"
    expected = n_values * n_values - float(np.dot(value_totals, value_totals))
    # Counts are integers, so "zero" is exact up to float rounding of the n_c sums.
    if expected <= 1e-9 * n_values * n_values:
        return None, "expected disagreement is 0: every pairable value is the same label"
    return 1.0 - (n_values - 1.0) * (n_values - agreeing) / expected, None
