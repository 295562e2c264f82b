"""Per-annotator figures (qa.stats.annotators) against hand counts and a brute-force loop."""

import numpy as np
import pytest

from qa.stats import agreement
from qa.stats.simulate import simulate_crowd

# Item 0: annotators 0, 1, 2 say 1, 1, 0.  Item 1: annotators 0, 2 say 2, 2.
# Item 2: annotator 1 says 0 (alone).      Item 3: nobody.
ITEMS = np.array([0, 0, 0, 1, 1, 2], dtype=np.int32)
ANNOTATORS = np.array([0, 1, 2, 0, 2, 1], dtype=np.int32)
LABELS = np.array([1, 1, 0, 2, 2, 0], dtype=np.int32)


def test_hand_counted_figures():
    consensus = np.array([1, 2, 0, -1])
    gold = np.array([0, -1, 0, -1])
    durations = np.array([4.0, 10.0, np.nan, 6.0, np.nan, 2.0])
    stats = agreement.per_annotator(
        ITEMS, ANNOTATORS, LABELS, 4, 3, consensus=consensus, gold=gold, durations=durations
    )
    assert stats.annotations.tolist() == [2, 2, 2, 0]
    # Annotator 2 agrees with the consensus on item 1 only; annotator 3 has nothing.
    np.testing.assert_allclose(stats.agreement_with_consensus, [1.0, 1.0, 0.5, np.nan])
    assert stats.consensus_compared.tolist() == [2, 2, 2, 0]
    # Gold on items 0 and 2 (label 0): annotator 0 wrong on item 0, annotator 1 wrong on 0 and
    # right on 2, annotator 2 right on 0.
    np.testing.assert_allclose(stats.gold_accuracy, [0.0, 0.5, 1.0, np.nan])
    assert stats.gold_compared.tolist() == [1, 2, 1, 0]
    # Co-annotators: annotator 0 meets 2 others on item 0 (1 agrees) and 1 on item 1 (agrees).
    np.testing.assert_allclose(stats.agreement_with_others, [2 / 3, 1 / 2, 1 / 3, np.nan])
    assert stats.others_compared.tolist() == [3, 2, 3, 0]
    # Medians: annotator 0 of (4, 6), annotator 1 of (10, 2), annotator 2 only NaN.
    np.testing.assert_allclose(stats.median_duration, [5.0, 6.0, np.nan, np.nan])


def test_optional_inputs_give_nan_not_numbers():
    stats = agreement.per_annotator(ITEMS, ANNOTATORS, LABELS, 3, 3)
    assert np.isnan(stats.agreement_with_consensus).all()
    assert np.isnan(stats.gold_accuracy).all() and np.isnan(stats.median_duration).all()
    assert stats.gold_compared.tolist() == [0, 0, 0]


def test_against_a_brute_force_loop_on_a_crowd():
    crowd = simulate_crowd(400, 4, 9, per_item=(1, 4), spammers=2, seed=12)
    rng = np.random.default_rng(0)
    consensus = np.where(rng.random(400) < 0.8, crowd.truth, -1)
    gold = np.where(rng.random(400) < 0.3, crowd.truth, -1)
    durations = np.where(rng.random(crowd.items.shape[0]) < 0.1, np.nan, crowd.durations)
    stats = agreement.per_annotator(
        crowd.items,
        crowd.annotators,
        crowd.labels,
        9,
        4,
        consensus=consensus,
        gold=gold,
        durations=durations,
        chunk=13,
    )
    for a in range(9):
        mine = crowd.annotators == a
        items, labels = crowd.items[mine], crowd.labels[mine]
        with_consensus = consensus[items] >= 0
        assert stats.agreement_with_consensus[a] == pytest.approx(
            np.mean(labels[with_consensus] == consensus[items][with_consensus])
        )
        with_gold = gold[items] >= 0
        assert stats.gold_accuracy[a] == pytest.approx(
            np.mean(labels[with_gold] == gold[items][with_gold])
        )
        same = others = 0
        for item, label in zip(items, labels, strict=True):
            other = (crowd.items == item) & ~mine
            same += np.sum(crowd.labels[other] == label)
            others += np.sum(other)
        assert stats.agreement_with_others[a] == pytest.approx(same / others)
        assert stats.median_duration[a] == pytest.approx(np.nanmedian(durations[mine]))


def test_annotator_out_of_range_is_refused():
    with pytest.raises(ValueError, match="annotators"):
        agreement.per_annotator(ITEMS, ANNOTATORS, LABELS, 2, 3)
