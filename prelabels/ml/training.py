"""Training one model version: split, fit, calibrate, measure; and the promotion rule.

How labeled items are split (`train_version`):
- At least MIN_LABELS_FOR_SPLIT labels: a held-out share (HELDOUT_SHARE) that the model never
  trains on. With `keys` (stable item ids) an item is held out when the hash of its key falls
  below the share: an item held out once stays held out in every later version, so the
  current and the new version can both be scored on the new held-out set without either
  having trained on it (that is what `is_better` compares). Without keys the split is
  stratified by label and seeded. Either way each class keeps at least one training item.
- Fewer labels: CV_FOLDS-fold cross-validation gives every item an out-of-fold prediction to
  calibrate and measure on, and the model is then trained on all of them (`evaluation` is
  "cross_validation"; such metrics are not comparable with another version's).
- Fewer than two labels, or a single class: trained on what there is, uncalibrated, every
  metric None with the reason.
Calibration is fitted on the held-out (or out-of-fold) logits. The reported ECE and coverage
are cross-fitted (each fold of the held-out set is calibrated by a calibrator fitted on the
other folds), so they do not grade the calibrator on the items it was fitted to.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import calibration, metrics
from .base import IMAGE_SKLEARN, IMAGE_TORCH, MODEL_KINDS, TEXT_SKLEARN, TEXT_TORCH, Model
from .calibration import Calibrator
from .promotion import Evaluation, compare, evaluate, is_better
from .splits import folds, key_fraction, keyed_split, stratified_split

__all__ = [
    "Evaluation",
    "TrainResult",
    "compare",
    "evaluate",
    "fit",
    "is_better",
    "key_fraction",
    "keyed_split",
    "select_image_model",
    "stratified_split",
    "train_version",
]

# Kind aliases: a text project gets the linear model (sub-second fits, no torch needed to
# predict; on the synthetic reviews the torch model, pre-trained, is better below ~200 labels:
# ask for text_torch). An image project gets whichever of the CNN and the pixel baseline
# validates better (IMAGE_AUTO).
TEXT = "text"
IMAGE_AUTO = "image"
TRAINABLE_KINDS = (*MODEL_KINDS, TEXT, IMAGE_AUTO)

HELDOUT_SHARE = 0.2
# Below this many labels a held-out fifth (under 40 items) measures little more than chance and
# costs the model a fifth of its few labels: cross-validate instead, and train on all.
MIN_LABELS_FOR_SPLIT = 200
CV_FOLDS = 5
# Folds of the held-out set for the cross-fitted ECE and coverage.
CALIBRATION_FOLDS = 5
# Folds of the training items that choose between the image models (each kind trains this
# many extra times: ~1.5 s per CNN on 100 digits).
SELECTION_FOLDS = 3
MIN_LABELS_FOR_SELECTION = 20
# Scores closer than this are ties (floating-point noise).
F1_TIE = 1e-9


@dataclass
class TrainResult:
    """A trained version. `model.calibrator` is `calibrator`. `metrics` holds accuracy,
    macro_f1, ece, coverage ({threshold, share, count, accuracy}), n_train, n_heldout,
    n_pseudo, evaluation ("heldout" | "cross_validation" | "none"), fingerprint, and
    `reasons` for every metric that is None. `heldout_index` are positions in the inputs the
    model did not train on (empty under cross-validation)."""

    model: Model
    calibrator: Calibrator
    metrics: dict[str, Any]
    reliability: list[dict[str, Any]]
    confusion: list[list[int]]
    train_index: np.ndarray
    heldout_index: np.ndarray
    rounds: list[dict[str, Any]] = field(default_factory=list)


def fit(
    kind: str,
    inputs: Sequence,
    labels: Sequence[int],
    *,
    label_names: Sequence[str],
    seed: int = 0,
    encoder: Any = None,
) -> Model:
    """Train an uncalibrated model of `kind` (one of MODEL_KINDS, or the aliases)."""
    kind = TEXT_SKLEARN if kind == TEXT else kind
    if kind == TEXT_SKLEARN:
        from . import text_sklearn

        return text_sklearn.train(inputs, labels, label_names=label_names, seed=seed)
    if kind == TEXT_TORCH:
        from . import text_torch

        return text_torch.train(inputs, labels, label_names=label_names, seed=seed, encoder=encoder)
    if kind == IMAGE_TORCH:
        from . import image_torch

        return image_torch.train(inputs, labels, label_names=label_names, seed=seed)
    if kind == IMAGE_SKLEARN:
        from . import image_sklearn

        return image_sklearn.train(inputs, labels, label_names=label_names, seed=seed)
    if kind == IMAGE_AUTO:
        return select_image_model(inputs, labels, label_names=label_names, seed=seed)[0]
    raise ValueError(f"unknown model kind {kind!r}; expected one of {TRAINABLE_KINDS}")


def _take(values: Sequence, positions: np.ndarray) -> list:
    return [values[int(p)] for p in positions]


def select_image_model(
    images: Sequence, labels: Sequence[int], *, label_names: Sequence[str], seed: int
) -> tuple[Model, dict[str, float]]:
    """The better of the CNN and the pixel baseline by out-of-fold macro-F1 over
    SELECTION_FOLDS folds of the training items (the held-out set stays untouched), retrained
    on all of them. Ties, and too few labels to validate, go to the baseline (cheaper, steadier).
    Returns the model and each kind's score."""
    from . import image_sklearn, image_torch

    labels = np.asarray(labels, dtype=np.int64)
    scores: dict[str, float] = {}
    chosen = IMAGE_SKLEARN
    if len(labels) >= MIN_LABELS_FOR_SELECTION:
        fold = folds(labels, SELECTION_FOLDS, seed + 1)
        for kind, module in ((IMAGE_SKLEARN, image_sklearn), (IMAGE_TORCH, image_torch)):
            predicted = np.empty(len(labels), dtype=np.int64)
            for k in range(SELECTION_FOLDS):
                inside = np.flatnonzero(fold == k)
                outside = np.flatnonzero(fold != k)
                model = module.train(
                    _take(images, outside), labels[outside], label_names=label_names, seed=seed
                )
                predicted[inside] = model.logits(_take(images, inside)).argmax(axis=1)
            scores[kind] = metrics.macro_f1(labels, predicted, len(label_names))
        if scores[IMAGE_TORCH] > scores[IMAGE_SKLEARN] + F1_TIE:
            chosen = IMAGE_TORCH
    model = fit(chosen, images, labels, label_names=label_names, seed=seed)
    return model, scores


