"""Model files round-trip exactly and never unpickle an object."""

import io
import json
import pickle
import zipfile

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from prelabels.ml import (
    calibration,
    image_sklearn,
    image_torch,
    storage,
    synthetic,
    text_sklearn,
    text_torch,
)
from prelabels.ml.storage import ModelFileError

NAMES = synthetic.LABEL_NAMES
DIGIT_NAMES = [str(d) for d in range(10)]
TAMPERED = []


class Trap:
    """Records that it was unpickled: a loader that builds it would run attacker code."""

    def __reduce__(self):
        return (TAMPERED.append, ("unpickled",))


@pytest.fixture(scope="module")
def texts():
    return synthetic.reviews(400, seed=21)


@pytest.fixture(scope="module")
def images():
    data = load_digits()
    return list(data.images[:300]), data.target[:300]


def with_calibrator(model, method=calibration.TEMPERATURE):
    if method == calibration.ISOTONIC:
        model.calibrator = calibration.Calibrator(
            method=calibration.ISOTONIC, iso_x=np.array([0.3, 0.9]), iso_y=np.array([0.2, 0.8])
        )
    else:
        model.calibrator = calibration.Calibrator(method=method, temperature=1.7)
    return model


@pytest.mark.parametrize("kind", ["text_sklearn", "text_torch", "image_torch", "image_sklearn"])
def test_every_kind_round_trips_to_identical_predictions(kind, texts, images, tmp_path):
    if kind.startswith("text"):
        inputs, labels = texts
        module = text_sklearn if kind == "text_sklearn" else text_torch
        model = module.train(inputs, labels, label_names=NAMES)
    else:
        inputs, labels = images
        module = image_sklearn if kind == "image_sklearn" else image_torch
        model = module.train(inputs, labels, label_names=DIGIT_NAMES)
    with_calibrator(model, calibration.ISOTONIC if kind == "image_sklearn" else "temperature")
    path = tmp_path / f"{kind}.model"
    storage.save(model, path)
    loaded = storage.load(path)
    assert loaded.kind == kind and loaded.label_names == model.label_names
    assert loaded.calibrator.to_json() == model.calibrator.to_json()
    assert np.array_equal(loaded.calibrator.iso_x, model.calibrator.iso_x)
    assert np.array_equal(loaded.logits(inputs), model.logits(inputs))
    assert np.array_equal(
        loaded.calibrator.probabilities(loaded.logits(inputs)),
        model.calibrator.probabilities(model.logits(inputs)),
    )
    assert list(tmp_path.iterdir()) == [path], "no temporary file is left behind"


def test_a_text_model_stores_only_the_used_columns(texts):
    inputs, labels = texts
    model = text_sklearn.train(inputs, labels, label_names=NAMES)
    data = storage.dumps(model)
    assert len(data) < 200_000  # 2^18 dense columns x 3 classes would be 6 MB
    assert zipfile.ZipFile(io.BytesIO(data)).namelist().count("header.npy") == 1


def test_a_torch_file_holding_a_pickled_object_is_refused(tmp_path, texts):
    inputs, labels = texts
    model = text_torch.train(inputs[:50], labels[:50], label_names=NAMES)
    payload = torch.load(io.BytesIO(storage.dumps(model)), weights_only=True)
    payload["state"]["extra"] = Trap()
    path = tmp_path / "evil.pt"
    torch.save(payload, path)
    with pytest.raises(ModelFileError, match="refused"):
        storage.load(path)
    assert TAMPERED == []


def test_an_npz_holding_an_object_array_is_refused(tmp_path, texts):
    inputs, labels = texts
    model = text_sklearn.train(inputs, labels, label_names=NAMES)
    with np.load(io.BytesIO(storage.dumps(model)), allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    arrays["array_columns"] = np.array([Trap()], dtype=object)
    path = tmp_path / "evil.npz"
    with open(path, "wb") as out:
        np.savez(out, **arrays)
    with pytest.raises(ModelFileError, match="refused"):
        storage.load(path)
    assert TAMPERED == []


def test_a_plain_pickle_and_foreign_files_are_refused(tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(Trap()))
    with pytest.raises(ModelFileError, match="not a model file"):
        storage.load(path)
    path.write_bytes(b"")
    with pytest.raises(ModelFileError):
        storage.load(path)
    assert TAMPERED == []


def test_a_header_that_lies_about_the_kind_is_refused(texts):
    inputs, labels = texts
    model = text_sklearn.train(inputs, labels, label_names=NAMES)
    with np.load(io.BytesIO(storage.dumps(model)), allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    header = json.loads(str(arrays["header"][()]))
    for field, value, message in [
        ("kind", "text_torch", "does not match"),
        ("format", "other/9", "not a labeling.ml"),
        ("label_names", ["a", "b"], "do not fit"),
    ]:
        changed = {**arrays, "header": np.array(json.dumps({**header, field: value}))}
        buffer = io.BytesIO()
        np.savez(buffer, **changed)
        with pytest.raises(ModelFileError, match=message):
            storage.loads(buffer.getvalue())
