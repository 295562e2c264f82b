"""Bootstrap interval of alpha (qa.stats.bootstrap): the pattern shortcut is the unit bootstrap."""

import numpy as np
import pytest

from qa.stats import agreement, bootstrap
from qa.stats.simulate import simulate_crowd


def crowd_arrays(n_items: int, seed: int, n_labels: int = 4):
    crowd = simulate_crowd(n_items, n_labels, 15, per_item=(1, 4), spammers=3, seed=seed)
    return crowd.items, crowd.labels


def explicit_resample(items, labels, chosen_units):
    """The annotation set made of the given units (with repetition), units renumbered."""
    unit_ids = np.unique(items)
    parts_items, parts_labels = [], []
    for new, unit in enumerate(unit_ids[chosen_units]):
        rows = items == unit
        parts_items.append(np.full(rows.sum(), new))
        parts_labels.append(labels[rows])
    return np.concatenate(parts_items), np.concatenate(parts_labels)


def test_patterns_reproduce_alpha_and_an_explicit_resample_exactly():
    items, labels = crowd_arrays(400, seed=1)
    sizes = np.bincount(items)
    pairable = np.flatnonzero(sizes >= 2)
    items, labels = items[np.isin(items, pairable)], labels[np.isin(items, pairable)]
    patterns, frequency = bootstrap.unit_patterns(items, labels, 4)
    stats = bootstrap.pattern_statistics(patterns)
    assert frequency.sum() == pairable.shape[0]
    point = bootstrap.alphas_from_pattern_counts(frequency[None, :], *stats)[0]
    assert point == pytest.approx(agreement.krippendorff_alpha_nominal(items, labels, 4), abs=1e-12)

    # One bootstrap replicate drawn explicitly: units picked with replacement ...
    rng = np.random.default_rng(3)
    chosen = rng.integers(0, pairable.shape[0], size=pairable.shape[0])
    resampled_items, resampled_labels = explicit_resample(items, labels, chosen)
    explicit = agreement.krippendorff_alpha_nominal(resampled_items, resampled_labels, 4)
    # ... equals the same replicate as counts per pattern.
    unit_counts = np.zeros((pairable.shape[0], 4), dtype=np.int64)
    np.add.at(unit_counts, (np.searchsorted(pairable, items), labels), 1)
    pattern_of_unit = [int(np.flatnonzero((patterns == row).all(axis=1))[0]) for row in unit_counts]
    picks = np.bincount(np.array(pattern_of_unit)[chosen], minlength=patterns.shape[0])
    shortcut = bootstrap.alphas_from_pattern_counts(picks[None, :].astype(float), *stats)[0]
    assert shortcut == pytest.approx(explicit, abs=1e-12)


def test_interval_matches_a_naive_unit_bootstrap():
    items, labels = crowd_arrays(300, seed=2)
    ours = agreement.bootstrap_alpha_ci(items, labels, 4, n_boot=2000, seed=5)
    # The textbook version: resample units, rebuild the data, recompute alpha, 2000 times.
    rng = np.random.default_rng(11)
    sizes = np.bincount(items)
    pairable = np.flatnonzero(sizes >= 2)
    keep = np.isin(items, pairable)
    items, labels = items[keep], labels[keep]
    order = np.argsort(items, kind="stable")
    items, labels = items[order], labels[order]
    starts = np.searchsorted(items, pairable)
    ends = np.searchsorted(items, pairable, side="right")
    alphas = []
    for _ in range(2000):
        chosen = rng.integers(0, pairable.shape[0], size=pairable.shape[0])
        rows = np.concatenate([np.arange(starts[u], ends[u]) for u in chosen])
        new_items = np.repeat(np.arange(chosen.shape[0]), ends[chosen] - starts[chosen])
        alphas.append(agreement.krippendorff_alpha_nominal(new_items, labels[rows], 4))
    low, high = np.quantile(alphas, [0.025, 0.975])
    width = high - low
    # Two Monte Carlo estimates of the same quantiles: equal up to simulation noise.
    assert ours.low == pytest.approx(low, abs=0.1 * width)
    assert ours.high == pytest.approx(high, abs=0.1 * width)
    assert ours.units == pairable.shape[0]