def _cross_fitted_confidence(
    logits: np.ndarray, labels: np.ndarray, method: str, seed: int
) -> np.ndarray:
    if len(labels) < 2 * CALIBRATION_FOLDS:
        return calibration.fit(logits, labels, method).top(logits)[1]
    fold = folds(labels, CALIBRATION_FOLDS, seed)
    confidence = np.empty(len(labels))
    for k in range(CALIBRATION_FOLDS):
        inside = fold == k
        fitted = calibration.fit(logits[~inside], labels[~inside], method)
        confidence[inside] = fitted.top(logits[inside])[1]
    return confidence


def _measure(
    logits: np.ndarray, labels: np.ndarray, method: str, threshold: float, n_classes: int, seed: int
) -> tuple[Calibrator, dict[str, Any], list[dict[str, Any]], list[list[int]]]:
    calibrator = calibration.fit(logits, labels, method)
    predicted = logits.argmax(axis=1)
    confidence = _cross_fitted_confidence(logits, labels, method, seed)
    summary, bins, confusion = metrics.summarize(
        labels, predicted, confidence, threshold, n_classes
    )
    raw_confidence = Calibrator().top(logits)[1]
    raw = metrics.summarize(labels, predicted, raw_confidence, threshold, n_classes)
    summary["ece_uncalibrated"] = raw[0]["ece"]
    summary["calibration"] = calibrator.to_json()
    return calibrator, summary, bins, confusion


def _check(inputs: Sequence, labels: np.ndarray, n_labels: int, label_names: Sequence[str]):
    if len(inputs) != len(labels):
        raise ValueError(f"{len(inputs)} inputs but {len(labels)} labels")
    if len(label_names) != n_labels:
        raise ValueError(f"{len(label_names)} label names for {n_labels} labels")
    if len(labels) and (labels.min() < 0 or labels.max() >= n_labels):
        raise ValueError(f"labels must be indices in 0..{n_labels - 1}")


