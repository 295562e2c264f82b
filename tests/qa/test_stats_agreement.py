"""Agreement statistics (qa.stats.agreement): published examples, the `krippendorff` package
and scikit-learn as references, chunking and ordering invariance, and the undefined cases."""

from fractions import Fraction

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from qa.stats import agreement, pairwise
from qa.stats._units import stable_order
from qa.stats.simulate import simulate_crowd

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers x
# 12 units, nominal values 1-5, None = missing. Published alpha (nominal) = 0.743.
KRIPPENDORFF_2011_C = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]
# Its coincidence matrix as printed in the paper (values 1-5).
KRIPPENDORFF_2011_C_COINCIDENCES = [
    [7, Fraction(4, 3), Fraction(1, 3), Fraction(1, 3), 0],
    [Fraction(4, 3), 10, Fraction(4, 3), Fraction(1, 3), 0],
    [Fraction(1, 3), Fraction(4, 3), 8, Fraction(1, 3), 0],
    [Fraction(1, 3), Fraction(1, 3), Fraction(1, 3), 4, 0],
    [0, 0, 0, 0, 3],
]
# Same paper, section A: two coders, binary data, 10 units. Published alpha = 0.095.
KRIPPENDORFF_2011_A = [
    [0, 1, 0, 0, 0, 0, 0, 0, 1, 0],
    [1, 1, 1, 0, 0, 1, 0, 0, 0, 0],
]


def from_reliability(table, offset: int = 0):
    """(items, annotators, labels) of an observers x units table (None = missing)."""
    rows = [
        (unit, observer, value - offset)
        for observer, row in enumerate(table)
        for unit, value in enumerate(row)
        if value is not None
    ]
    items, annotators, labels = (
        np.array(column, dtype=np.int32) for column in zip(*rows, strict=True)
    )
    return items, annotators, labels


def to_reliability(items, annotators, labels, n_items, n_annotators):
    data = np.full((n_annotators, n_items), np.nan)
    data[annotators, items] = labels
    return data


def random_annotations(seed: int, n_items=150, n_annotators=6, n_labels=4, missing=0.45):
    """Every (item, annotator) cell present with probability 1 - missing, skewed labels."""
    rng = np.random.default_rng(seed)
    present = rng.random((n_items, n_annotators)) > missing
    items, annotators = np.nonzero(present)
    truth = rng.integers(0, n_labels, n_items)
    agree = rng.random(items.shape[0]) < 0.6
    labels = np.where(
        agree, truth[items], rng.choice(n_labels, items.shape[0], p=[0.4, 0.3, 0.2, 0.1])
    )
    return items.astype(np.int32), annotators.astype(np.int32), labels.astype(np.int32)


def test_krippendorff_2011_four_observers_nominal_with_missing_data():
    items, _, labels = from_reliability(KRIPPENDORFF_2011_C, offset=1)
    alpha, reason = agreement.krippendorff_alpha_nominal_with_reason(items, labels, 5)
    assert reason is None
    assert round(alpha, 3) == 0.743
    # Exactly: 1 - (n - 1) (n - trace) / (n^2 - sum n_c^2) with n = 40, trace = 32, and
    # n_c = 9, 13, 10, 5, 3.
    assert alpha == pytest.approx(1 - 39 * 8 / (40**2 - (81 + 169 + 100 + 25 + 9)), abs=1e-12)
    expected = np.array(KRIPPENDORFF_2011_C_COINCIDENCES, dtype=float)
    np.testing.assert_allclose(agreement.coincidence_matrix(items, labels, 5), expected, atol=1e-12)


