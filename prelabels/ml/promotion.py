"""Scoring a model on labeled items, and the rule that promotes a new version."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import metrics
from .base import Model

# F1 differences below this are ties (floating-point noise).
F1_TIE = 1e-9


@dataclass
class Evaluation:
    metrics: dict[str, Any]
    reliability: list[dict[str, Any]]
    confusion: list[list[int]]


def evaluate(
    model: Model, inputs: Sequence, labels: Sequence[int], threshold: float = 0.9
) -> Evaluation:
    """Score a model as it is (its own calibrator) on labeled items: how the lead scores the
    current version on a new version's held-out items before `is_better`."""
    labels_array = np.asarray(labels, dtype=np.int64)
    predicted, confidence = model.calibrator.top(model.logits(inputs))
    summary, bins, confusion = metrics.summarize(
        labels_array, predicted, confidence, threshold, len(model.label_names)
    )
    summary.update(
        kind=model.kind,
        evaluation="heldout",
        fingerprint=metrics.fingerprint(inputs, labels_array),
        n_heldout=len(labels_array),
    )
    return Evaluation(summary, bins, confusion)


def compare(
    new_metrics: dict[str, Any] | None,
    current_metrics: dict[str, Any] | None,
    *,
    min_gain: float = 0.0,
) -> tuple[bool, str]:
    """Whether the new version should replace the current one, and why.

    The rule: both are scored on the same items (the new version's held-out set, which with
    keyed splits neither has trained on; ValueError when the fingerprints differ). The new
    version wins when its macro-F1 beats the current one's by more than `min_gain` (default 0),
    and on an exact tie (with min_gain 0), since it has seen more labels. Macro-F1 rather than
    accuracy so that a rare class counts as much as a common one. The current version may have
    trained on some of these items (labeled before the split existed, or under
    cross-validation): that bias favours the current version, so it can delay a promotion but
    never cause one. A new version that cannot be measured on held-out labels (fewer than
    MIN_LABELS_FOR_SPLIT labels: cross-validation only) replaces the current one only when that
    one was not measured either. On a few hundred held-out items a difference of a point or two
    can be chance: `min_gain` sets how much evidence a promotion needs.
    """
    if current_metrics is None:
        return True, "no current version"
    new_f1 = (new_metrics or {}).get("macro_f1")
    current_f1 = current_metrics.get("macro_f1")
    new_comparable = new_f1 is not None and new_metrics.get("evaluation") == "heldout"
    current_comparable = current_f1 is not None and current_metrics.get("evaluation") == "heldout"
    if not new_comparable:
        if not current_comparable:
            return True, "neither version is measurable; the newer has seen more labels"
        return False, "the new version could not be measured on held-out labels"
    if not current_comparable:
        return True, "the current version was never measured on held-out labels"
    if new_metrics.get("fingerprint") != current_metrics.get("fingerprint"):
        raise ValueError("metrics of different item sets: score the current model with evaluate()")
    gain = new_f1 - current_f1
    if abs(gain) <= F1_TIE and min_gain <= 0:
        return True, f"same macro-F1 {new_f1:.4f}; the new version has seen more labels"
    if gain > min_gain:
        return True, f"macro-F1 {new_f1:.4f} > {current_f1:.4f} + {min_gain}"
    return False, f"macro-F1 {new_f1:.4f} does not beat {current_f1:.4f} + {min_gain}"


def is_better(
    new_metrics: dict[str, Any] | None,
    current_metrics: dict[str, Any] | None,
    *,
    min_gain: float = 0.0,
) -> bool:
    """The promotion rule of `compare`, as a yes/no."""
    return compare(new_metrics, current_metrics, min_gain=min_gain)[0]
