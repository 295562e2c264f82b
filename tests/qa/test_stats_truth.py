"""Majority vote and Dawid-Skene (qa.stats.truth) on hand cases and seeded synthetic crowds."""

import numpy as np
import pytest

from qa.stats import truth
from qa.stats.simulate import simulate_crowd


def fit(crowd, **options):
    return truth.dawid_skene(
        crowd.items,
        crowd.annotators,
        crowd.labels,
        crowd.n_items,
        crowd.n_annotators,
        crowd.n_labels,
        **options,
    )


def majority_with_random_ties(crowd, seed: int) -> np.ndarray:
    """Majority vote with ties broken at random: the fair baseline (a tie is not a miss)."""
    counts = np.zeros((crowd.n_items, crowd.n_labels))
    np.add.at(counts, (crowd.items, crowd.labels), 1)
    top = counts == counts.max(axis=1, keepdims=True)
    noise = np.random.default_rng(seed).random(counts.shape)
    return np.where(top, noise, -1.0).argmax(axis=1)


def hard_crowd(seed: int):
    """2000 items, 5 labels, 20 annotators: 6 spammers (uniform labels), 4 biased (40 % of the
    time they answer the next label), 10 honest with accuracy 0.65-0.9; 3-5 labels per item."""
    return simulate_crowd(
        2000,
        5,
        20,
        per_item=(3, 5),
        spammers=6,
        biased=4,
        accuracy=(0.65, 0.9),
        bias=0.4,
        seed=seed,
    )


def test_majority_vote_hand_cases():
    items = np.array([0, 0, 0, 1, 1, 3, 3, 3, 3], dtype=np.int32)
    labels = np.array([2, 2, 1, 0, 1, 1, 1, 0, 2], dtype=np.int32)
    label, confidence, tie = truth.majority_vote(items, labels, 4, 3)
    assert label.tolist() == [2, -1, -1, 1]
    np.testing.assert_allclose(confidence, [2 / 3, 1 / 2, np.nan, 1 / 2])
    assert tie.tolist() == [False, True, False, False]
    assert label.dtype == np.int32


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dawid_skene_beats_majority_vote_on_a_crowd_with_spammers(seed):
    crowd = hard_crowd(seed)
    result = fit(crowd)
    ds_accuracy = np.mean(result.labels == crowd.truth)
    mv_accuracy = np.mean(majority_with_random_ties(crowd, seed) == crowd.truth)
    # Across 20 seeds the margin was 11.6 to 14.8 points (majority 0.68-0.74, DS 0.82-0.87).
    assert ds_accuracy >= mv_accuracy + 0.05
    assert result.converged and result.iterations < 100


def test_reliability_ranks_the_spammers_lowest():
    crowd = hard_crowd(0)
    result = fit(crowd)
    lowest = np.argsort(result.reliability)[:6]
    assert sorted(lowest.tolist()) == list(np.flatnonzero(crowd.kind == "spammer"))
    # A spammer is right by chance, 1 time in 5; the honest ones at least 0.65 of the time.
    np.testing.assert_allclose(result.reliability[:6], 0.2, atol=0.07)
    assert (result.reliability[10:] > 0.55).all()
    # A biased annotator's confusion shows the systematic k -> k + 1 answer.
    biased = result.confusions[6]
    assert all(biased[k, (k + 1) % 5] > 0.25 for k in range(5))


def test_dawid_skene_equals_majority_on_unanimous_data():
    rng = np.random.default_rng(3)
    truth_labels = rng.integers(0, 4, 500)
    items = np.repeat(np.arange(500, dtype=np.int32), 3)
    annotators = np.tile(np.array([0, 1, 2], dtype=np.int32), 500)
    labels = truth_labels[items].astype(np.int32)
    result = truth.dawid_skene(items, annotators, labels, 500, 3, 4)
    majority, _, _ = truth.majority_vote(items, labels, 500, 4)
    np.testing.assert_array_equal(result.labels, majority)
    assert result.converged and (result.confidence > 0.99).all()
    np.testing.assert_allclose(result.reliability, 1.0, atol=1e-3)