def test_krippendorff_2011_two_coders_binary():
    items, _, labels = from_reliability(KRIPPENDORFF_2011_A)
    alpha = agreement.krippendorff_alpha_nominal(items, labels, 2)
    assert round(alpha, 3) == 0.095
    # o_01 = 4, n_0 = 14, n_1 = 6, n = 20: alpha = 1 - 19 * 4 / (14 * 6).
    assert alpha == pytest.approx(1 - 19 * 4 / (14 * 6), abs=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_alpha_equals_the_krippendorff_package_on_random_data_with_missing_values(seed):
    items, annotators, labels = random_annotations(seed)
    ours = agreement.krippendorff_alpha_nominal(items, labels, 4)
    data = to_reliability(items, annotators, labels, 150, 6)
    theirs = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert ours == pytest.approx(float(theirs), abs=1e-9)


def test_alpha_does_not_depend_on_chunking_or_on_the_order_of_the_annotations():
    crowd = simulate_crowd(3000, 6, 25, per_item=(1, 5), spammers=3, seed=4)
    whole = agreement.coincidence_matrix(crowd.items, crowd.labels, 6)
    chunked = agreement.coincidence_matrix(crowd.items, crowd.labels, 6, chunk=7)
    order = np.random.default_rng(0).permutation(crowd.items.shape[0])
    shuffled = agreement.coincidence_matrix(crowd.items[order], crowd.labels[order], 6)
    np.testing.assert_allclose(chunked, whole, rtol=1e-12)
    np.testing.assert_allclose(shuffled, whole, rtol=1e-12)
    # Units with one value contribute nothing: n (the matrix total) counts only pairable values.
    sizes = np.bincount(crowd.items)
    assert whole.sum() == pytest.approx(sizes[sizes >= 2].sum())


@pytest.mark.parametrize(
    ("items", "labels", "why"),
    [
        ([0, 0, 1, 1], [2, 2, 2, 2], "expected disagreement is 0"),
        ([0, 1, 2], [0, 1, 2], "fewer than 2 pairable values"),
        ([], [], "fewer than 2 pairable values"),
    ],
)
def test_alpha_is_none_with_a_reason_when_undefined(items, labels, why):
    items, labels = np.array(items, dtype=np.int32), np.array(labels, dtype=np.int32)
    alpha, reason = agreement.krippendorff_alpha_nominal_with_reason(items, labels, 3)
    assert alpha is None
    assert why in reason
    assert agreement.krippendorff_alpha_nominal(items, labels, 3) is None


def test_labels_out_of_range_are_refused():
    with pytest.raises(ValueError, match="labels"):
        agreement.krippendorff_alpha_nominal(np.array([0, 0]), np.array([0, 3]), 3)


# Wikipedia, "Fleiss' kappa", worked example: 10 subjects, 14 raters, 5 categories (counts of
# raters per category). P_bar = 0.378, P_e = 0.213, kappa = 0.210.
FLEISS_WIKIPEDIA = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def from_counts(table, first_item: int = 0):
    counts = np.array(table)
    item_of_cell, label_of_cell = np.nonzero(counts)
    repeats = counts[item_of_cell, label_of_cell]
    items = np.repeat(item_of_cell + first_item, repeats).astype(np.int32)
    return items, np.repeat(label_of_cell, repeats).astype(np.int32)


def test_fleiss_kappa_reproduces_the_wikipedia_example():
    items, labels = from_counts(FLEISS_WIKIPEDIA)
    result = agreement.fleiss_kappa(items, labels, 5)
    assert round(result.kappa, 3) == 0.210
    p_bar, p_e = 0.378, 0.213  # as published, rounded
    assert result.kappa == pytest.approx((p_bar - p_e) / (1 - p_e), abs=2e-3)
    assert (result.raters, result.items_used, result.items_rated) == (14, 10, 10)


def test_fleiss_kappa_uses_the_items_with_the_modal_number_of_ratings():
    items, labels = from_counts(FLEISS_WIKIPEDIA)
    # Three items with 3 ratings and one with a single rating: not 14, so left out.
    extra_items, extra_labels = from_counts([[3, 0, 0, 0, 0], [1, 1, 1, 0, 0]] * 2, first_item=10)
    extra_items, extra_labels = extra_items[:-2], extra_labels[:-2]
    result = agreement.fleiss_kappa(
        np.concatenate([items, extra_items]), np.concatenate([labels, extra_labels]), 5
    )
    assert round(result.kappa, 3) == 0.210
    assert (result.raters, result.items_used, result.items_rated) == (14, 10, 13)


def test_fleiss_kappa_undefined_cases():
    assert agreement.fleiss_kappa(np.array([0, 1]), np.array([0, 1]), 2).kappa is None
    same = agreement.fleiss_kappa(np.array([0, 0, 1, 1]), np.array([1, 1, 1, 1]), 2)
    assert same.kappa is None and "chance agreement is 1" in same.reason


def test_cohen_kappa_reproduces_the_wikipedia_example():
    # Wikipedia, "Cohen's kappa": 50 proposals, both yes 20, A yes B no 5, A no B yes 10,
    # both no 15. p_o = 0.7, p_e = 0.5, kappa = 0.4.
    a = [1] * 20 + [1] * 5 + [0] * 10 + [0] * 15
    b = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15
    items = np.repeat(np.arange(50, dtype=np.int32), 2)
    annotators = np.tile(np.array([0, 1], dtype=np.int32), 50)
    labels = np.ravel(np.column_stack([a, b])).astype(np.int32)
    result = agreement.cohen_kappa_pairwise_mean(items, annotators, labels, 2, min_overlap=1)
    assert result.mean == pytest.approx(0.4, abs=1e-12)
    assert result.mean == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)
    assert result.pairs_used == 1 and result.overlap.tolist() == [50]


