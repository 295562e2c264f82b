"""Each model kind learns (sanely) from a small real or synthetic set; pre-training works."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from prelabels.ml import image_sklearn, image_torch, synthetic, text_sklearn, text_torch
from prelabels.ml.base import ABSENT_CLASS_LOGIT

NAMES = synthetic.LABEL_NAMES
DIGIT_NAMES = [str(d) for d in range(10)]


@pytest.fixture(scope="module")
def reviews():
    texts, labels = synthetic.reviews(2500, seed=11)
    return texts[:1500], np.array(labels[:1500]), texts[1500:], np.array(labels[1500:])


@pytest.fixture(scope="module")
def digits():
    data = load_digits()  # ships with scikit-learn: no download
    order = np.random.default_rng(0).permutation(len(data.target))
    images, labels = data.images[order], data.target[order]
    return list(images[:400]), labels[:400], list(images[400:]), labels[400:]


def accuracy(model, inputs, labels) -> float:
    return float((model.logits(inputs).argmax(axis=1) == labels).mean())


def test_text_sklearn_learns_the_reviews(reviews):
    texts, labels, test_texts, test_labels = reviews
    model = text_sklearn.train(texts, labels, label_names=NAMES)
    assert model.logits(test_texts[:3]).shape == (3, 3)
    assert accuracy(model, test_texts, test_labels) > 0.85


def test_text_torch_learns_the_reviews(reviews):
    texts, labels, test_texts, test_labels = reviews
    model = text_torch.train(texts, labels, label_names=NAMES)
    assert accuracy(model, test_texts, test_labels) > 0.85


def test_image_models_learn_digits(digits):
    images, labels, test_images, test_labels = digits
    cnn = image_torch.train(images, labels, label_names=DIGIT_NAMES)
    linear = image_sklearn.train(images, labels, label_names=DIGIT_NAMES)
    assert accuracy(cnn, test_images, test_labels) > 0.9
    assert accuracy(linear, test_images, test_labels) > 0.9
    with pytest.raises(ValueError, match="expects"):
        cnn.logits([np.zeros((5, 5))])


def test_classes_without_labels_are_never_predicted(reviews):
    texts, labels, test_texts, _ = reviews
    keep = labels != 2
    model = text_sklearn.train(
        [t for t, k in zip(texts, keep, strict=True) if k], labels[keep], label_names=NAMES
    )
    logits = model.logits(test_texts)
    assert (logits.argmax(axis=1) != 2).all()
    assert (logits[:, 2] == ABSENT_CLASS_LOGIT).all()
    # Two classes seen: scikit-learn's single row becomes a proper two-way softmax.
    probs = np.exp(logits[:, :2]) / np.exp(logits[:, :2]).sum(axis=1, keepdims=True)
    assert ((probs[:, 0] > 0.5) == (logits[:, 0] > logits[:, 1])).all()


def group_texts(rng, groups, first_word: int, last_word: int) -> list[str]:
    """Texts of 3 words of their group (alpha or beta, numbered first..last) and 8 fillers."""
    texts = []
    for group in groups:
        words = [f"{('alpha', 'beta')[group]}{i}" for i in rng.integers(first_word, last_word, 3)]
        words += [f"filler{i}" for i in rng.integers(0, 30, 8)]
        rng.shuffle(words)
        texts.append(" ".join(words))
    return texts


def test_pretraining_lets_fine_tuning_generalize_to_words_never_labeled():
    rng = np.random.default_rng(0)
    unlabeled = group_texts(rng, rng.integers(0, 2, 3000), 0, 20)
    encoder = text_torch.pretrain(unlabeled, epochs=3, seed=0)
    # 8 labeled texts use words 0-4 of each group; the test texts only words 10-19, which no
    # label ever showed: only what pre-training learned from co-occurrence can place them.
    train_labels = np.array([0, 1] * 4)
    train_texts = group_texts(rng, train_labels, 0, 5)
    test_labels = rng.integers(0, 2, 400)
    test_texts = group_texts(rng, test_labels, 10, 20)
    names = ["alpha", "beta"]

    before = encoder.embedding.weight.detach().clone()
    plain = text_torch.train(train_texts, train_labels, label_names=names)
    tuned = text_torch.train(train_texts, train_labels, label_names=names, encoder=encoder)
    assert tuned.pretrained and not plain.pretrained
    assert torch.equal(encoder.embedding.weight, before), "fine-tuning must not alter the encoder"
    assert torch.equal(tuned.net.encoder.idf, encoder.idf)
    plain_accuracy = accuracy(plain, test_texts, test_labels)
    tuned_accuracy = accuracy(tuned, test_texts, test_labels)
    assert plain_accuracy < 0.6  # chance: the words are new to it
    assert tuned_accuracy > plain_accuracy + 0.1
    with pytest.raises(ValueError, match="other buckets"):
        text_torch.train(train_texts, train_labels, label_names=names, encoder=encoder, dim=16)
    with pytest.raises(ValueError, match="word-only"):
        text_torch.pretrain(unlabeled[:10], features=text_torch.TextFeatures())
