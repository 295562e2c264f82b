"""Metrics (ECE, coverage, macro-F1, confusion) and calibration on known numbers."""

import numpy as np
import pytest
from scipy.special import softmax
from sklearn.metrics import f1_score

from prelabels.ml import calibration, metrics


def overconfident_logits(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from softmax(z), logits reported as 4z: a model 4x too sure of itself."""
    rng = np.random.default_rng(seed)
    true_logits = rng.normal(0, 1.5, size=(count, 4))
    probs = softmax(true_logits, axis=1)
    labels = np.array([rng.choice(4, p=p) for p in probs])
    return 4 * true_logits, labels


def test_ece_of_a_hand_computed_case():
    confidence = np.array([0.95, 0.95, 0.95, 0.95, 0.5, 0.5])
    correct = np.array([1, 1, 1, 0, 1, 0])
    # Bin (14/15, 1]: conf .95, acc .75, 4 items; bin (7/15, 8/15]: conf .5, acc .5, 2 items.
    expected = (4 * 0.2 + 2 * 0.0) / 6
    assert metrics.expected_calibration_error(confidence, correct) == pytest.approx(expected)
    bins = metrics.reliability_bins(confidence, correct)
    assert len(bins) == metrics.ECE_BINS
    assert [b["count"] for b in bins if b["count"]] == [2, 4]
    assert bins[-1]["accuracy"] == 0.75 and bins[0]["accuracy"] is None
    assert metrics.reliability_bins(np.array([0.0]), np.array([1]))[0]["count"] == 1


def test_coverage_counts_items_at_or_above_the_threshold():
    result = metrics.coverage(np.array([0.95, 0.9, 0.5, 0.2]), np.array([1, 0, 1, 1]), 0.9)
    assert result == {"threshold": 0.9, "share": 0.5, "count": 2, "accuracy": 0.5}
    assert metrics.coverage(np.array([0.1]), np.array([1]), 0.9)["accuracy"] is None


def test_macro_f1_and_confusion_match_scikit_learn():
    rng = np.random.default_rng(1)
    labels, predicted = rng.integers(0, 4, 200), rng.integers(0, 3, 200)
    assert metrics.macro_f1(labels, predicted, 5) == pytest.approx(
        f1_score(labels, predicted, average="macro")
    )
    matrix = metrics.confusion_matrix(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 0]), 3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 0]]


def test_summarize_reports_none_with_a_reason_on_too_few_items():
    zeros = np.zeros(5, dtype=int)
    summary, bins, confusion = metrics.summarize(zeros, zeros, np.full(5, 0.5), 0.9, 2)
    assert summary["accuracy"] is None and summary["ece"] is None
    assert "5 evaluated items" in summary["reasons"]["accuracy"]
    assert confusion == [[5, 0], [0, 0]]
    zeros = np.zeros(60, dtype=int)
    summary, _, _ = metrics.summarize(zeros, zeros, np.full(60, 0.8), 0.9, 2)
    assert summary["accuracy"] == 1.0 and summary["ece"] == pytest.approx(0.2)
    assert summary["reasons"] == {}


def test_temperature_scaling_recovers_the_temperature_and_cuts_ece():
    logits, labels = overconfident_logits(3000, seed=0)
    fitted = calibration.fit_temperature(logits, labels)
    assert fitted.temperature == pytest.approx(4.0, rel=0.15)
    test_logits, test_labels = overconfident_logits(3000, seed=1)

    def ece(probs):
        correct = probs.argmax(axis=1) == test_labels
        return metrics.expected_calibration_error(probs.max(axis=1), correct)

    raw = ece(softmax(test_logits, axis=1))
    calibrated = ece(fitted.probabilities(test_logits))
    assert raw > 0.1 and calibrated < 0.03
    assert (fitted.probabilities(test_logits).argmax(1) == test_logits.argmax(1)).all()
    assert calibration.nll(test_logits, test_labels, fitted.temperature) < calibration.nll(
        test_logits, test_labels
    )


def test_isotonic_calibration_cuts_ece_and_keeps_labels():
    logits, labels = overconfident_logits(3000, seed=2)
    fitted = calibration.fit(logits, labels, calibration.ISOTONIC)
    assert fitted.method == calibration.ISOTONIC
    test_logits, test_labels = overconfident_logits(3000, seed=3)
    assert np.allclose(fitted.probabilities(test_logits).sum(axis=1), 1.0)
    predicted, confidence = fitted.top(test_logits)
    assert (predicted == test_logits.argmax(axis=1)).all()
    correct = predicted == test_labels
    raw = metrics.expected_calibration_error(softmax(test_logits, axis=1).max(axis=1), correct)
    assert metrics.expected_calibration_error(confidence, correct) < raw / 3


def test_isotonic_falls_back_to_temperature_on_few_items():
    logits, labels = overconfident_logits(50, seed=4)
    fitted = calibration.fit(logits, labels, calibration.ISOTONIC)
    assert fitted.method == calibration.TEMPERATURE and "isotonic needs" in fitted.note
    with pytest.raises(ValueError, match="unknown calibration"):
        calibration.fit(logits, labels, "platt")