class _Fitter:
    """Fits the requested kind; for IMAGE_AUTO the first fit chooses the kind (by validation),
    and later folds and rounds reuse that choice."""

    def __init__(self, kind: str, label_names: list[str], seed: int, encoder: Any) -> None:
        self.kind, self.label_names, self.seed, self.encoder = kind, label_names, seed, encoder
        self.selection: dict[str, float] = {}

    def __call__(self, inputs: list, labels: np.ndarray) -> Model:
        if self.kind == IMAGE_AUTO:
            model, self.selection = select_image_model(
                inputs, labels, label_names=self.label_names, seed=self.seed
            )
            self.kind = model.kind
            return model
        return fit(
            self.kind,
            inputs,
            labels,
            label_names=self.label_names,
            seed=self.seed,
            encoder=self.encoder,
        )


def train_version(
    kind: str,
    inputs: Sequence,
    labels: Sequence[int],
    n_labels: int,
    seed: int = 0,
    threshold: float = 0.9,
    *,
    label_names: Sequence[str] | None = None,
    keys: Sequence[str] | None = None,
    heldout_share: float = HELDOUT_SHARE,
    calibration_method: str = calibration.TEMPERATURE,
    encoder: Any = None,
    unlabeled: Sequence | None = None,
    self_training_rounds: int = 0,
    pseudo_threshold: float | None = None,
) -> TrainResult:
    """Train, calibrate and measure one version on labeled items (see the module docstring).

    `kind` is one of MODEL_KINDS, "text" (text_sklearn) or "image" (chosen by validation).
    `n_labels` is the size of the label set (K): `labels` are indices in 0..K-1, and classes
    nobody has used yet are kept (never predicted). `threshold` is the confidence at which a
    pre-label counts as confident (coverage). `keys` (item ids, aligned with `inputs`) make the
    held-out split stable across versions. `encoder` is a pre-trained text_torch encoder.

    Self-training: with `unlabeled` inputs and `self_training_rounds`, each round pseudo-labels
    the unlabeled items the calibrated model predicts with confidence >= `pseudo_threshold`
    (default `threshold`) and retrains on the human labels plus those. Pseudo-labels never
    enter the held-out set (human labels only), where the model is re-calibrated and re-measured
    after each round; under cross-validation the calibrator and metrics stay those of the
    model before self-training (`metrics["reasons"]["self_training"]` says so)."""
    label_names = [str(i) for i in range(n_labels)] if label_names is None else list(label_names)
    labels_array = np.asarray(labels, dtype=np.int64)
    _check(inputs, labels_array, n_labels, label_names)
    if kind not in TRAINABLE_KINDS:
        raise ValueError(f"unknown model kind {kind!r}; expected one of {TRAINABLE_KINDS}")
    if len(labels_array) == 0:
        raise ValueError("no labeled items to train on")
    if keys is not None and len(keys) != len(labels_array):
        raise ValueError(f"{len(keys)} keys for {len(labels_array)} labeled items")
    fitter = _Fitter(kind, label_names, seed, encoder)
    inputs = list(inputs)
    n_classes_seen = len(np.unique(labels_array))
    if len(labels_array) < 2 or n_classes_seen < 2:
        result = _untested(fitter, inputs, labels_array, threshold, n_labels)
    elif len(labels_array) < MIN_LABELS_FOR_SPLIT:
        result = _cross_validated(
            fitter, inputs, labels_array, calibration_method, threshold, n_labels, seed
        )
    else:
        if keys is not None:
            train_index, heldout_index = keyed_split(labels_array, keys, heldout_share)
        else:
            train_index, heldout_index = stratified_split(labels_array, heldout_share, seed)
        model = fitter(_take(inputs, train_index), labels_array[train_index])
        result = _calibrated_result(
            model,
            inputs,
            labels_array,
            train_index,
            heldout_index,
            calibration_method,
            threshold,
            n_labels,
            seed,
        )
    if unlabeled is not None and len(unlabeled) and self_training_rounds > 0:
        result = _self_train(
            result,
            fitter,
            inputs,
            labels_array,
            list(unlabeled),
            self_training_rounds,
            threshold if pseudo_threshold is None else pseudo_threshold,
            calibration_method,
            threshold,
            n_labels,
            seed,
        )
    result.metrics.update(
        kind=result.model.kind,
        n_train=len(result.train_index),
        n_heldout=len(result.heldout_index),
        n_pseudo=result.rounds[-1]["n_pseudo"] if result.rounds else 0,
        selection=fitter.selection,
    )
    return result


