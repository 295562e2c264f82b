"""Per-annotator quality figures: volume, agreement with consensus and co-annotators, gold
accuracy, median time. Re-exported by ``qa.stats.agreement``."""

from dataclasses import dataclass

import numpy as np

from ._units import (
    CHUNK_UNITS,
    as_index_array,
    by_item,
    check_range,
    check_single_labels,
    stable_order,
    unit_counts,
)


@dataclass(frozen=True)
class AnnotatorStats:
    """Arrays indexed by annotator [n_annotators]; a share with nothing to compare is NaN."""

    annotations: np.ndarray  # int64
    # Share of the annotator's labels equal to the item's consensus, over items having one.
    # The consensus includes the annotator's own vote (with 3 votes, 1 of 3), which lifts
    # everyone's figure; agreement_with_others below is the leave-one-out counterpart.
    agreement_with_consensus: np.ndarray
    consensus_compared: np.ndarray  # int64: annotations on items with a consensus
    # Share of the other annotations on the same items that carry the same label: pairwise
    # agreement with co-annotators, the annotator's own vote excluded.
    agreement_with_others: np.ndarray
    others_compared: np.ndarray  # int64: (annotation, other annotation) pairs compared
    gold_accuracy: np.ndarray
    gold_compared: np.ndarray  # int64: annotations on gold items
    median_duration: np.ndarray  # float64, NaN durations ignored, NaN if none


def _share(hits: np.ndarray, compared: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(compared > 0, hits / np.maximum(compared, 1), np.nan)


def _median_by_group(groups: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Median of the non-NaN values of each group (NaN for a group without any)."""
    keep = ~np.isnan(values)
    groups, values = groups[keep], values[keep]
    # Group the values (a radix sort, O(n)), then a selection per group: a loop over groups
    # (annotators, not annotations) whose total work is O(n). Sorting all values by (group,
    # value) instead costs a comparison sort of n floats, ~0.5 s at 3M.
    grouped = values[stable_order(groups)]
    bounds = np.concatenate(([0], np.cumsum(np.bincount(groups, minlength=n_groups))))
    median = np.full(n_groups, np.nan)
    for group in np.flatnonzero(np.diff(bounds)):
        median[group] = np.median(grouped[bounds[group] : bounds[group + 1]])
    return median


def per_annotator(
    items,
    annotators,
    labels,
    n_annotators: int,
    n_labels: int,
    *,
    consensus: np.ndarray | None = None,
    gold: np.ndarray | None = None,
    durations: np.ndarray | None = None,
    chunk: int = CHUNK_UNITS,
) -> AnnotatorStats:
    """Figures per annotator. ``consensus`` and ``gold`` are label indices per item
    ([n_items], -1 where the item has none); ``durations`` is per annotation (NaN allowed).
    Classification only (one label per annotation)."""
    items, labels = check_single_labels(items, labels, n_labels)
    annotators = as_index_array("annotators", annotators, items.shape[0])
    check_range("annotators", annotators, n_annotators)
    annotations = np.bincount(annotators, minlength=n_annotators)

    def compare(reference: np.ndarray | None, name: str) -> tuple[np.ndarray, np.ndarray]:
        if reference is None:
            nothing = np.zeros(n_annotators, dtype=np.int64)
            return np.full(n_annotators, np.nan), nothing
        reference = as_index_array(name, reference)
        check_range(name, reference, n_labels, allow_minus_one=True)
        if items.size and items.max() >= reference.shape[0]:
            raise ValueError(f"{name} has {reference.shape[0]} items, fewer than the annotations")
        expected = reference[items]
        has = expected >= 0
        compared = np.bincount(annotators[has], minlength=n_annotators)
        hits = np.bincount(annotators[has & (expected == labels)], minlength=n_annotators)
        return _share(hits, compared), compared

    with_consensus, consensus_compared = compare(consensus, "consensus")
    gold_accuracy, gold_compared = compare(gold, "gold")

    grouped = by_item(items)
    sorted_labels = grouped.take(labels)
    sorted_annotators = grouped.take(annotators)
    sizes = grouped.sizes
    same = np.zeros(n_annotators)
    others = np.zeros(n_annotators)
    for u0, u1, r0, r1 in grouped.chunks(chunk):
        counts = unit_counts(grouped, sorted_labels, u0, u1, r0, r1, n_labels)
        local = np.repeat(np.arange(u1 - u0), sizes[u0:u1])
        who = sorted_annotators[r0:r1]
        # Other annotations on the item with this row's label, and all other annotations.
        same += np.bincount(
            who, weights=counts[local, sorted_labels[r0:r1]] - 1.0, minlength=n_annotators
        )
        others += np.bincount(who, weights=sizes[u0:u1][local] - 1.0, minlength=n_annotators)

    if durations is None:
        median = np.full(n_annotators, np.nan)
    else:
        durations = np.asarray(durations, dtype=np.float64)
        if durations.shape != items.shape:
            raise ValueError("durations must have one entry per annotation")
        median = _median_by_group(annotators, durations, n_annotators)

    return AnnotatorStats(
        annotations=annotations,
        agreement_with_consensus=with_consensus,
        consensus_compared=consensus_compared,
        agreement_with_others=_share(same, others),
        others_compared=others.astype(np.int64),
        gold_accuracy=gold_accuracy,
        gold_compared=gold_compared,
        median_duration=median,
    )
