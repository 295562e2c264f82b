"""Inter-annotator agreement on nominal labels: Krippendorff's alpha, Fleiss' kappa, pairwise
Cohen's kappa, per-label binary agreement, and the consensus confusion matrix.

Input: parallel arrays ``items`` and ``labels`` (and ``annotators`` where pairs matter), see
``qa.stats``. Everything is a vectorised pass over units (items) in chunks of CHUNK_UNITS, so
memory stays O(n + chunk x n_labels) whatever the number of items.

The bootstrap interval of alpha (``qa.stats.bootstrap``), pairwise Cohen's kappa
(``qa.stats.pairwise``) and the per-annotator figures (``qa.stats.annotators``) live in their own
modules and are re-exported here, so the agreement API is one import.
"""

from dataclasses import dataclass

import numpy as np

from ._units import (
    CHUNK_UNITS,
    alpha_from_totals,
    as_index_array,
    by_item,
    check_labels,
    check_range,
    check_single_labels,
    unit_counts,
)
from .annotators import AnnotatorStats, per_annotator
from .bootstrap import AlphaInterval, bootstrap_alpha_ci
from .pairwise import PairwiseKappa, cohen_kappa_pairwise_mean

__all__ = [
    "AlphaInterval",
    "AnnotatorStats",
    "FleissKappa",
    "MultilabelAlpha",
    "PairwiseKappa",
    "PerLabel",
    "alpha_from_coincidence",
    "bootstrap_alpha_ci",
    "coincidence_matrix",
    "cohen_kappa_pairwise_mean",
    "confusion_matrix",
    "fleiss_kappa",
    "krippendorff_alpha_nominal",
    "krippendorff_alpha_nominal_with_reason",
    "multilabel_alpha",
    "per_annotator",
    "per_label_agreement",
]


def coincidence_matrix(items, labels, n_labels: int, chunk: int = CHUNK_UNITS) -> np.ndarray:
    """Krippendorff's coincidence matrix o (n_labels x n_labels, float64).

    o[c, k] = sum over units u with m_u >= 2 values of (n_uc n_uk - [c == k] n_uc) / (m_u - 1),
    where n_uc counts the values c in unit u. Units with fewer than 2 values are not pairable
    and contribute nothing. Built chunk by chunk: o = sum_u w_u n_u n_u^T - diag(sum_u w_u n_u)
    with w_u = 1 / (m_u - 1), one small matrix product per chunk of units.
    """
    items, labels = check_single_labels(items, labels, n_labels)
    grouped = by_item(items)
    sorted_labels = grouped.take(labels)
    sizes = grouped.sizes
    o = np.zeros((n_labels, n_labels), dtype=np.float64)
    diagonal = np.zeros(n_labels, dtype=np.float64)
    for u0, u1, r0, r1 in grouped.chunks(chunk):
        m = sizes[u0:u1].astype(np.float64)
        # Weight 0 rather than a row filter for units with fewer than 2 values: no copy.
        weight = np.divide(1.0, m - 1.0, out=np.zeros_like(m), where=m >= 2)
        counts = unit_counts(grouped, sorted_labels, u0, u1, r0, r1, n_labels)
        counts = counts.astype(np.float64)
        o += (counts * weight[:, None]).T @ counts
        diagonal += weight @ counts
    o[np.diag_indices(n_labels)] -= diagonal
    return o


def alpha_from_coincidence(o: np.ndarray) -> tuple[float | None, str | None]:
    """Nominal alpha of a coincidence matrix: (value, None) or (None, reason)."""
    return alpha_from_totals(float(o.sum()), float(np.trace(o)), o.sum(axis=1))


def krippendorff_alpha_nominal_with_reason(
    items, labels, n_labels: int
) -> tuple[float | None, str | None]:
    """(alpha, None), or (None, reason) when alpha is undefined: fewer than 2 pairable values,
    or expected disagreement 0 (all pairable values carry the same label)."""
    return alpha_from_coincidence(coincidence_matrix(items, labels, n_labels))


def krippendorff_alpha_nominal(items, labels, n_labels: int) -> float | None:
    return krippendorff_alpha_nominal_with_reason(items, labels, n_labels)[0]