def _untested(
    fitter: _Fitter, inputs: list, labels: np.ndarray, threshold: float, n_classes: int
) -> TrainResult:
    everything = np.arange(len(labels))
    model = fitter(inputs, labels)
    nothing = np.zeros(0, dtype=np.int64)
    summary, bins, confusion = metrics.summarize(nothing, nothing, nothing, threshold, n_classes)
    reason = f"{len(labels)} label(s) of {len(np.unique(labels))} class(es): nothing to hold out"
    for name in ("accuracy", "macro_f1", "coverage", "ece"):
        summary["reasons"][name] = reason
    summary.update(
        evaluation="none",
        ece_uncalibrated=None,
        calibration=Calibrator().to_json(),
        fingerprint=None,
    )
    empty = np.zeros(0, dtype=np.int64)
    return TrainResult(model, model.calibrator, summary, bins, confusion, everything, empty)


def _cross_validated(
    fitter: _Fitter,
    inputs: list,
    labels: np.ndarray,
    method: str,
    threshold: float,
    n_classes: int,
    seed: int,
) -> TrainResult:
    fold = folds(labels, min(CV_FOLDS, len(labels)), seed)
    logits = np.empty((len(labels), n_classes))
    for k in np.unique(fold):
        inside, outside = np.flatnonzero(fold == k), np.flatnonzero(fold != k)
        model = fitter(_take(inputs, outside), labels[outside])
        logits[inside] = model.logits(_take(inputs, inside))
    calibrator, summary, bins, confusion = _measure(
        logits, labels, method, threshold, n_classes, seed
    )
    model = fitter(inputs, labels)
    model.calibrator = calibrator
    summary.update(evaluation="cross_validation", fingerprint=None)
    everything, empty = np.arange(len(labels)), np.zeros(0, dtype=np.int64)
    return TrainResult(model, calibrator, summary, bins, confusion, everything, empty)


def _self_train(
    result: TrainResult,
    fitter: _Fitter,
    inputs: list,
    labels: np.ndarray,
    unlabeled: list,
    rounds: int,
    pseudo_threshold: float,
    method: str,
    threshold: float,
    n_classes: int,
    seed: int,
) -> TrainResult:
    history: list[dict[str, Any]] = []
    human_inputs = _take(inputs, result.train_index)
    human_labels = labels[result.train_index]
    for number in range(1, rounds + 1):
        predicted, confidence = result.calibrator.top(result.model.logits(unlabeled))
        confident = np.flatnonzero(confidence >= pseudo_threshold)
        model = fitter(
            human_inputs + _take(unlabeled, confident),
            np.concatenate([human_labels, predicted[confident]]),
        )
        before = result.metrics.get("accuracy")
        if len(result.heldout_index):
            result = _calibrated_result(
                model,
                inputs,
                labels,
                result.train_index,
                result.heldout_index,
                method,
                threshold,
                n_classes,
                seed,
            )
        else:
            model.calibrator = result.calibrator
            result.model = model
            result.metrics["reasons"]["self_training"] = (
                "metrics and calibration are those of the model before self-training "
                "(cross-validated); too few labels to hold any out"
            )
        history.append(
            {
                "round": number,
                "n_pseudo": len(confident),
                "heldout_accuracy_before": before,
                "heldout_accuracy_after": result.metrics.get("accuracy"),
            }
        )
    result.rounds = history
    return result


def _calibrated_result(
    model: Model,
    inputs: list,
    labels: np.ndarray,
    train_index: np.ndarray,
    heldout_index: np.ndarray,
    method: str,
    threshold: float,
    n_classes: int,
    seed: int,
) -> TrainResult:
    heldout_inputs, heldout_labels = _take(inputs, heldout_index), labels[heldout_index]
    calibrator, summary, bins, confusion = _measure(
        model.logits(heldout_inputs), heldout_labels, method, threshold, n_classes, seed
    )
    model.calibrator = calibrator
    summary.update(
        evaluation="heldout", fingerprint=metrics.fingerprint(heldout_inputs, heldout_labels)
    )
    return TrainResult(model, calibrator, summary, bins, confusion, train_index, heldout_index)