@pytest.mark.parametrize("seed", range(3))
def test_cohen_kappa_per_pair_equals_sklearn(seed):
    items, annotators, labels = random_annotations(seed, n_items=80, n_annotators=5)
    result = agreement.cohen_kappa_pairwise_mean(items, annotators, labels, 4, min_overlap=5)
    table = to_reliability(items, annotators, labels, 80, 5)
    expected = {}
    for a in range(5):
        for b in range(a + 1, 5):
            shared = ~np.isnan(table[a]) & ~np.isnan(table[b])
            if shared.sum() >= 5:
                expected[(a, b)] = cohen_kappa_score(table[a, shared], table[b, shared])
    pairs = zip(result.annotator_a.tolist(), result.annotator_b.tolist(), strict=True)
    got = dict(zip(pairs, result.kappa, strict=True))
    assert got.keys() == expected.keys()
    for pair, kappa in expected.items():
        assert got[pair] == pytest.approx(kappa, abs=1e-12)
    assert result.mean == pytest.approx(np.mean(list(expected.values())), abs=1e-12)


def test_cohen_kappa_paths_agree(monkeypatch):
    """The dense and the sparse (many annotators) accumulations, and the two ways of forming
    pairs (small and large units), give the same answer."""
    crowd = simulate_crowd(1500, 4, 12, per_item=(2, 6), spammers=2, seed=9)
    args = (crowd.items, crowd.annotators, crowd.labels, 4)
    reference = agreement.cohen_kappa_pairwise_mean(*args, min_overlap=20)
    monkeypatch.setattr(pairwise, "DENSE_PAIR_CELLS", 0)
    monkeypatch.setattr(pairwise, "SMALL_UNIT", 1)
    monkeypatch.setattr(pairwise, "PAIR_CHUNK", 500)
    other = agreement.cohen_kappa_pairwise_mean(*args, min_overlap=20)
    assert other.mean == pytest.approx(reference.mean, abs=1e-12)
    np.testing.assert_array_equal(other.annotator_a, reference.annotator_a)
    np.testing.assert_array_equal(other.overlap, reference.overlap)
    np.testing.assert_allclose(other.kappa, reference.kappa, atol=1e-12)
    assert other.pairs_below_overlap == reference.pairs_below_overlap


def test_cohen_kappa_leaves_out_small_overlaps_and_undefined_pairs():
    # Pair (0, 1) shares 3 items, both always say 1: p_e = 1, kappa undefined.
    # Pair (0, 2) shares 1 item: below min_overlap.
    items = np.array([0, 0, 1, 1, 2, 2, 3, 3], dtype=np.int32)
    annotators = np.array([0, 1, 0, 1, 0, 1, 0, 2], dtype=np.int32)
    labels = np.array([1, 1, 1, 1, 1, 1, 0, 1], dtype=np.int32)
    result = agreement.cohen_kappa_pairwise_mean(items, annotators, labels, 2, min_overlap=2)
    assert result.mean is None and "undefined for every pair" in result.reason
    assert (result.pairs_used, result.pairs_undefined, result.pairs_below_overlap) == (0, 1, 1)
    none = agreement.cohen_kappa_pairwise_mean(items, annotators, labels, 2, min_overlap=4)
    assert none.mean is None and "no annotator pair shares 4" in none.reason


def test_cohen_kappa_refuses_an_annotator_twice_on_one_item():
    with pytest.raises(ValueError, match="more than once"):
        agreement.cohen_kappa_pairwise_mean(
            np.array([0, 0]), np.array([3, 3]), np.array([0, 1]), 2, min_overlap=1
        )