def test_interval_is_deterministic_per_seed_and_contains_the_estimate():
    items, labels = crowd_arrays(500, seed=3)
    first = agreement.bootstrap_alpha_ci(items, labels, 4, n_boot=500, seed=1)
    again = agreement.bootstrap_alpha_ci(items, labels, 4, n_boot=500, seed=1)
    other = agreement.bootstrap_alpha_ci(items, labels, 4, n_boot=500, seed=2)
    assert first == again
    assert first.interval != other.interval
    assert first.low < first.alpha < first.high
    assert first.alpha == pytest.approx(agreement.krippendorff_alpha_nominal(items, labels, 4))
    assert (first.replicates, first.undefined_replicates, first.level) == (500, 0, 0.95)


def test_interval_narrows_with_more_items():
    small = agreement.bootstrap_alpha_ci(*crowd_arrays(400, seed=4), 4, n_boot=800)
    large = agreement.bootstrap_alpha_ci(*crowd_arrays(6400, seed=4), 4, n_boot=800)
    # 16x the units: about a quarter of the width (standard error ~ 1 / sqrt(units)).
    assert large.high - large.low < 0.4 * (small.high - small.low)


def test_blocked_draws_give_the_same_interval(monkeypatch):
    """With more distinct patterns than a block, the multinomial is drawn block by block: same
    distribution, so the same interval up to Monte Carlo noise."""
    items, labels = crowd_arrays(3000, seed=6, n_labels=6)
    whole = agreement.bootstrap_alpha_ci(items, labels, 6, n_boot=2000, seed=0)
    monkeypatch.setattr(bootstrap, "PATTERN_BLOCK", 5)
    blocked = agreement.bootstrap_alpha_ci(items, labels, 6, n_boot=2000, seed=0)
    assert whole.patterns > 5
    width = whole.high - whole.low
    assert blocked.low == pytest.approx(whole.low, abs=0.1 * width)
    assert blocked.high == pytest.approx(whole.high, abs=0.1 * width)
    assert blocked.alpha == whole.alpha


def test_patterns_survive_a_hash_collision(monkeypatch):
    """The hashed grouping is checked; a forced collision falls back to exact row grouping."""
    items, labels = crowd_arrays(500, seed=7)
    reference = bootstrap.unit_patterns(items, labels, 4)
    # Every row hashes to 0.
    monkeypatch.setattr(bootstrap, "_hash_multipliers", lambda width: np.zeros(width, np.uint64))
    patterns, frequency = bootstrap.unit_patterns(items, labels, 4)
    ordered = np.lexsort(patterns.T[::-1])
    expected_order = np.lexsort(reference[0].T[::-1])
    np.testing.assert_array_equal(patterns[ordered], reference[0][expected_order])
    np.testing.assert_array_equal(frequency[ordered], reference[1][expected_order])


@pytest.mark.parametrize(
    ("items", "labels", "why"),
    [
        ([0, 0, 1, 1], [1, 1, 1, 1], "expected disagreement is 0"),
        ([0, 1, 2], [0, 1, 0], "fewer than 2 pairable values"),
        ([0, 0, 1], [0, 1, 1], "fewer than 2 pairable items"),
    ],
)
def test_no_interval_when_undefined(items, labels, why):
    result = agreement.bootstrap_alpha_ci(np.array(items), np.array(labels), 2, n_boot=50)
    assert result.interval is None and result.low is None and why in result.reason


def test_no_interval_when_most_replicates_are_undefined():
    # Two items: one unanimous, one split. Half the replicates draw the unanimous one twice.
    result = agreement.bootstrap_alpha_ci(
        np.array([0, 0, 1, 1]), np.array([0, 0, 0, 1]), 2, n_boot=400, seed=0
    )
    assert result.interval is None
    assert "undefined in" in result.reason and result.undefined_replicates > 20
