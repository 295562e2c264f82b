"""Text classifier in torch: hashed word ids -> EmbeddingBag (IDF-weighted mean) -> linear
(fastText-like), and the self-supervised pre-training of its encoder on unlabeled texts.

Pre-training objective (masked token): hide one word of each text and predict its hashed
bucket (MASK_TARGETS classes) from the weighted mean embedding of the other words. That is
CBOW over a whole review: words that appear with the same neighbours (the positive adjectives
of product reviews, say) end up with similar embeddings, so a classifier fine-tuned on 50
labels can place words it never saw labeled. Two details make it work on short reviews, where
most words are fillers ("the", "it", product names): the hidden word is drawn in proportion to
its IDF (rare, informative words are hidden more often than "the"), and the mean is IDF-weighted
(fillers barely move it). After pre-training the embeddings are shifted and scaled so the
pooled vector is standardized over the corpus: CBOW embeddings share one large common
direction, and a linear head fine-tuned from few labels cannot find the small directions that
separate classes under it. It costs one EmbeddingBag lookup and one 8,192-way softmax per text.
The encoder uses words only (no bigrams): a bigram holding the hidden word would give it away.
"""

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from .base import TEXT_TORCH, use_torch_threads
from .calibration import Calibrator
from .features import TextFeatures, bags

# 2^17 buckets x 32 dimensions: 4.2M float32 = 16 MB per model file (+0.5 MB of IDF weights);
# training adds SparseAdam's two moments, ~50 MB in all.
DEFAULT_BUCKETS = 2**17
DEFAULT_DIM = 32
# Hashed targets of the masked-token head: 8,192 x 32 weights (1 MB); the logits of one
# pre-training batch are PRETRAIN_BATCH x 8,192 float32 = 16 MB.
MASK_TARGETS = 2**13
PRETRAIN_BATCH = 512
PRETRAIN_EPOCHS = 4
PRETRAIN_LR = 5e-3
# Texts whose pooled vectors set the standardization after pre-training (32 floats each).
STANDARDIZE_SAMPLE = 20_000
TRAIN_EPOCHS = 5
# A small label set would see a handful of steps in 5 epochs: train at least this many.
MIN_TRAIN_STEPS = 300
TRAIN_BATCH = 64
# A bigger batch for big label sets: 50,000 texts train in ~1,000 steps instead of ~4,000.
LARGE_TRAIN_BATCH = 256
LARGE_TRAIN_SET = 10_000
TRAIN_LR = 5e-3
DROPOUT = 0.2
# Texts embedded at once when predicting: ids of ~30 words x 8 bytes, ~2 MB.
LOGITS_CHUNK = 8192


def default_features() -> TextFeatures:
    return TextFeatures(n_buckets=DEFAULT_BUCKETS, bigrams=False)


def idf_weights(corpus_ids: np.ndarray, offsets: np.ndarray, n_buckets: int) -> np.ndarray:
    """Smoothed IDF of each bucket over a corpus, log((1 + N) / (1 + df)) + 1 as in
    scikit-learn. A bucket the corpus never used gets 1 (the weight of the commonest word): an
    unknown word should not outweigh the known ones, its embedding carries nothing yet."""
    owners = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    pairs = np.unique(owners.astype(np.int64) * n_buckets + corpus_ids)
    document_frequency = np.bincount(pairs % n_buckets, minlength=n_buckets)
    count = len(offsets) - 1
    idf = np.log((1.0 + count) / (1.0 + document_frequency)) + 1.0
    idf[document_frequency == 0] = 1.0
    return idf.astype(np.float32)


class BagEncoder(nn.Module):
    """IDF-weighted mean of the embeddings of a text's hashed word ids."""

    def __init__(self, n_buckets: int, dim: int) -> None:
        super().__init__()
        # Sparse gradients: a batch touches a few thousand of the 2^17 rows, and SparseAdam
        # updates only those (dense Adam would sweep all 4M weights every step, ~50x slower).
        self.embedding = nn.EmbeddingBag(n_buckets, dim, mode="sum", sparse=True)
        # fastText's init: small uniform, so an unseen bucket barely moves the mean.
        nn.init.uniform_(self.embedding.weight, -1.0 / dim, 1.0 / dim)
        self.register_buffer("idf", torch.ones(n_buckets))

    def forward(self, ids: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        weights = self.idf[ids]
        lengths = torch.diff(offsets, append=torch.tensor([len(ids)]))
        owner = torch.repeat_interleave(torch.arange(len(offsets)), lengths)
        totals = torch.zeros(len(offsets)).index_add_(0, owner, weights)
        weights = weights / totals[owner]
        return self.embedding(ids, offsets, per_sample_weights=weights)


class BagClassifier(nn.Module):
    def __init__(self, n_buckets: int, dim: int, n_classes: int) -> None:
        super().__init__()
        self.encoder = BagEncoder(n_buckets, dim)
        self.dropout = nn.Dropout(DROPOUT)
        self.head = nn.Linear(dim, n_classes)

    def forward(self, ids: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.encoder(ids, offsets)))