@dataclass(frozen=True)
class FleissKappa:
    kappa: float | None
    reason: str | None
    raters: int | None  # the number of ratings per item the statistic was computed on
    items_used: int  # items with exactly `raters` ratings
    items_rated: int  # items with 2 or more ratings


def fleiss_kappa(items, labels, n_labels: int, chunk: int = CHUNK_UNITS) -> FleissKappa:
    """Fleiss' kappa (1971) on the items that have the modal number of ratings.

    Fleiss' statistic assumes the same number of raters m for every item. Projects have a
    fixed overlap but some items fall short (skips, expired leases) or get extra reviews, so
    the statistic is computed on the items with exactly m ratings, m being the most common
    count among items with 2 or more ratings (a tie goes to the larger m: more ratings per
    item). ``items_used`` says how many items that is; Krippendorff's alpha uses every item.
    """
    items, labels = check_single_labels(items, labels, n_labels)
    grouped = by_item(items)
    sizes = grouped.sizes
    rated = sizes >= 2
    items_rated = int(rated.sum())
    if items_rated == 0:
        return FleissKappa(None, "no item has 2 or more ratings", None, 0, 0)
    histogram = np.bincount(sizes[rated])
    raters = int(np.flatnonzero(histogram == histogram.max())[-1])
    sorted_labels = grouped.take(labels)
    squares = 0.0
    totals = np.zeros(n_labels, dtype=np.float64)
    used = 0
    for u0, u1, r0, r1 in grouped.chunks(chunk):
        keep = sizes[u0:u1] == raters
        if not keep.any():
            continue
        counts = unit_counts(grouped, sorted_labels, u0, u1, r0, r1, n_labels)[keep]
        squares += float(np.square(counts, dtype=np.float64).sum())
        totals += counts.sum(axis=0)
        used += int(keep.sum())
    ratings = used * raters
    p_bar = (squares - ratings) / (ratings * (raters - 1))
    shares = totals / ratings
    p_e = float(np.dot(shares, shares))
    if p_e >= 1.0 - 1e-12:
        return FleissKappa(
            None, "chance agreement is 1: every rating is the same label", raters, used, items_rated
        )
    return FleissKappa((p_bar - p_e) / (1.0 - p_e), None, raters, used, items_rated)


@dataclass(frozen=True)
class PerLabel:
    """Agreement on each label taken as binary data (this label vs any other), [n_labels]."""

    alpha: np.ndarray  # binary Krippendorff alpha, NaN where undefined
    alpha_reason: list[str | None]
    # Among pairs of annotations on one item where at least one chose the label, the share
    # where both did: both / (both + one).
    pair_agreement: np.ndarray
    # Proportion of specific agreement (Fleiss 1975, Uebersax): 2 both / (2 both + one).
    specific_agreement: np.ndarray
    pairs: np.ndarray  # pairs where at least one chose the label (both + one)
    annotations: np.ndarray  # annotations choosing the label
    items: np.ndarray  # items where at least one annotation chose the label


def _sum_per_label(label: np.ndarray, weights: np.ndarray, n_labels: int) -> np.ndarray:
    return np.bincount(label, weights=weights, minlength=n_labels)


