"""How much self-supervised pre-training helps at small label counts, measured.

For each label count, the same random subsets of labeled texts train three models: the
torch text model from scratch ("plain"), the same model fine-tuned from an encoder pre-trained
on the unlabeled texts ("pretrained"), and the linear scikit-learn model for reference. All are
scored on the same held-out texts; each count is averaged over `repeats` subsets, since at 50
labels one subset's luck moves accuracy by several points.
"""

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import text_sklearn, text_torch


def pretraining_gain(
    unlabeled_texts: Sequence[str],
    pool_texts: Sequence[str],
    pool_labels: Sequence[int],
    test_texts: Sequence[str],
    test_labels: Sequence[int],
    *,
    label_names: Sequence[str],
    counts: Sequence[int] = (50, 100, 200),
    repeats: int = 3,
    seed: int = 0,
    encoder: text_torch.BagEncoder | None = None,
) -> list[dict[str, Any]]:
    """One row per label count: {labels, plain_accuracy, pretrained_accuracy, gain,
    sklearn_accuracy, repeats}. Labeled subsets are drawn from the pool (seeded); `encoder`
    skips the pre-training when one is at hand."""
    if encoder is None:
        encoder = text_torch.pretrain(unlabeled_texts, seed=seed)
    pool_labels = np.asarray(pool_labels, dtype=np.int64)
    test_labels = np.asarray(test_labels, dtype=np.int64)
    rows = []
    for count in counts:
        if count > len(pool_labels):
            raise ValueError(f"{count} labels asked, the pool has {len(pool_labels)}")
        scores: dict[str, list[float]] = {"plain": [], "pretrained": [], "sklearn": []}
        for repeat in range(repeats):
            rng = np.random.default_rng([seed, count, repeat])
            chosen = rng.choice(len(pool_labels), size=count, replace=False)
            texts = [pool_texts[int(i)] for i in chosen]
            labels = pool_labels[chosen]
            models = {
                "plain": text_torch.train(texts, labels, label_names=label_names, seed=repeat),
                "pretrained": text_torch.train(
                    texts, labels, label_names=label_names, seed=repeat, encoder=encoder
                ),
                "sklearn": text_sklearn.train(texts, labels, label_names=label_names, seed=repeat),
            }
            for name, model in models.items():
                predicted = model.logits(test_texts).argmax(axis=1)
                scores[name].append(float((predicted == test_labels).mean()))
        plain, pretrained = float(np.mean(scores["plain"])), float(np.mean(scores["pretrained"]))
        rows.append(
            {
                "labels": count,
                "plain_accuracy": plain,
                "pretrained_accuracy": pretrained,
                "gain": pretrained - plain,
                "sklearn_accuracy": float(np.mean(scores["sklearn"])),
                "repeats": repeats,
            }
        )
    return rows
