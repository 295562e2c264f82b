"""Model files that load without running anyone's code.

A model version is one file. scikit-learn kinds: an .npz of plain numeric arrays, read with
`allow_pickle=False` (an object array in it is refused). torch kinds: `torch.save` of a dict
holding the state_dict, read with `torch.load(weights_only=True)`, whose unpickler only builds
tensors and plain containers (a pickled object of any class is refused). Both carry a JSON
header (format, kind, label names, the model's config, the calibrator) that is validated before
a model is rebuilt from its arrays. Nothing in a model file is ever unpickled as an object, so a
file an attacker swapped in can fail to load but cannot execute code.
"""

import io
import json
import os
import pickle
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .base import (
    IMAGE_SKLEARN,
    IMAGE_TORCH,
    MODEL_KINDS,
    TEXT_SKLEARN,
    TEXT_TORCH,
    TORCH_KINDS,
    Model,
)
from .calibration import Calibrator

# The name predates the move to prelabels/ml: files written before it carry it and still load.
FORMAT = "labeling.ml/1"
HEADER = "header"
ISO_X, ISO_Y = "calibration_iso_x", "calibration_iso_y"
ARRAY_PREFIX = "array_"
# What torch.load may raise on a file that is not ours or was tampered with.
TORCH_LOAD_ERRORS = (
    pickle.UnpicklingError,
    RuntimeError,
    ValueError,
    TypeError,
    KeyError,
    EOFError,
)


class ModelFileError(ValueError):
    """The file is not a model file this code wrote (or it was altered): nothing was loaded."""


def model_class(kind: str) -> Any:
    # Imported here so that loading a scikit-learn model does not import torch.
    if kind == TEXT_SKLEARN:
        from .text_sklearn import TextLinearModel

        return TextLinearModel
    if kind == TEXT_TORCH:
        from .text_torch import TextBagModel

        return TextBagModel
    if kind == IMAGE_TORCH:
        from .image_torch import ImageCNNModel

        return ImageCNNModel
    if kind == IMAGE_SKLEARN:
        from .image_sklearn import ImageLinearModel

        return ImageLinearModel
    raise ModelFileError(f"unknown model kind {kind!r}; expected one of {MODEL_KINDS}")


def _header(model: Model) -> str:
    return json.dumps(
        {
            "format": FORMAT,
            "kind": model.kind,
            "label_names": list(model.label_names),
            "config": model.config(),
            "calibrator": model.calibrator.to_json(),
        }
    )


def dumps(model: Model) -> bytes:
    """The model file's bytes (for a storage backend that takes bytes)."""
    buffer = io.BytesIO()
    calibration = {
        ISO_X: np.asarray(model.calibrator.iso_x, dtype=np.float64),
        ISO_Y: np.asarray(model.calibrator.iso_y, dtype=np.float64),
    }
    if model.kind in TORCH_KINDS:
        import torch

        state = {name: tensor.detach().cpu() for name, tensor in model.arrays().items()}
        payload = {HEADER: _header(model), "state": state}
        payload.update({name: torch.from_numpy(array) for name, array in calibration.items()})
        torch.save(payload, buffer)
    else:
        arrays = {ARRAY_PREFIX + name: np.asarray(a) for name, a in model.arrays().items()}
        np.savez(buffer, **{HEADER: np.array(_header(model))}, **calibration, **arrays)
    return buffer.getvalue()


def save(model: Model, path: str | os.PathLike) -> None:
    """Write the model (with its calibrator) to `path`, atomically: a reader sees the old file
    or the new one, never half of one."""
    path = Path(path)
    data = dumps(model)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _parse_header(text: str, expect_torch: bool) -> dict[str, Any]:
    try:
        header = json.loads(text)
    except json.JSONDecodeError as error:
        raise ModelFileError("the model file's header is not JSON") from error
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelFileError(f"not a {FORMAT} model file")
    kind = header.get("kind")
    if kind not in MODEL_KINDS or (kind in TORCH_KINDS) != expect_torch:
        raise ModelFileError(f"model kind {kind!r} does not match the file type")
    names = header.get("label_names")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ModelFileError("the model file's label names are missing or not strings")
    if not isinstance(header.get("config"), dict) or not isinstance(header.get("calibrator"), dict):
        raise ModelFileError("the model file's config or calibrator is missing")
    return header


def _build(header: dict[str, Any], arrays: dict[str, Any], iso_x: Any, iso_y: Any) -> Model:
    try:
        model = model_class(header["kind"]).from_stored(
            header["label_names"], header["config"], arrays
        )
        model.calibrator = Calibrator.from_json(header["calibrator"], iso_x, iso_y)
    except (KeyError, ValueError, TypeError, RuntimeError) as error:
        raise ModelFileError(f"the model file's arrays do not fit its header: {error}") from error
    return model


def _load_npz(data: bytes) -> Model:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
    except ValueError as error:  # an object array needs pickle: refused
        raise ModelFileError(f"refused: {error}") from error
    if HEADER not in arrays or arrays[HEADER].dtype.kind != "U":
        raise ModelFileError("the model file has no header")
    header = _parse_header(str(arrays[HEADER][()]), expect_torch=False)
    model_arrays = {
        name[len(ARRAY_PREFIX) :]: value
        for name, value in arrays.items()
        if name.startswith(ARRAY_PREFIX)
    }
    return _build(header, model_arrays, arrays.get(ISO_X, ()), arrays.get(ISO_Y, ()))


def _load_torch(data: bytes) -> Model:
    import torch

    try:
        payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except TORCH_LOAD_ERRORS as error:
        raise ModelFileError(f"refused: {error}") from error
    if not isinstance(payload, dict) or not isinstance(payload.get(HEADER), str):
        raise ModelFileError("the model file has no header")
    header = _parse_header(payload[HEADER], expect_torch=True)
    state = payload.get("state")
    if not isinstance(state, dict) or not all(isinstance(t, torch.Tensor) for t in state.values()):
        raise ModelFileError("the model file's state is not a dict of tensors")
    iso_x, iso_y = payload.get(ISO_X), payload.get(ISO_Y)
    if not isinstance(iso_x, torch.Tensor) or not isinstance(iso_y, torch.Tensor):
        raise ModelFileError("the model file's calibration arrays are missing")
    return _build(header, state, iso_x.numpy(), iso_y.numpy())


def loads(data: bytes) -> Model:
    """The model (with its calibrator) from a model file's bytes. ModelFileError when the bytes
    are not a model file this code wrote; no object is ever unpickled."""
    buffer = io.BytesIO(data)
    if not zipfile.is_zipfile(buffer):
        raise ModelFileError("not a model file (neither .npz nor a torch archive)")
    with zipfile.ZipFile(buffer) as archive:
        names = archive.namelist()
    if f"{HEADER}.npy" in names:
        return _load_npz(data)
    return _load_torch(data)


def load(path: str | os.PathLike) -> Model:
    """The model saved at `path`; see `loads`."""
    return loads(Path(path).read_bytes())
