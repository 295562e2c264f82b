"""A seeded synthetic crowd with known truth, for tests, benchmarks and demos.

Annotators come in three kinds: "good" (correct with their own accuracy, otherwise a uniform
other label), "spammer" (a uniform label whatever the truth) and "biased" (like good, but with
a fixed probability they answer the next label, (truth + 1) mod K, a systematic confusion).
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Crowd:
    items: np.ndarray  # int32 [n], ordered by item
    annotators: np.ndarray  # int32 [n]
    labels: np.ndarray  # int32 [n]
    durations: np.ndarray  # float64 [n], seconds
    truth: np.ndarray  # int32 [n_items]
    kind: np.ndarray  # str [n_annotators]: "good", "spammer" or "biased"
    n_items: int
    n_annotators: int
    n_labels: int


def _distinct_annotators(rng, n_items: int, width: int, n_annotators: int) -> np.ndarray:
    """[n_items, width] annotator indices, distinct within each row (rejection by rows)."""
    chosen = rng.integers(0, n_annotators, size=(n_items, width), dtype=np.int32)
    while True:
        ordered = np.sort(chosen, axis=1)
        bad = np.flatnonzero((ordered[:, 1:] == ordered[:, :-1]).any(axis=1))
        if bad.size == 0:
            return chosen
        chosen[bad] = rng.integers(0, n_annotators, size=(bad.size, width), dtype=np.int32)


def simulate_crowd(
    n_items: int,
    n_labels: int,
    n_annotators: int,
    per_item: tuple[int, int] = (3, 3),
    spammers: int = 0,
    biased: int = 0,
    accuracy: tuple[float, float] = (0.75, 0.95),
    bias: float = 0.4,
    priors: np.ndarray | None = None,
    seed: int = 0,
) -> Crowd:
    """Each item gets between per_item[0] and per_item[1] distinct annotators (uniformly);
    the first ``spammers`` annotators are spammers, the next ``biased`` are biased."""
    low, high = per_item
    if not 1 <= low <= high <= n_annotators:
        raise ValueError("per_item must satisfy 1 <= low <= high <= n_annotators")
    if spammers + biased > n_annotators:
        raise ValueError("more spammers and biased annotators than annotators")
    rng = np.random.default_rng(seed)
    kind = np.array(["good"] * n_annotators, dtype=object)
    kind[:spammers] = "spammer"
    kind[spammers : spammers + biased] = "biased"
    skill = rng.uniform(*accuracy, size=n_annotators)
    pace = rng.lognormal(np.log(8.0), 0.4, size=n_annotators)
    p = np.full(n_labels, 1.0 / n_labels) if priors is None else np.asarray(priors, float)
    truth = rng.choice(n_labels, size=n_items, p=p / p.sum()).astype(np.int32)

    count = rng.integers(low, high + 1, size=n_items)
    matrix = _distinct_annotators(rng, n_items, high, n_annotators)
    keep = np.arange(high)[None, :] < count[:, None]
    items = np.repeat(np.arange(n_items, dtype=np.int32), count)
    annotators = matrix[keep]
    true = truth[items]

    draw = rng.random(items.shape[0])
    other = (true + rng.integers(1, max(n_labels, 2), size=items.shape[0])) % n_labels
    labels = np.where(draw < skill[annotators], true, other)
    is_biased = kind[annotators] == "biased"
    confused = is_biased & (rng.random(items.shape[0]) < bias)
    labels = np.where(confused, (true + 1) % n_labels, labels)
    is_spammer = kind[annotators] == "spammer"
    labels = np.where(is_spammer, rng.integers(0, n_labels, size=items.shape[0]), labels)
    durations = rng.lognormal(np.log(pace[annotators]), 0.5)
    return Crowd(
        items=items,
        annotators=annotators.astype(np.int32),
        labels=labels.astype(np.int32),
        durations=durations,
        truth=truth,
        kind=kind.astype(str),
        n_items=n_items,
        n_annotators=n_annotators,
        n_labels=n_labels,
    )