def test_one_annotator_is_taken_at_their_word():
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 3, 200).astype(np.int32)
    items = np.arange(200, dtype=np.int32)
    result = truth.dawid_skene(items, np.zeros(200, dtype=np.int32), labels, 200, 1, 3)
    np.testing.assert_array_equal(result.labels, labels)


def test_one_label_and_items_without_annotations():
    items = np.array([0, 0, 2], dtype=np.int32)
    result = truth.dawid_skene(items, np.array([0, 1, 1]), np.zeros(3, dtype=np.int32), 4, 3, 1)
    assert result.labels.tolist() == [0, -1, 0, -1]
    assert np.isnan(result.confidence[[1, 3]]).all()
    np.testing.assert_allclose(result.confidence[[0, 2]], 1.0)
    np.testing.assert_allclose(result.posterior, 1.0)
    # Annotator 2 gave no labels: no reliability rather than a made-up one.
    assert np.isnan(result.reliability[2]) and result.converged


def test_items_without_annotations_get_the_priors():
    crowd = hard_crowd(5)
    result = truth.dawid_skene(
        crowd.items, crowd.annotators, crowd.labels, crowd.n_items + 2, 20, 5
    )
    assert result.labels[-2:].tolist() == [-1, -1]
    assert np.isnan(result.confidence[-2:]).all()
    np.testing.assert_allclose(result.posterior[-1], result.priors, rtol=1e-6)


def test_gold_items_anchor_annotators_who_all_share_one_confusion():
    """Three annotators who all answer the next label 85 % of the time: the votes alone point
    at the wrong label (majority and plain DS both fail); gold on 10 % of items lets DS learn
    the confusion and decode the rest."""
    rng = np.random.default_rng(8)
    n_items, n_labels = 1500, 4
    truth_labels = rng.integers(0, n_labels, n_items)
    items = np.repeat(np.arange(n_items, dtype=np.int32), 3)
    annotators = np.tile(np.array([0, 1, 2], dtype=np.int32), n_items)
    shifted = rng.random(items.shape[0]) < 0.85
    labels = np.where(shifted, (truth_labels[items] + 1) % n_labels, truth_labels[items])
    labels = labels.astype(np.int32)
    gold = np.where(rng.random(n_items) < 0.1, truth_labels, -1)

    plain = truth.dawid_skene(items, annotators, labels, n_items, 3, n_labels)
    anchored = truth.dawid_skene(items, annotators, labels, n_items, 3, n_labels, gold=gold)
    assert np.mean(plain.labels == truth_labels) < 0.2
    assert np.mean(anchored.labels == truth_labels) > 0.9
    has_gold = gold >= 0
    np.testing.assert_array_equal(anchored.labels[has_gold], gold[has_gold])
    np.testing.assert_allclose(anchored.confidence[has_gold], 1.0)


def test_posterior_for_scores_one_item_with_stored_parameters():
    crowd = hard_crowd(6)
    result = fit(crowd)
    for item in (0, 17, 1999):
        rows = crowd.items == item
        posterior = truth.posterior_for(
            crowd.labels[rows], crowd.annotators[rows], result.confusions, result.priors
        )
        # The fit's posteriors were computed with the very parameters it returns.
        np.testing.assert_allclose(posterior, result.posterior[item], atol=1e-5)
    empty = truth.posterior_for([], [], result.confusions, result.priors)
    np.testing.assert_allclose(empty, result.priors)


def test_no_convergence_claimed_when_stopped_early():
    result = fit(hard_crowd(7), max_iter=2)
    assert result.iterations == 2 and not result.converged


def test_majority_init_can_be_replaced_and_bad_input_is_refused():
    crowd = hard_crowd(1)
    uniform = np.full((crowd.n_items, 5), 0.2)
    with pytest.raises(ValueError, match="smoothing"):
        fit(crowd, smoothing=0)
    with pytest.raises(ValueError, match="init"):
        fit(crowd, init="random")
    with pytest.raises(ValueError, match="annotators"):
        truth.dawid_skene(crowd.items, crowd.annotators, crowd.labels, crowd.n_items, 5, 5)
    # A uniform start is a fixed point of EM (every class looks the same): nothing learnt.
    stuck = fit(crowd, init=uniform)
    assert np.ptp(stuck.posterior) < 1e-4
