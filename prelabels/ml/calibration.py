"""Turning a model's logits into confidences that mean what they say.

Temperature scaling (Guo et al., 2017) divides all logits by one number T fitted on held-out
logits to minimize the negative log-likelihood: it keeps every prediction's label and only
softens (T > 1) or sharpens (T < 1) the probabilities, so one parameter is enough to fit on a
few dozen held-out items. Isotonic calibration maps the top-label probability through a
monotone step function fitted on held-out (confidence, correct) pairs: more flexible, so it
needs more items (MIN_ISOTONIC_ITEMS); below that, temperature is used instead.
"""

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.isotonic import IsotonicRegression

TEMPERATURE = "temperature"
ISOTONIC = "isotonic"
NONE = "none"
METHODS = (TEMPERATURE, ISOTONIC, NONE)

# Isotonic steps fitted on fewer items are mostly noise: fall back to temperature below this.
MIN_ISOTONIC_ITEMS = 200
# The search range of log(T): T from 0.05 (sharpen 20x) to 20 (soften 20x).
LOG_T_BOUNDS = (np.log(0.05), np.log(20.0))


@dataclass
class Calibrator:
    """How logits become calibrated probabilities. `method` is one of METHODS; isotonic keeps the
    step function's knots (`iso_x` confidence -> `iso_y` calibrated), applied by interpolation."""

    method: str = NONE
    temperature: float = 1.0
    iso_x: np.ndarray = field(default_factory=lambda: np.zeros(0))
    iso_y: np.ndarray = field(default_factory=lambda: np.zeros(0))
    n_fitted: int = 0
    note: str = ""

    def top(self, logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The predicted label (the raw model's argmax: calibration never changes it) and its
        calibrated probability, per row. What pre-labels, metrics and the queue use."""
        logits = np.asarray(logits, dtype=np.float64)
        labels = logits.argmax(axis=1)
        probs = self.probabilities(logits)
        return labels, probs[np.arange(len(labels)), labels]

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated class probabilities (n, K). Isotonic calibrates the top label only: its
        probability is replaced and the others scaled to sum to one, so a runner-up can then
        exceed it; take labels from `top`, not from this argmax."""
        logits = np.asarray(logits, dtype=np.float64)
        if self.method == TEMPERATURE:
            return softmax(logits / self.temperature, axis=1)
        probs = softmax(logits, axis=1)
        if self.method == ISOTONIC and len(self.iso_x):
            rows = np.arange(len(probs))
            top = probs.argmax(axis=1)
            raw = probs[rows, top]
            calibrated = np.interp(raw, self.iso_x, self.iso_y)
            rest = 1.0 - raw
            scale = np.divide(1.0 - calibrated, rest, out=np.zeros_like(rest), where=rest > 0)
            probs = probs * scale[:, None]
            probs[rows, top] = calibrated
        return probs

    def to_json(self) -> dict:
        return {
            "method": self.method,
            "temperature": float(self.temperature),
            "n_fitted": int(self.n_fitted),
            "note": self.note,
        }

    @classmethod
    def from_json(cls, config: dict, iso_x: np.ndarray, iso_y: np.ndarray) -> "Calibrator":
        if config["method"] not in METHODS:
            raise ValueError(f"unknown calibration method {config['method']!r}")
        return cls(
            method=config["method"],
            temperature=float(config["temperature"]),
            iso_x=np.asarray(iso_x, dtype=np.float64),
            iso_y=np.asarray(iso_y, dtype=np.float64),
            n_fitted=int(config.get("n_fitted", 0)),
            note=str(config.get("note", "")),
        )


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of the true labels at this temperature."""
    log_probs = log_softmax(np.asarray(logits, dtype=np.float64) / temperature, axis=1)
    return float(-log_probs[np.arange(len(labels)), labels].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> Calibrator:
    """The temperature minimizing held-out NLL (bounded 1-D Brent search on log T: the NLL is
    smooth and unimodal in log T, and a bounded search cannot run off to infinity when the
    held-out set is perfectly separated)."""
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) == 0:
        return Calibrator(note="no held-out items: uncalibrated")
    result = minimize_scalar(
        lambda log_t: nll(logits, labels, float(np.exp(log_t))),
        bounds=LOG_T_BOUNDS,
        method="bounded",
        options={"xatol": 1e-4},
    )
    return Calibrator(method=TEMPERATURE, temperature=float(np.exp(result.x)), n_fitted=len(labels))


def fit_isotonic(logits: np.ndarray, labels: np.ndarray) -> Calibrator:
    """Top-label isotonic calibration; temperature scaling when there are too few items."""
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) < MIN_ISOTONIC_ITEMS:
        fallback = fit_temperature(logits, labels)
        fallback.note = f"isotonic needs {MIN_ISOTONIC_ITEMS} held-out items, had {len(labels)}"
        return fallback
    probs = softmax(np.asarray(logits, dtype=np.float64), axis=1)
    confidence = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == labels).astype(np.float64)
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(confidence, correct)
    return Calibrator(
        method=ISOTONIC,
        iso_x=np.asarray(iso.X_thresholds_, dtype=np.float64),
        iso_y=np.asarray(iso.y_thresholds_, dtype=np.float64),
        n_fitted=len(labels),
    )


def fit(logits: np.ndarray, labels: np.ndarray, method: str = TEMPERATURE) -> Calibrator:
    if method == TEMPERATURE:
        return fit_temperature(logits, labels)
    if method == ISOTONIC:
        return fit_isotonic(logits, labels)
    if method == NONE:
        return Calibrator()
    raise ValueError(f"unknown calibration method {method!r}; expected one of {METHODS}")
