"""The pure parts of billing: turnaround buckets and percentiles, month splitting, pricing."""

import datetime
import math
from decimal import Decimal
from types import SimpleNamespace

import pytest

from billing import charts, statements, turnaround

D = datetime.date


@pytest.mark.parametrize(
    ("seconds", "bucket"),
    [(0, 0), (-5, 0), (0.99, 0), (1, 1), (2, 9), (2.1, 9), (3600, 95), (10**9, 201)],
)
def test_bucket_of(seconds, bucket):
    assert turnaround.bucket_of(seconds) == bucket


def test_every_turnaround_lies_below_its_buckets_upper_edge_within_nine_percent():
    for seconds in [1, 1.5, 7, 59.9, 600, 3599, 3600, 86_400, 30 * 86_400, 10**7]:
        edge = turnaround.upper_edge(turnaround.bucket_of(seconds))
        assert seconds < edge <= seconds * 2 ** (1 / 8) + 1e-9, seconds


def test_percentile_is_the_upper_edge_of_the_nearest_rank_bucket():
    # 7 items at 10 min, 3 at 2 h: p50 is the 5th item, p90 the 9th, p70 the 7th.
    counts = turnaround.histogram([600] * 7 + [7200] * 3)
    assert turnaround.percentile(counts, 50) == turnaround.upper_edge(turnaround.bucket_of(600))
    assert turnaround.percentile(counts, 70) == turnaround.upper_edge(turnaround.bucket_of(600))
    assert turnaround.percentile(counts, 90) == turnaround.upper_edge(turnaround.bucket_of(7200))
    # Integer ranks: 0.9 * 70 in floating point is 63.00000000000001, the rank is 63.
    counts = {1: 63, 50: 7}
    assert turnaround.percentile(counts, 90) == turnaround.upper_edge(1)


def test_percentile_of_nothing_is_none_and_negative_buckets_count_as_empty():
    assert turnaround.percentile({}, 50) is None
    assert turnaround.percentile({3: 0, 4: -1}, 90) is None
    assert turnaround.percentile({3: 2, 4: -1}, 90) == turnaround.upper_edge(3)


def card(pk, start, end, **prices):
    defaults = dict.fromkeys(
        ["per_completed_item", "per_annotation", "per_review", "per_exported_item"], Decimal(0)
    )
    return SimpleNamespace(pk=pk, effective_from=start, effective_to=end, **{**defaults, **prices})


def test_split_month_covers_every_day_once_with_gaps_unpriced():
    first, last = D(2026, 3, 1), D(2026, 3, 31)
    a = card(1, D(2026, 1, 1), D(2026, 3, 9))
    b = card(2, D(2026, 3, 20), None)
    assert statements.split_month(first=first, last=last, cards=[b, a]) == [
        (D(2026, 3, 1), D(2026, 3, 9), a),
        (D(2026, 3, 10), D(2026, 3, 19), None),
        (D(2026, 3, 20), D(2026, 3, 31), b),
    ]
    assert statements.split_month(first=first, last=last, cards=[]) == [(first, last, None)]


def test_price_rounds_each_line_half_up_and_adds_the_rounded_lines():
    prices = {"per_completed_item": Decimal("0.1250"), "per_annotation": Decimal("0.0350")}
    period = statements.Period(
        start=D(2026, 3, 1),
        end=D(2026, 3, 31),
        card=card(7, D(2026, 3, 1), None, **prices),
        quantities={"items_completed": 153, "annotations": 155, "reviews": 0},
    )
    lines, total, warnings = statements.price(periods=[period])
    # 153 x 0.125 = 19.125 and 155 x 0.035 = 5.425: half-up gives .13 and .43 (half-even
    # would give .12 and .42); no line for a zero quantity.
    assert [(line.counter, line.quantity, line.amount) for line in lines] == [
        ("items_completed", 153, Decimal("19.13")),
        ("annotations", 155, Decimal("5.43")),
    ]
    assert total == Decimal("24.56") and str(total) == "24.56"
    assert lines[0].description == "Completed items, 2026-03-01 to 2026-03-31"
    assert warnings == []


def test_price_names_usage_no_rate_card_covers():
    period = statements.Period(D(2026, 3, 1), D(2026, 3, 4), None, {"annotations": 10})
    lines, total, warnings = statements.price(periods=[period])
    assert lines[0].description == "Human annotations, 2026-03-01 to 2026-03-04 (no rate card)"
    assert (lines[0].unit_price, lines[0].amount, total) == (0, 0, 0)
    assert warnings == [
        "No rate card covers 2026-03-01 to 2026-03-04: the usage of those days is not priced."
    ]


def test_bar_chart_scales_to_a_round_maximum_and_labels_few_days():
    days = [(D(2026, 3, 1) + datetime.timedelta(days=n), n * 3) for n in range(31)]
    chart = charts.bar_chart(days, flagged={D(2026, 3, 5)})
    assert chart.maximum == 100  # the largest value is 90
    assert len(chart.bars) == 31 and [b.flagged for b in chart.bars].count(True) == 1
    tallest = chart.bars[-1]
    assert math.isclose(tallest.y + tallest.height, chart.baseline)
    assert chart.bars[0].height == 0
    assert len(chart.labels) <= charts.MAX_LABELS
    assert [t.value for t in chart.ticks] == [0, 25, 50, 75, 100]
