"""What every model kind shares: its interface, the kind names, and torch's thread budget."""

import os
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from .calibration import Calibrator

TEXT_SKLEARN = "text_sklearn"
TEXT_TORCH = "text_torch"
IMAGE_TORCH = "image_torch"
IMAGE_SKLEARN = "image_sklearn"
MODEL_KINDS = (TEXT_SKLEARN, TEXT_TORCH, IMAGE_TORCH, IMAGE_SKLEARN)
TORCH_KINDS = (TEXT_TORCH, IMAGE_TORCH)

# A class the training labels never showed gets this logit (its weights are zero): its
# probability is ~e^-30 of the others', i.e. never predicted, and calibration leaves it there.
ABSENT_CLASS_LOGIT = -30.0

# One thread unless LQA_TORCH_THREADS says otherwise. The 2 cores are shared with the web and
# Celery processes; when the other core is busy, torch's second thread waits at every barrier:
# training 10,000 texts took 14 s with 2 threads and 2.9 s with 1 on this machine under load.
# These models' operations are small, so a second thread gains little even when idle.
DEFAULT_TORCH_THREADS = 1


class Model(Protocol):
    """A trained model of one of MODEL_KINDS. `logits` maps a list of inputs (texts, or 2-D
    pixel arrays) to raw scores (n, K); `calibrator` turns them into calibrated probabilities.
    `config()` is JSON, `arrays()` numpy arrays or torch tensors: together they are the model
    file (see storage.py)."""

    kind: str
    label_names: list[str]
    calibrator: Calibrator

    def logits(self, inputs: Sequence) -> np.ndarray: ...

    def config(self) -> dict[str, Any]: ...

    def arrays(self) -> dict[str, Any]: ...


def predict_proba(model: Model, inputs: Sequence) -> np.ndarray:
    """Calibrated class probabilities (n, K) of `inputs`."""
    return model.calibrator.probabilities(model.logits(inputs))


def use_torch_threads() -> None:
    import torch

    threads = int(os.environ.get("LQA_TORCH_THREADS", DEFAULT_TORCH_THREADS))
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def all_class_scores(
    present: np.ndarray, coef: np.ndarray, intercept: np.ndarray, n_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Spread a fitted linear model's rows (for the classes it saw, `present`) over all K
    classes; a two-class fit's single row becomes [0, w] (softmax of that is its sigmoid)."""
    width = coef.shape[1]
    full_coef = np.zeros((n_classes, width), dtype=np.float32)
    full_intercept = np.full(n_classes, ABSENT_CLASS_LOGIT, dtype=np.float64)
    if len(present) == 1:
        full_intercept[present[0]] = 0.0
    elif len(present) == 2 and coef.shape[0] == 1:
        full_intercept[present[0]] = 0.0
        full_coef[present[1]] = coef[0]
        full_intercept[present[1]] = intercept[0]
    else:
        full_coef[present] = coef
        full_intercept[present] = intercept
    return full_coef, full_intercept
