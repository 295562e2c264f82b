"""ISO 2859-1 single sampling, normal inspection (qa.stats.aql), and the audit sample."""

from decimal import Decimal

import numpy as np
import pytest

from qa.stats import aql


@pytest.mark.parametrize(
    ("lot_size", "aql_value", "letter", "n", "ac", "re"),
    [
        (1_000, 1.0, "J", 80, 2, 3),
        (500, 2.5, "H", 50, 3, 4),
        (10_000, 0.65, "L", 200, 3, 4),
        (3_500, 2.5, "L", 200, 10, 11),
        (1_000, 4.0, "J", 80, 7, 8),
        (200, 1.5, "G", 32, 1, 2),
        (100_000, 0.25, "N", 500, 3, 4),
        (600_000, 0.10, "Q", 1250, 3, 4),
        (20_000, 4.0, "M", 315, 21, 22),
    ],
)
def test_well_known_plans(lot_size, aql_value, letter, n, ac, re):
    plan = aql.aql_plan(lot_size, aql_value)
    assert (plan.code_letter, plan.sample_size, plan.accept, plan.reject) == (letter, n, ac, re)
    assert plan.plan_letter == letter and not plan.full_inspection


def test_a_down_arrow_moves_to_the_first_plan_below_and_its_sample_size():
    # Lot 50 -> D (n = 8); at AQL 1.0 the D cell is an arrow down to E: n = 13, Ac 0, Re 1.
    plan = aql.aql_plan(50, 1.0)
    assert (plan.code_letter, plan.plan_letter) == ("D", "E")
    assert (plan.sample_size, plan.accept, plan.reject) == (13, 0, 1)


def test_an_up_arrow_moves_to_the_first_plan_above():
    # Lot 1,000 -> J (n = 80); at AQL 0.25 the J cell points up to H's 0/1 plan (n = 50).
    plan = aql.aql_plan(1_000, 0.25)
    assert (plan.plan_letter, plan.sample_size, plan.accept, plan.reject) == ("H", 50, 0, 1)
    # Past the 21/22 plan the arrows point up as well: lot 20,000 -> M at AQL 10 -> K.
    plan = aql.aql_plan(20_000, 10)
    assert (plan.plan_letter, plan.sample_size, plan.accept, plan.reject) == ("K", 125, 21, 22)


def test_a_sample_at_least_the_lot_means_100_percent_inspection():
    # Lot 5 -> A; at AQL 0.065 the arrows lead down to L (n = 200 >= 5).
    plan = aql.aql_plan(5, 0.065)
    assert plan.full_inspection and plan.sample_size == 5
    assert (plan.code_letter, plan.plan_letter, plan.accept, plan.reject) == ("A", "L", 0, 1)
    # Exactly the lot size counts too: lot 13 -> B, AQL 1.0 -> E with n = 13.
    plan = aql.aql_plan(13, 1.0)
    assert plan.full_inspection and plan.sample_size == 13
    assert not aql.aql_plan(14, 1.0).full_inspection


@pytest.mark.parametrize(
    ("lot_size", "level", "letter"),
    [
        (1, "II", "A"),
        (8, "II", "A"),
        (9, "II", "B"),
        (500, "II", "H"),
        (501, "II", "J"),
        (3_200, "II", "K"),
        (3_201, "II", "L"),
        (500_000, "II", "P"),
        (500_001, "II", "Q"),
        (10_000_000, "III", "R"),
        (1_000, "I", "G"),
        (1_000, "S-3", "E"),
    ],
)
def test_table_1_code_letters(lot_size, level, letter):
    assert aql.code_letter(lot_size, level) == letter


def test_table_2a_is_consistent_in_every_cell():
    """Reading every cell (arrows followed): along a row Ac grows with the AQL, down a column it
    grows with the sample size, and every plan is one of the standard Ac/Re pairs."""
    standard = {(0, 1), (1, 2), (2, 3), (3, 4), (5, 6), (7, 8), (10, 11), (14, 15), (21, 22)}
    resolved = {}
    for row, letter in enumerate(aql.LETTERS):
        for column, value in enumerate(aql.AQLS):
            try:
                plan = aql.table_plan(letter, value)
            except ValueError:
                # Only one cell has no plan: R at 0.015 points down, and R is the last row.
                assert (letter, value) == ("R", 0.015)
                continue
            assert (plan[0], plan[1]) in standard, (letter, value)
            resolved[row, column] = plan
    for (row, column), (accept, _, _) in resolved.items():
        if (row, column + 1) in resolved:
            assert resolved[row, column + 1][0] >= accept
        if (row + 1, column) in resolved:
            assert resolved[row + 1, column][0] >= accept
    # The 0/1 plans sit on the diagonal n x AQL ~ 13 % (n = 2 at 6.5 down to n = 1250 at 0.010).
    for row, letter in enumerate("ABCDEFGHJKLMNPQ"):
        assert aql.TABLE_2A[letter][14 - row] == (0, 1)


def test_aql_values_outside_the_table_and_bad_lots_are_refused():
    with pytest.raises(ValueError, match="AQL"):
        aql.aql_plan(1_000, 2.0)
    with pytest.raises(ValueError, match="lot_size"):
        aql.aql_plan(0, 1.0)
    with pytest.raises(ValueError, match="inspection level"):
        aql.aql_plan(1_000, 1.0, level="IV")
    assert aql.aql_plan(1_000, Decimal("1.0")) == aql.aql_plan(1_000, 1.0)
    assert aql.aql_plan(1_000, "0.65").accept == 1


def test_verdict():
    plan = aql.aql_plan(1_000, 1.0)  # Ac 2, Re 3
    assert [aql.aql_verdict(plan, d) for d in (0, 2, 3, 40)] == [
        "accepted",
        "accepted",
        "rejected",
        "rejected",
    ]
    with pytest.raises(ValueError):
        aql.aql_verdict(plan, -1)


def test_sample_items_is_deterministic_and_order_free():
    ids = np.arange(1000, 3000, 7)
    first = aql.sample_items(ids, 20, seed=42)
    assert first.tolist() == aql.sample_items(ids[::-1].tolist(), 20, seed=42).tolist()
    assert len(set(first.tolist())) == 20 and np.isin(first, ids).all()
    assert (np.diff(first) > 0).all()
    assert first.tolist() != aql.sample_items(ids, 20, seed=43).tolist()
    # A larger sample extends a smaller one; n >= the lot gives the whole lot.
    assert np.isin(first, aql.sample_items(ids, 50, seed=42)).all()
    assert aql.sample_items(ids, 10_000, seed=1).tolist() == ids.tolist()
    assert aql.sample_items(ids, 0, seed=1).size == 0
    with pytest.raises(ValueError, match="distinct"):
        aql.sample_items([1, 1, 2], 1, seed=0)


def test_sample_items_picks_every_item_equally_often():
    ids = np.arange(100)
    hits = np.zeros(100)
    for seed in range(2000):
        hits[aql.sample_items(ids, 10, seed=seed)] += 1
    # Each item expected 200 times (sd 13.4); 4.5 sd either side.
    assert hits.min() > 140 and hits.max() < 260
