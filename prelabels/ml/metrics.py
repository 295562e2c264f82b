"""Quality measures of predictions against true labels, on plain arrays.

Expected calibration error (ECE): confidences are put into ECE_BINS equal-width bins over
[0, 1] (bin b holds b/15 < c <= (b+1)/15; the first also holds 0); ECE is the average over bins
of |accuracy - mean confidence|, weighted by the share of items in the bin. 0 is perfect; an
over-confident model has a large ECE. With few items the estimate is dominated by noise, so
`summarize` reports None (and why) below MIN_ITEMS_FOR_ECE.
"""

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

ECE_BINS = 15
# Below these counts the measure says more about chance than about the model.
MIN_ITEMS_FOR_ACCURACY = 10
MIN_ITEMS_FOR_ECE = 50


def accuracy(labels: np.ndarray, predicted: np.ndarray) -> float:
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    return float((labels == predicted).mean()) if len(labels) else 0.0


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts (n_classes, n_classes): row = true label, column = predicted label."""
    flat = np.asarray(labels, dtype=np.int64) * n_classes + np.asarray(predicted, dtype=np.int64)
    return np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def macro_f1(labels: np.ndarray, predicted: np.ndarray, n_classes: int) -> float:
    """Unweighted mean of per-class F1 over the classes that occur as a label or a prediction
    (a class absent from both says nothing; this is scikit-learn's default)."""
    matrix = confusion_matrix(labels, predicted, n_classes).astype(np.float64)
    true_positive = np.diag(matrix)
    as_label, as_prediction = matrix.sum(axis=1), matrix.sum(axis=0)
    present = (as_label + as_prediction) > 0
    if not present.any():
        return 0.0
    denominator = as_label + as_prediction
    f1 = np.divide(2 * true_positive, denominator, out=np.zeros_like(denominator), where=present)
    return float(f1[present].mean())


def _bin_of(confidence: np.ndarray, n_bins: int) -> np.ndarray:
    return np.clip(np.ceil(confidence * n_bins).astype(np.int64) - 1, 0, n_bins - 1)


def reliability_bins(
    confidence: np.ndarray, correct: np.ndarray, n_bins: int = ECE_BINS
) -> list[dict[str, Any]]:
    """One row per equal-width bin, for a reliability diagram: its bounds, how many items fell
    in, their mean confidence and accuracy (None for an empty bin)."""
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    bins = _bin_of(confidence, n_bins)
    rows = []
    for b in range(n_bins):
        members = bins == b
        count = int(members.sum())
        rows.append(
            {
                "lower": b / n_bins,
                "upper": (b + 1) / n_bins,
                "count": count,
                "confidence": float(confidence[members].mean()) if count else None,
                "accuracy": float(correct[members].mean()) if count else None,
            }
        )
    return rows


def expected_calibration_error(
    confidence: np.ndarray, correct: np.ndarray, n_bins: int = ECE_BINS
) -> float:
    confidence = np.asarray(confidence, dtype=np.float64)
    if len(confidence) == 0:
        return 0.0
    total = 0.0
    for row in reliability_bins(confidence, correct, n_bins):
        if row["count"]:
            total += row["count"] * abs(row["accuracy"] - row["confidence"])
    return total / len(confidence)


def coverage(confidence: np.ndarray, correct: np.ndarray, threshold: float) -> dict[str, Any]:
    """The share of items whose confidence is >= threshold (those a pre-label could settle with
    one annotation) and the accuracy on them (None when no item reaches the threshold)."""
    confidence = np.asarray(confidence, dtype=np.float64)
    covered = confidence >= threshold
    count = int(covered.sum())
    return {
        "threshold": float(threshold),
        "share": float(covered.mean()) if len(confidence) else 0.0,
        "count": count,
        "accuracy": float(np.asarray(correct)[covered].mean()) if count else None,
    }


def fingerprint(inputs: Sequence, labels: Sequence[int]) -> str:
    """A short digest of an evaluation set, so two metrics are only compared on the same items."""
    digest = hashlib.blake2b(digest_size=12)
    for value, label in zip(inputs, labels, strict=True):
        if isinstance(value, str):
            digest.update(value.encode("utf-8", "surrogatepass"))
        else:
            array = np.ascontiguousarray(np.asarray(value, dtype=np.float32))
            digest.update(str(array.shape).encode())
            digest.update(array.tobytes())
        digest.update(b"\x00%d\x00" % int(label))
    return digest.hexdigest()


def summarize(
    labels: np.ndarray,
    predicted: np.ndarray,
    confidence: np.ndarray,
    threshold: float,
    n_classes: int,
) -> tuple[dict[str, Any], list[dict[str, Any]], list[list[int]]]:
    """Metrics, reliability bins and confusion matrix of predictions (label and calibrated
    confidence per item) against true labels. A metric that cannot be measured on this many
    items is None, and `metrics["reasons"][name]` says why."""
    labels = np.asarray(labels, dtype=np.int64)
    predicted = np.asarray(predicted, dtype=np.int64)
    confidence = np.asarray(confidence, dtype=np.float64)
    count = len(labels)
    correct = predicted == labels
    reasons: dict[str, str] = {}
    metrics: dict[str, Any] = {"n_evaluated": count, "reasons": reasons}
    if count >= MIN_ITEMS_FOR_ACCURACY:
        metrics["accuracy"] = accuracy(labels, predicted)
        metrics["macro_f1"] = macro_f1(labels, predicted, n_classes)
        metrics["coverage"] = coverage(confidence, correct, threshold)
    else:
        reason = f"{count} evaluated items; at least {MIN_ITEMS_FOR_ACCURACY} needed"
        for name in ("accuracy", "macro_f1", "coverage"):
            metrics[name] = None
            reasons[name] = reason
    if count >= MIN_ITEMS_FOR_ECE:
        metrics["ece"] = expected_calibration_error(confidence, correct)
    else:
        metrics["ece"] = None
        reasons["ece"] = f"{count} evaluated items; at least {MIN_ITEMS_FOR_ECE} needed"
    metrics["mean_confidence"] = float(confidence.mean()) if count else None
    bins = reliability_bins(confidence, correct) if count else []
    confusion = confusion_matrix(labels, predicted, n_classes).tolist()
    return metrics, bins, confusion
