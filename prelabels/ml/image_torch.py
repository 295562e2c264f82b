"""Small CNN for grayscale pixel arrays (scikit-learn's 8x8 digits, values 0..16, and the like).

Two 3x3 convolutions, a pooling to 4x4 (so any image of at least 4x4 fits), dropout and a
linear layer: ~25,000 weights, 100 KB on disk. With few labels a CNN overfits fast, so every
training batch is shifted by up to one pixel at random (a digit moved by a pixel is the same
digit), and weight decay keeps the filters small.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from .base import IMAGE_TORCH, use_torch_threads
from .calibration import Calibrator
from .features import pixel_array, pixel_scale

CHANNELS = (16, 32)
HIDDEN = 64
DROPOUT = 0.3
TRAIN_LR = 3e-3
WEIGHT_DECAY = 1e-4
TRAIN_EPOCHS = 30
# 100 labels are two batches an epoch: train at least this many steps.
MIN_TRAIN_STEPS = 400
TRAIN_BATCH = 64
MAX_SHIFT = 1
# Images scored at once: 4,096 x 32 channels x 8 x 8 float32 activations = 32 MB.
LOGITS_CHUNK = 4096


class SmallCNN(nn.Module):
    def __init__(self, n_classes: int) -> None:
        super().__init__()
        first, second = CHANNELS
        self.features = nn.Sequential(
            nn.Conv2d(1, first, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(first, second, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveMaxPool2d(4),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(DROPOUT),
            nn.Linear(second * 16, HIDDEN),
            nn.ReLU(),
            nn.Linear(HIDDEN, n_classes),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(images.unsqueeze(1)))


def random_shift(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image moved by up to MAX_SHIFT pixels in each direction, zeros filling in."""
    count, height, width = images.shape
    padded = nn.functional.pad(images, (MAX_SHIFT,) * 4)
    span = 2 * MAX_SHIFT + 1
    dy = torch.randint(0, span, (count,), generator=generator)
    dx = torch.randint(0, span, (count,), generator=generator)
    rows = (dy[:, None] + torch.arange(height)[None, :])[:, :, None]
    cols = (dx[:, None] + torch.arange(width)[None, :])[:, None, :]
    return padded[torch.arange(count)[:, None, None], rows, cols]


@dataclass
class ImageCNNModel:
    label_names: list[str]
    shape: tuple[int, int]
    scale: float
    net: SmallCNN
    calibrator: Calibrator = field(default_factory=Calibrator)
    kind: ClassVar[str] = IMAGE_TORCH

    def logits(self, inputs: Sequence) -> np.ndarray:
        use_torch_threads()
        self.net.eval()
        out = np.empty((len(inputs), len(self.label_names)), dtype=np.float64)
        with torch.inference_mode():
            for start in range(0, len(inputs), LOGITS_CHUNK):
                pixels = pixel_array(inputs[start : start + LOGITS_CHUNK], self.shape, self.scale)
                out[start : start + len(pixels)] = self.net(torch.from_numpy(pixels)).numpy()
        return out

    def config(self) -> dict[str, Any]:
        return {"shape": list(self.shape), "scale": self.scale}

    def arrays(self) -> dict[str, torch.Tensor]:
        return self.net.state_dict()

    @classmethod
    def from_stored(
        cls, label_names: list[str], config: dict[str, Any], arrays: dict[str, Any]
    ) -> "ImageCNNModel":
        net = SmallCNN(len(label_names))
        net.load_state_dict(arrays)  # strict: a missing or misshapen tensor raises
        net.eval()
        shape = (int(config["shape"][0]), int(config["shape"][1]))
        return cls(label_names, shape, float(config["scale"]), net)


def train(
    images: Sequence,
    labels: Sequence[int],
    *,
    label_names: Sequence[str],
    seed: int = 0,
    epochs: int = TRAIN_EPOCHS,
) -> ImageCNNModel:
    use_torch_threads()
    shape = tuple(np.asarray(images[0]).shape)
    if len(shape) != 2 or min(shape) < 4:
        raise ValueError(f"images must be 2-D grayscale arrays of at least 4x4, got {shape}")
    scale = pixel_scale(images)
    pixels = torch.from_numpy(pixel_array(images, shape, scale))
    targets = torch.as_tensor(np.asarray(labels, dtype=np.int64))
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    net = SmallCNN(len(label_names))
    optimizer = torch.optim.AdamW(net.parameters(), lr=TRAIN_LR, weight_decay=WEIGHT_DECAY)
    loss_fn = nn.CrossEntropyLoss()
    steps = max(MIN_TRAIN_STEPS, epochs * -(-len(targets) // TRAIN_BATCH))
    net.train()
    order = torch.zeros(0, dtype=torch.int64)
    for _ in range(steps):
        if len(order) == 0:
            order = torch.randperm(len(targets), generator=generator)
        rows, order = order[:TRAIN_BATCH], order[TRAIN_BATCH:]
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(net(random_shift(pixels[rows], generator)), targets[rows])
        loss.backward()
        optimizer.step()
    net.eval()
    return ImageCNNModel(list(label_names), shape, scale, net)
