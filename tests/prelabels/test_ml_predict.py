"""Chunked predictions and queue priority; the adaptive overlap rule."""

import numpy as np
import pytest

from prelabels.ml import active, predict, synthetic, text_sklearn
from prelabels.ml.calibration import Calibrator


@pytest.fixture(scope="module")
def model():
    texts, labels = synthetic.reviews(800, seed=41)
    trained = text_sklearn.train(texts, labels, label_names=synthetic.LABEL_NAMES)
    trained.calibrator = Calibrator(method="temperature", temperature=0.5)
    return trained


def test_chunks_cover_every_input_in_order(model):
    texts, _ = synthetic.reviews(1005, seed=42)
    chunks = list(predict.predict_chunks(model, iter(texts), chunk=250))
    assert [len(c.labels) for c in chunks] == [250, 250, 250, 250, 5]
    labels = np.concatenate([c.labels for c in chunks])
    confidence = np.concatenate([c.confidence for c in chunks])
    uncertainty = np.concatenate([c.uncertainty for c in chunks])
    whole = next(predict.predict_chunks(model, texts, chunk=5000))
    assert np.array_equal(labels, whole.labels) and np.allclose(confidence, whole.confidence)
    assert labels.dtype == np.int64 and set(labels) <= {0, 1, 2}
    assert np.all((confidence >= 1 / 3) & (confidence <= 1))
    assert np.allclose(uncertainty, 1 - confidence)
    assert list(predict.predict_chunks(model, [], chunk=10)) == []
    with pytest.raises(ValueError):
        list(predict.predict_chunks(model, texts, chunk=0))


def test_the_most_uncertain_items_come_first(model):
    clear = "the quality is great. excellent overall. really amazing design. perfect overall."
    torn = "the quality is great. but the price is terrible. okay overall."
    chunk = next(predict.predict_chunks(model, [clear, torn, clear + " works"]))
    order = predict.priority_order(chunk.uncertainty)
    assert order[0] == 1
    assert chunk.labels[0] == 0 and chunk.confidence[0] > chunk.confidence[1]
    assert predict.priority_order(np.array([0.2, 0.5, 0.2, 0.9])).tolist() == [3, 1, 0, 2]


def test_confident_items_need_one_annotation_the_rest_full_overlap():
    needed = active.needed_annotations(np.array([0.95, 0.9, 0.89, 0.2]), 0.9, 3)
    assert needed.tolist() == [1, 1, 3, 3]
    with pytest.raises(ValueError):
        active.needed_annotations(np.array([0.5]), 0.9, 0)


def test_an_audit_share_of_confident_items_gets_full_overlap():
    rng = np.random.default_rng(0)
    confidence = rng.random(20_000)
    keys = [f"item-{i}" for i in range(20_000)]
    plan = active.overlap_plan(
        confidence, keys, threshold=0.7, full_overlap=3, audit_share=0.1, seed=7
    )
    confident = confidence >= 0.7
    assert np.array_equal(plan.confident, confident)
    assert not plan.audit[~confident].any()
    assert plan.audit[confident].mean() == pytest.approx(0.1, abs=0.015)
    assert (plan.needed[plan.audit] == 3).all() and (plan.needed[~confident] == 3).all()
    assert (plan.needed[confident & ~plan.audit] == 1).all()
    # The same items in other chunks and another order get the same answer; another seed not.
    reordered = active.overlap_plan(
        confidence[::-1][:5000],
        keys[::-1][:5000],
        threshold=0.7,
        full_overlap=3,
        audit_share=0.1,
        seed=7,
    )
    assert np.array_equal(reordered.needed, plan.needed[::-1][:5000])
    other = active.overlap_plan(
        confidence, keys, threshold=0.7, full_overlap=3, audit_share=0.1, seed=8
    )
    assert not np.array_equal(other.audit, plan.audit)
    none = active.overlap_plan(
        confidence, keys, threshold=0.7, full_overlap=3, audit_share=0.0, seed=7
    )
    assert not none.audit.any()
    with pytest.raises(ValueError, match="keys"):
        active.overlap_plan(
            confidence, keys[:5], threshold=0.7, full_overlap=3, audit_share=0.1, seed=7
        )