def per_label_agreement(items, labels, n_labels: int, chunk: int = CHUNK_UNITS) -> PerLabel:
    """Binary agreement per label for classification (1-D labels) or multilabel (bool matrix).

    Binary alpha of label c uses, per unit, m_u values of which k_uc are "c": o_cc' (the
    disagreeing coincidences) = sum_u k_uc (m_u - k_uc) / (m_u - 1), and
    alpha_c = 1 - (n - 1) o_cc' / (n_c n_not_c).
    """
    items, labels = check_labels(items, labels, n_labels)
    grouped = by_item(items)
    sorted_labels = grouped.take(labels)
    sizes = grouped.sizes
    n_values = 0.0
    positives = np.zeros(n_labels)
    disagreeing = np.zeros(n_labels)
    both = np.zeros(n_labels)
    one = np.zeros(n_labels)
    annotations = np.zeros(n_labels, dtype=np.int64)
    with_label = np.zeros(n_labels, dtype=np.int64)
    for u0, u1, r0, r1 in grouped.chunks(chunk):
        counts = unit_counts(grouped, sorted_labels, u0, u1, r0, r1, n_labels)
        m = sizes[u0:u1]
        n_values += float(m[m >= 2].sum())
        # Every sum below vanishes where k = 0, so work on the nonzero (unit, label) cells
        # only: at most one per annotation, against units x labels for the dense block.
        unit, label = np.nonzero(counts)
        k = counts[unit, label].astype(np.float64)
        m = m[unit].astype(np.float64)
        pairable = m >= 2
        annotations += _sum_per_label(label, k, n_labels).astype(np.int64)
        with_label += np.bincount(label, minlength=n_labels)
        positives += _sum_per_label(label, np.where(pairable, k, 0.0), n_labels)
        # A unit with one value has k = 1 here: k (m - k) and k (k - 1) vanish on their own,
        # so only the 1 / (m - 1) weight needs guarding.
        mixed = k * (m - k)
        disagreeing += _sum_per_label(label, mixed / np.where(pairable, m - 1.0, 1.0), n_labels)
        one += _sum_per_label(label, mixed, n_labels)
        both += _sum_per_label(label, k * (k - 1.0), n_labels) / 2.0
    alpha = np.full(n_labels, np.nan)
    reasons: list[str | None] = []
    for c in range(n_labels):
        value, reason = alpha_from_totals(
            n_values,
            n_values - 2.0 * disagreeing[c],
            np.array([positives[c], n_values - positives[c]]),
        )
        if value is not None:
            alpha[c] = value
        reasons.append(reason)
    pairs = both + one
    with np.errstate(invalid="ignore", divide="ignore"):
        pair_agreement = np.where(pairs > 0, both / pairs, np.nan)
        specific = np.where(pairs > 0, 2.0 * both / (2.0 * both + one), np.nan)
    return PerLabel(
        alpha=alpha,
        alpha_reason=reasons,
        pair_agreement=pair_agreement,
        specific_agreement=specific,
        pairs=pairs.astype(np.int64),
        annotations=annotations,
        items=with_label,
    )


@dataclass(frozen=True)
class MultilabelAlpha:
    mean: float | None  # unweighted mean of the defined per-label alphas
    reason: str | None
    per_label: np.ndarray  # binary alpha per label, NaN where undefined
    per_label_reason: list[str | None]
    labels_defined: int


def multilabel_alpha(items, label_matrix, chunk: int = CHUNK_UNITS) -> MultilabelAlpha:
    """Agreement of multilabel annotations: each label is its own binary variable (chosen or
    not by each annotation), with its own Krippendorff alpha; the summary is their unweighted
    mean over the labels whose alpha is defined, so that a rare label counts as much as a
    frequent one. Labels nobody (or everybody) chose have no alpha and are left out; the
    mean is None when no label has one.
    """
    label_matrix = np.asarray(label_matrix)
    if label_matrix.ndim != 2:
        raise ValueError("label_matrix must be a bool matrix [n, n_labels]")
    per_label = per_label_agreement(items, label_matrix, label_matrix.shape[1], chunk)
    defined = ~np.isnan(per_label.alpha)
    if defined.any():
        mean, reason = float(per_label.alpha[defined].mean()), None
    else:
        mean = None
        reason = next((r for r in per_label.alpha_reason if r), "no labels")
    return MultilabelAlpha(
        mean=mean,
        reason=reason,
        per_label=per_label.alpha,
        per_label_reason=per_label.alpha_reason,
        labels_defined=int(defined.sum()),
    )


def confusion_matrix(
    items, labels, consensus, n_labels: int, mask: np.ndarray | None = None
) -> np.ndarray:
    """Counts [n_labels, n_labels]: row = the item's consensus label, column = the label the
    annotation gave. Annotations on items without a consensus (-1) are not counted; ``mask``
    (bool per annotation) restricts to, e.g., one annotator's annotations.
    """
    items, labels = check_single_labels(items, labels, n_labels)
    consensus = as_index_array("consensus", consensus)
    check_range("consensus", consensus, n_labels, allow_minus_one=True)
    reference = consensus[items]
    keep = reference >= 0
    if mask is not None:
        keep &= np.asarray(mask, dtype=bool)
    cells = reference[keep].astype(np.int64) * n_labels + labels[keep]
    return np.bincount(cells, minlength=n_labels * n_labels).reshape(n_labels, n_labels)