def brute_force_pairs(items, labels, label):
    """(both chose it, exactly one chose it) over unordered pairs of annotations per item."""
    both = one = 0
    for item in np.unique(items):
        values = labels[items == item]
        for i in range(len(values)):
            for j in range(i + 1, len(values)):
                hits = int(values[i] == label) + int(values[j] == label)
                both += hits == 2
                one += hits == 1
    return both, one


def test_per_label_agreement_is_binary_alpha_and_pair_shares():
    items, annotators, labels = random_annotations(11, n_items=60)
    result = agreement.per_label_agreement(items, labels, 4)
    data = to_reliability(items, annotators, labels, 60, 6)
    for c in range(4):
        binary = (labels == c).astype(np.int32)
        assert result.alpha[c] == pytest.approx(
            agreement.krippendorff_alpha_nominal(items, binary, 2), abs=1e-12
        )
        theirs = krippendorff.alpha(
            reliability_data=np.where(np.isnan(data), np.nan, data == c),
            level_of_measurement="nominal",
        )
        assert result.alpha[c] == pytest.approx(float(theirs), abs=1e-9)
        both, one = brute_force_pairs(items, labels, c)
        assert result.pair_agreement[c] == pytest.approx(both / (both + one))
        assert result.specific_agreement[c] == pytest.approx(2 * both / (2 * both + one))
        assert result.pairs[c] == both + one
        assert result.annotations[c] == np.sum(labels == c)
        assert result.items[c] == np.unique(items[labels == c]).shape[0]


def test_per_label_alpha_is_nan_with_a_reason_for_a_label_nobody_used():
    items = np.array([0, 0, 1, 1], dtype=np.int32)
    result = agreement.per_label_agreement(items, np.array([0, 1, 1, 1], dtype=np.int32), 3)
    assert np.isnan(result.alpha[2]) and "expected disagreement is 0" in result.alpha_reason[2]
    assert np.isnan(result.pair_agreement[2]) and result.annotations[2] == 0


def test_multilabel_alpha_is_the_mean_of_per_label_binary_alphas():
    rng = np.random.default_rng(5)
    items, annotators, _ = random_annotations(5, n_items=70)
    n = items.shape[0]
    truth = rng.random((70, 4)) < [0.5, 0.3, 0.1, 0.0]  # label 3: never chosen
    noise = rng.random((n, 4)) < 0.15
    matrix = truth[items] ^ noise
    matrix[:, 3] = False
    result = agreement.multilabel_alpha(items, matrix)
    expected = []
    for c in range(3):
        data = to_reliability(items, annotators, matrix[:, c].astype(int), 70, 6)
        theirs = float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))
        assert result.per_label[c] == pytest.approx(theirs, abs=1e-9)
        expected.append(theirs)
    assert np.isnan(result.per_label[3]) and result.per_label_reason[3]
    assert result.labels_defined == 3
    assert result.mean == pytest.approx(np.mean(expected), abs=1e-9)
    nobody = agreement.multilabel_alpha(items, np.zeros((n, 2), dtype=bool))
    assert nobody.mean is None and nobody.reason
    order = rng.permutation(n)
    shuffled = agreement.multilabel_alpha(items[order], matrix[order], chunk=3)
    np.testing.assert_allclose(shuffled.per_label, result.per_label, rtol=1e-12)


def test_confusion_matrix_counts_consensus_rows_against_annotator_columns():
    items = np.array([0, 0, 0, 1, 1, 2, 2], dtype=np.int32)
    labels = np.array([1, 1, 0, 2, 2, 0, 1], dtype=np.int32)
    consensus = np.array([1, 2, -1])
    matrix = agreement.confusion_matrix(items, labels, consensus, 3)
    assert matrix.tolist() == [[0, 0, 0], [1, 2, 0], [0, 0, 2]]
    only_first = agreement.confusion_matrix(items, labels, consensus, 3, mask=items == 0)
    assert only_first.tolist() == [[0, 0, 0], [1, 2, 0], [0, 0, 0]]


@pytest.mark.parametrize("top", [300, 70_000, 3_000_000_000, 2**40])
def test_the_item_sort_is_a_stable_argsort(top):
    """Grouping by item uses a 16-bit-digit radix sort; it must equal numpy's stable argsort."""
    keys = np.random.default_rng(top % 1000).integers(0, top, size=20_000)
    keys[::7] = keys[0]  # many ties, whose input order must be kept
    np.testing.assert_array_equal(stable_order(keys), np.argsort(keys, kind="stable"))
