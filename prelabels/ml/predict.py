"""Pre-labels in chunks: the predicted label, its calibrated confidence, and the uncertainty
that orders the labeling queue.

Uncertainty is 1 - the calibrated probability of the predicted label ("least confidence"). It
is the complement of the confidence the overlap rule thresholds, so the queue's order and the
overlap decision can never disagree, and on calibrated probabilities it is the model's own
estimate of the chance that the pre-label is wrong. (Margin and entropy rank nearly alike for a
few classes; they would need their own threshold semantics.) Higher uncertainty is served first.
"""

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import NamedTuple

import numpy as np

from .base import Model

# Inputs scored per chunk: for texts ~2 KB each with their features (~4 MB), for 8x8 images a
# few KB; the lead writes each chunk's predictions to the items in one bulk update.
PREDICT_CHUNK = 2048


class PredictionChunk(NamedTuple):
    labels: np.ndarray  # int64 label indices
    confidence: np.ndarray  # float64 calibrated probability of that label
    uncertainty: np.ndarray  # float64, 1 - confidence; higher = ask a human first


def uncertainty(probs: np.ndarray) -> np.ndarray:
    return 1.0 - np.asarray(probs, dtype=np.float64).max(axis=1)


def predict_chunks(
    model: Model, inputs: Iterable, chunk: int = PREDICT_CHUNK
) -> Iterator[PredictionChunk]:
    """Predictions for `inputs` (any iterable: consumed `chunk` at a time, never whole), one
    PredictionChunk per chunk, in input order, the last one possibly shorter."""
    if chunk < 1:
        raise ValueError("chunk must be at least 1")
    iterator = iter(inputs)
    while batch := list(islice(iterator, chunk)):
        labels, confidence = model.calibrator.top(model.logits(batch))
        yield PredictionChunk(labels.astype(np.int64), confidence, 1.0 - confidence)


def priority_order(uncertainties: np.ndarray) -> np.ndarray:
    """Positions from the most uncertain to the least (ties keep input order)."""
    return np.argsort(-np.asarray(uncertainties, dtype=np.float64), kind="stable")
