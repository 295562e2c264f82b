"""Inputs from item data, hashed text features, pixels, and the synthetic corpus."""

import numpy as np
import pytest
from sklearn.utils import murmurhash3_32

from prelabels.ml import features, inputs, synthetic
from prelabels.ml.features import TextFeatures


def test_input_kind_follows_what_every_item_has():
    texts = [{"text": "good"}, {"text": "bad", "pixels": [[1]]}]
    images = [{"pixels": [[0, 1], [2, 3]]}, {"pixels": [[4, 5], [6, 7]], "caption": "x"}]
    assert inputs.input_kind(texts) == inputs.TEXT
    assert inputs.input_kind(images) == inputs.IMAGE
    assert inputs.input_kind([{"text": "a", "pixels": [[1]]}]) == inputs.TEXT
    with pytest.raises(ValueError, match="all have"):
        inputs.input_kind([{"text": "a"}, {"pixels": [[1]]}])
    kind, values = inputs.inputs_from_data(images)
    assert kind == inputs.IMAGE
    assert values[1].dtype == np.float32 and values[1].tolist() == [[4, 5], [6, 7]]


def test_input_from_data_rejects_malformed_values():
    with pytest.raises(ValueError, match="string"):
        inputs.input_from_data({"text": 3}, inputs.TEXT)
    with pytest.raises(ValueError, match="2-D"):
        inputs.input_from_data({"pixels": [1, 2, 3]}, inputs.IMAGE)
    with pytest.raises(ValueError, match="finite"):
        inputs.input_from_data({"pixels": [[1, float("nan")]]}, inputs.IMAGE)


def test_word_buckets_are_stable_murmur_hashes():
    config = TextFeatures(n_buckets=2**10, bigrams=False)
    ids, offsets = features.bags(["Hello, World", "hello"], config)
    expected = [murmurhash3_32(w, seed=0, positive=True) % 2**10 for w in ("hello", "world")]
    assert ids.tolist() == [*expected, expected[0]]
    assert offsets.tolist() == [0, 2, 3]


def test_bigrams_never_span_two_texts():
    config = TextFeatures(n_buckets=2**16)
    ids, offsets = features.bags(["a b", "", "c", "d e f"], config)
    # "a b": 2 words + 1 bigram; "": nothing; "c": 1 word; "d e f": 3 words + 2 bigrams.
    assert np.diff(offsets).tolist() == [3, 0, 1, 5]
    alone, _ = features.bags(["b c"], config)  # word b, bigram "b c", word c
    bigram_b_c = alone[1]
    joined, _ = features.bags(["a b", "c d"], config)
    assert len(joined) == 6 and bigram_b_c not in joined.tolist()


def test_a_text_holding_the_separator_is_still_one_text():
    ids, offsets = features.bags(["a\x00b", "c"], TextFeatures(bigrams=False))
    assert np.diff(offsets).tolist() == [2, 1]


def test_text_matrix_rows_are_unit_length_counts():
    matrix = features.text_matrix(["good good bad", ""], TextFeatures(bigrams=False))
    row = matrix[0].toarray().ravel()
    assert sorted(row[row > 0].round(4).tolist()) == pytest.approx(
        [1 / 5**0.5, 2 / 5**0.5], abs=1e-4
    )
    assert matrix[1].nnz == 0
    with_chars = features.text_matrix(["good"], TextFeatures(char_ngrams=(2, 3)))
    assert with_chars.shape[1] == TextFeatures(char_ngrams=(2, 3)).width


def test_pixels_are_scaled_and_shape_checked():
    assert features.pixel_scale([np.full((2, 2), 16)]) == 16.0
    assert features.pixel_scale([np.full((2, 2), 200)]) == 255.0
    array = features.pixel_array([[[0, 8], [16, 4]]], (2, 2), 16.0)
    assert array.tolist() == [[[0.0, 0.5], [1.0, 0.25]]]
    with pytest.raises(ValueError, match="expects"):
        features.pixel_array([np.zeros((3, 3))], (2, 2), 16.0)


def test_synthetic_corpus_is_seeded_and_labeled():
    texts, labels = synthetic.reviews(300, seed=5)
    again, again_labels = synthetic.reviews(300, seed=5)
    other, _ = synthetic.reviews(300, seed=6)
    assert texts == again and labels == again_labels and texts != other
    assert set(labels) == {0, 1, 2}
    assert 15 <= np.mean([len(t.split()) for t in texts]) <= 45
    positives = [t for t, y in zip(texts, labels, strict=True) if y == 0]
    assert np.mean([any(w in t for w in synthetic.POSITIVE_WORDS[:5]) for t in positives]) > 0.5
