"""Which labeled items train a version and which measure it.

`keyed_split` holds an item out when the hash of its key (its id) falls below the share, so
an item held out once stays held out as labels grow and every version can be scored on the
latest held-out set without having trained on it. `stratified_split` is the seeded fallback
when there are no keys. `folds` spreads classes evenly over cross-validation folds.
"""

import hashlib
from collections.abc import Sequence

import numpy as np


def key_fraction(key: str, salt: str = "heldout") -> float:
    """A stable number in [0, 1) for an item key (the same on every machine and run)."""
    digest = hashlib.blake2b(f"{salt}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def stratified_split(labels: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (train, held-out) positions with about `share` of each class held out; a class
    keeps at least one training item."""
    rng = np.random.default_rng(seed)
    heldout = []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        take = min(int(round(share * len(members))), len(members) - 1)
        heldout.extend(members[:take].tolist())
    held = np.zeros(len(labels), dtype=bool)
    held[heldout] = True
    return np.flatnonzero(~held), np.flatnonzero(held)


def keyed_split(
    labels: np.ndarray, keys: Sequence[str], share: float
) -> tuple[np.ndarray, np.ndarray]:
    """(train, held-out) positions by the hash of each item's key (see the module docstring)."""
    fractions = np.array([key_fraction(str(key)) for key in keys])
    held = fractions < share
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if held[members].all():
            # The class would have no training item: train on its highest-hashed one.
            held[members[np.argmax(fractions[members])]] = False
    return np.flatnonzero(~held), np.flatnonzero(held)


def folds(labels: np.ndarray, count: int, seed: int) -> np.ndarray:
    """A fold number per item, classes spread round-robin over the folds."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(labels))
    order = order[np.argsort(labels[order], kind="stable")]
    fold = np.empty(len(labels), dtype=np.int64)
    fold[order] = np.arange(len(labels)) % count
    return fold
