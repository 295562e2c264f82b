"""From an item's `data` (the JSON the client uploaded) to a model input.

A project is a text project when every item has `data["text"]` (a string), an image project
when every item has `data["pixels"]` (a 2-D grayscale array as nested lists). When every item
has both, text wins: text models are cheaper and stronger at small label counts.
"""

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

TEXT = "text"
IMAGE = "image"
KEYS = {TEXT: "text", IMAGE: "pixels"}


def input_kind(datas: Sequence[Mapping[str, Any]]) -> str:
    """TEXT or IMAGE: the input every item of the project has. ValueError when neither."""
    if not datas:
        raise ValueError("no items to decide the input kind from")
    for kind in (TEXT, IMAGE):
        if all(KEYS[kind] in data for data in datas):
            return kind
    counts = {key: sum(key in data for data in datas) for key in KEYS.values()}
    raise ValueError(f"items must all have 'text' or all have 'pixels' (of {len(datas)}: {counts})")


def input_from_data(data: Mapping[str, Any], kind: str) -> str | np.ndarray:
    """The model input of one item: its text, or its pixels as a float32 (height, width) array."""
    if kind == TEXT:
        text = data["text"]
        if not isinstance(text, str):
            raise ValueError("data['text'] must be a string")
        return text
    if kind == IMAGE:
        pixels = np.asarray(data["pixels"], dtype=np.float32)
        if pixels.ndim != 2 or pixels.size == 0:
            raise ValueError(f"data['pixels'] must be a 2-D array, got shape {pixels.shape}")
        if not np.isfinite(pixels).all():
            raise ValueError("data['pixels'] holds a value that is not a finite number")
        return pixels
    raise ValueError(f"unknown input kind {kind!r}; expected {TEXT!r} or {IMAGE!r}")


def inputs_from_data(datas: Sequence[Mapping[str, Any]]) -> tuple[str, list]:
    """The input kind of a project's items and each item's input, in order."""
    kind = input_kind(datas)
    return kind, [input_from_data(data, kind) for data in datas]
