"""train_version's splits, calibration and metrics; evaluate; the promotion rule."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from prelabels.ml import image_torch, synthetic, training
from prelabels.ml.training import compare, evaluate, is_better, train_version

NAMES = synthetic.LABEL_NAMES


@pytest.fixture(scope="module")
def corpus():
    texts, labels = synthetic.reviews(1400, seed=31)
    return texts, np.array(labels)


@pytest.fixture(scope="module")
def version(corpus):
    texts, labels = corpus
    keys = [f"item-{i}" for i in range(1000)]
    return train_version(
        "text", texts[:1000], labels[:1000], 3, 0, 0.9, label_names=NAMES, keys=keys
    )


def test_a_version_holds_out_measures_and_calibrates(version, corpus):
    texts, labels = corpus
    m = version.metrics
    assert m["evaluation"] == "heldout" and m["kind"] == "text_sklearn"
    assert m["n_train"] + m["n_heldout"] == 1000 and 150 < m["n_heldout"] < 250
    assert not set(version.train_index) & set(version.heldout_index)
    assert m["accuracy"] > 0.85 and m["macro_f1"] > 0.8
    assert m["ece"] is not None and m["ece"] < m["ece_uncalibrated"]
    assert 0 < m["coverage"]["share"] <= 1 and m["coverage"]["accuracy"] >= m["accuracy"]
    assert version.model.calibrator is version.calibrator
    assert version.calibrator.method == "temperature"
    assert version.calibrator.n_fitted == m["n_heldout"]
    assert sum(map(sum, version.confusion)) == m["n_heldout"]
    assert sum(b["count"] for b in version.reliability) == m["n_heldout"]
    # The pre-labels of unseen texts are as good as the held-out set promised.
    predicted, _ = version.model.calibrator.top(version.model.logits(texts[1000:]))
    assert abs((predicted == labels[1000:]).mean() - m["accuracy"]) < 0.06


def test_keyed_held_out_items_stay_held_out_as_labels_grow(corpus):
    texts, labels = corpus
    keys = [f"item-{i}" for i in range(1400)]
    small = training.keyed_split(labels[:1000], keys[:1000], 0.2)[1]
    large = training.keyed_split(labels, keys, 0.2)[1]
    assert set(small) <= set(large)
    assert set(large) - set(small) <= set(range(1000, 1400))


def test_stratified_split_keeps_every_class_in_training():
    labels = np.array([0] * 50 + [1] * 10 + [2])
    train, heldout = training.stratified_split(labels, 0.2, seed=0)
    assert np.bincount(labels[heldout], minlength=3).tolist() == [10, 2, 0]
    assert set(labels[train]) == {0, 1, 2}
    train, heldout = training.keyed_split(np.array([0, 1, 1]), ["a", "b", "c"], 0.999)
    assert set(np.array([0, 1, 1])[train]) == {0, 1}


def test_few_labels_are_cross_validated_and_fewer_are_not_measured(corpus):
    texts, labels = corpus
    result = train_version("text_sklearn", texts[:40], labels[:40], 3, label_names=NAMES)
    assert result.metrics["evaluation"] == "cross_validation"
    assert result.metrics["n_train"] == 40 and result.metrics["n_heldout"] == 0
    assert result.metrics["accuracy"] is not None
    assert (
        result.metrics["ece"] is None and "40 evaluated items" in result.metrics["reasons"]["ece"]
    )
    assert result.calibrator.method == "temperature" and result.calibrator.n_fitted == 40
    lone = train_version("text", texts[:1], labels[:1], 3, label_names=NAMES)
    assert lone.metrics["evaluation"] == "none" and lone.metrics["accuracy"] is None
    assert "nothing to hold out" in lone.metrics["reasons"]["accuracy"]
    assert lone.model.logits(texts[:2]).argmax(axis=1).tolist() == [labels[0]] * 2


def test_bad_arguments_are_refused(corpus):
    texts, labels = corpus
    with pytest.raises(ValueError, match="indices"):
        train_version("text", texts[:5], [0, 1, 2, 3, 0], 3)
    with pytest.raises(ValueError, match="unknown model kind"):
        train_version("audio", texts[:5], labels[:5], 3)
    with pytest.raises(ValueError, match="label names"):
        train_version("text", texts[:5], labels[:5], 3, label_names=["a"])


def test_image_version_chooses_a_model_and_self_trains_on_pseudo_labels(monkeypatch):
    # Short CNN runs: this tests the choice and the rounds, not the CNN (test_ml_models does).
    monkeypatch.setattr(image_torch, "MIN_TRAIN_STEPS", 80)
    data = load_digits()
    order = np.random.default_rng(3).permutation(len(data.target))
    images, labels = list(data.images[order]), data.target[order]
    result = train_version(
        "image",
        images[:60],
        labels[:60],
        10,
        0,
        0.9,
        unlabeled=images[60:400],
        self_training_rounds=1,
    )
    m = result.metrics
    assert m["kind"] in ("image_torch", "image_sklearn")
    assert set(m["selection"]) == {"image_torch", "image_sklearn"}
    assert m["evaluation"] == "cross_validation" and "self_training" in m["reasons"]
    assert 0 < m["n_pseudo"] <= 340 and result.rounds[0]["n_pseudo"] == m["n_pseudo"]
    predicted, _ = result.model.calibrator.top(result.model.logits(images[400:]))
    assert (predicted == labels[400:]).mean() > 0.7  # 60 labels, short runs; chance is 0.1


def test_evaluate_scores_another_model_on_the_same_items(version, corpus):
    texts, labels = corpus
    heldout = version.heldout_index
    again = evaluate(version.model, [texts[i] for i in heldout], labels[heldout])
    assert again.metrics["fingerprint"] == version.metrics["fingerprint"]
    assert again.metrics["accuracy"] == version.metrics["accuracy"]
    assert again.confusion == version.confusion
    other = evaluate(version.model, texts[1000:1100], labels[1000:1100])
    with pytest.raises(ValueError, match="different item sets"):
        compare(version.metrics, other.metrics)


def metrics_of(f1, *, evaluation="heldout", fingerprint="same"):
    return {"macro_f1": f1, "evaluation": evaluation, "fingerprint": fingerprint}


def test_the_promotion_rule():
    assert is_better(metrics_of(0.80), None)  # first version
    assert is_better(metrics_of(0.82), metrics_of(0.80))
    assert not is_better(metrics_of(0.78), metrics_of(0.80))
    assert is_better(metrics_of(0.80), metrics_of(0.80))  # tie: more labels
    assert not is_better(metrics_of(0.81), metrics_of(0.80), min_gain=0.02)
    assert is_better(metrics_of(0.83), metrics_of(0.80), min_gain=0.02)
    unmeasured = metrics_of(None)
    cross_validated = metrics_of(0.9, evaluation="cross_validation")
    assert not is_better(unmeasured, metrics_of(0.5))
    assert not is_better(cross_validated, metrics_of(0.5))
    assert is_better(metrics_of(0.5), cross_validated)
    assert is_better(cross_validated, unmeasured)
    better, reason = compare(metrics_of(0.7), metrics_of(0.9))
    assert not better and "does not beat" in reason