@dataclass
class Bags:
    """Hashed ids of a list of texts, flat, with the (n + 1) offsets of each text."""

    ids: np.ndarray
    offsets: np.ndarray

    @classmethod
    def of(cls, texts: Sequence[str], features: TextFeatures) -> "Bags":
        ids, offsets = bags(texts, features)
        return cls(ids, offsets)

    def batch(self, rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        starts, ends = self.offsets[rows], self.offsets[rows + 1]
        ids = np.concatenate([self.ids[s:e] for s, e in zip(starts, ends, strict=True)])
        batch_offsets = np.concatenate([[0], np.cumsum(ends - starts)[:-1]])
        return torch.from_numpy(ids), torch.from_numpy(batch_offsets)


@dataclass
class TextBagModel:
    label_names: list[str]
    features: TextFeatures
    dim: int
    net: BagClassifier
    calibrator: Calibrator = field(default_factory=Calibrator)
    pretrained: bool = False
    kind: ClassVar[str] = TEXT_TORCH

    def logits(self, inputs: Sequence[str]) -> np.ndarray:
        use_torch_threads()
        self.net.eval()
        out = np.empty((len(inputs), len(self.label_names)), dtype=np.float64)
        with torch.inference_mode():
            for start in range(0, len(inputs), LOGITS_CHUNK):
                ids, offsets = bags(inputs[start : start + LOGITS_CHUNK], self.features)
                scores = self.net(torch.from_numpy(ids), torch.from_numpy(offsets[:-1]))
                out[start : start + len(offsets) - 1] = scores.numpy()
        return out

    def config(self) -> dict[str, Any]:
        return {"features": self.features.to_json(), "dim": self.dim, "pretrained": self.pretrained}

    def arrays(self) -> dict[str, torch.Tensor]:
        return self.net.state_dict()

    @classmethod
    def from_stored(
        cls, label_names: list[str], config: dict[str, Any], arrays: dict[str, Any]
    ) -> "TextBagModel":
        features = TextFeatures.from_json(config["features"])
        dim = int(config["dim"])
        net = BagClassifier(features.n_buckets, dim, len(label_names))
        net.load_state_dict(arrays)  # strict: a missing or misshapen tensor raises
        net.eval()
        return cls(label_names, features, dim, net, pretrained=bool(config.get("pretrained")))


class _Optimizer:
    """SparseAdam for the embedding rows a batch touched, Adam for the dense rest. An encoder
    learning rate of 0 freezes the embeddings."""

    def __init__(self, modules: Sequence[nn.Module], lr: float, encoder_lr: float) -> None:
        embeddings = {
            id(m.embedding.weight)
            for mod in modules
            for m in mod.modules()
            if isinstance(m, BagEncoder)
        }
        sparse = [p for mod in modules for p in mod.parameters() if id(p) in embeddings]
        dense = [p for mod in modules for p in mod.parameters() if id(p) not in embeddings]
        self.optimizers: list[torch.optim.Optimizer] = [torch.optim.Adam(dense, lr=lr)]
        if encoder_lr > 0:
            self.optimizers.append(torch.optim.SparseAdam(sparse, lr=encoder_lr))
        else:
            for parameter in sparse:
                parameter.requires_grad_(False)

    def step(self, loss: torch.Tensor) -> None:
        for optimizer in self.optimizers:
            optimizer.zero_grad(set_to_none=True)
        loss.backward()
        for optimizer in self.optimizers:
            optimizer.step()


def _hide_one_word(
    corpus: Bags, idf: np.ndarray, rows: np.ndarray, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each text's bag without one word (drawn in proportion to its IDF) and that word's target."""
    starts, ends = corpus.offsets[rows], corpus.offsets[rows + 1]
    positions = np.concatenate([np.arange(s, e) for s, e in zip(starts, ends, strict=True)])
    lengths = ends - starts
    cumulative = np.cumsum(idf[corpus.ids[positions]], dtype=np.float64)
    bag_ends = np.cumsum(lengths) - 1
    bag_totals = np.diff(np.concatenate([[0.0], cumulative[bag_ends]]))
    bag_before = cumulative[bag_ends] - bag_totals
    draw = bag_before + rng.random(len(rows)) * bag_totals
    hidden_slot = np.minimum(np.searchsorted(cumulative, draw, side="right"), bag_ends)
    hidden = positions[hidden_slot]
    keep = np.ones(len(positions), dtype=bool)
    keep[hidden_slot] = False
    offsets = np.concatenate([[0], np.cumsum(lengths - 1)[:-1]])
    return (
        torch.from_numpy(corpus.ids[positions[keep]]),
        torch.from_numpy(offsets),
        torch.from_numpy(corpus.ids[hidden] % MASK_TARGETS),
    )


@torch.no_grad()
def _standardize(encoder: BagEncoder, corpus: Bags, rng: np.random.Generator) -> None:
    rows = rng.permutation(len(corpus.offsets) - 1)[:STANDARDIZE_SAMPLE]
    pooled = encoder(*corpus.batch(np.sort(rows)))
    mean, std = pooled.mean(dim=0), pooled.std(dim=0).clamp_min(1e-6)
    # The weights of a bag sum to one, so shifting and scaling every row shifts and scales the
    # pooled vector exactly the same way.
    encoder.embedding.weight.sub_(mean).div_(std)


def pretrain(
    texts: Sequence[str],
    *,
    seed: int = 0,
    epochs: int = PRETRAIN_EPOCHS,
    features: TextFeatures | None = None,
    dim: int = DEFAULT_DIM,
) -> BagEncoder:
    """An encoder trained by masked-token prediction on unlabeled `texts` (texts of fewer than
    two words are skipped), ready for `train(..., encoder=...)`; it keeps the corpus's IDF."""
    use_torch_threads()
    features = features or default_features()
    if features.bigrams:
        raise ValueError("pre-training needs word-only features (a bigram reveals the word)")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    corpus = Bags.of(texts, features)
    idf = idf_weights(corpus.ids, corpus.offsets, features.n_buckets)
    usable = np.flatnonzero(np.diff(corpus.offsets) >= 2)
    if len(usable) == 0:
        raise ValueError("no text of two or more words to pre-train on")
    encoder = BagEncoder(features.n_buckets, dim)
    encoder.idf.copy_(torch.from_numpy(idf))
    head = nn.Linear(dim, MASK_TARGETS)
    optimizer = _Optimizer([encoder, head], PRETRAIN_LR, PRETRAIN_LR)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        order = rng.permutation(usable)
        for start in range(0, len(order), PRETRAIN_BATCH):
            ids, offsets, targets = _hide_one_word(
                corpus, idf, order[start : start + PRETRAIN_BATCH], rng
            )
            optimizer.step(loss_fn(head(encoder(ids, offsets)), targets))
    _standardize(encoder, corpus, rng)
    encoder.eval()
    return encoder


def train(
    texts: Sequence[str],
    labels: Sequence[int],
    *,
    label_names: Sequence[str],
    seed: int = 0,
    encoder: BagEncoder | None = None,
    epochs: int = TRAIN_EPOCHS,
    features: TextFeatures | None = None,
    dim: int = DEFAULT_DIM,
    encoder_lr_scale: float = 1.0,
) -> TextBagModel:
    """Train with Adam on labeled texts. With `encoder` (from `pretrain`, same features and
    dim) the embeddings and IDF start from it (a copy: one encoder can fine-tune many models);
    without, the IDF comes from `texts`."""
    use_torch_threads()
    features = features or default_features()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    labels_array = np.asarray(labels, dtype=np.int64)
    corpus = Bags.of(texts, features)
    net = BagClassifier(features.n_buckets, dim, len(label_names))
    if encoder is not None:
        if encoder.embedding.weight.shape != net.encoder.embedding.weight.shape:
            raise ValueError("the pre-trained encoder has other buckets or dimensions")
        net.encoder = copy.deepcopy(encoder)
    else:
        idf = idf_weights(corpus.ids, corpus.offsets, features.n_buckets)
        net.encoder.idf.copy_(torch.from_numpy(idf))
    optimizer = _Optimizer([net], TRAIN_LR, TRAIN_LR * encoder_lr_scale)
    loss_fn = nn.CrossEntropyLoss()
    batch = LARGE_TRAIN_BATCH if len(labels_array) >= LARGE_TRAIN_SET else TRAIN_BATCH
    steps = max(MIN_TRAIN_STEPS, epochs * -(-len(labels_array) // batch))
    net.train()
    order = np.zeros(0, dtype=np.int64)
    for _ in range(steps):
        if len(order) == 0:
            order = rng.permutation(len(labels_array))
        rows, order = order[:batch], order[batch:]
        ids, offsets = corpus.batch(rows)
        optimizer.step(loss_fn(net(ids, offsets), torch.from_numpy(labels_array[rows])))
    net.eval()
    return TextBagModel(list(label_names), features, dim, net, pretrained=encoder is not None)
