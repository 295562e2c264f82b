"""Pricing a month: pure arithmetic over the month's periods (a rate card's days, or days no
card covers) and the usage counted in each. No database here.

Every amount is Decimal: quantity x unit price, rounded to cents half-up on each line; the
total is the sum of the lines. The same inputs always give the same statement.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from .models import PRICED_COUNTERS

CENT = Decimal("0.01")
UNIT = Decimal("0.0001")  # unit prices carry four decimals (a tenth of a cent per annotation)


@dataclass(frozen=True)
class Period:
    start: datetime.date
    end: datetime.date
    card: object | None  # a RateCard (its unit prices and id), None: no card covers these days
    quantities: dict  # counter -> quantity counted on these days


@dataclass(frozen=True)
class Line:
    description: str
    counter: str
    period_from: datetime.date
    period_to: datetime.date
    rate_card: int | None
    quantity: int
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Statement:
    organization_id: int
    month: str  # YYYY-MM
    currency: str
    closed: bool  # the month is over (a late correction may still change it)
    lines: list[Line]
    total: Decimal
    warnings: list[str] = field(default_factory=list)


def price(*, periods: list[Period]) -> tuple[list[Line], Decimal, list[str]]:
    """The lines (period by period, counter by counter; nothing for a zero quantity), their
    total, and a warning for each period with usage but no rate card."""
    lines: list[Line] = []
    warnings: list[str] = []
    for period in periods:
        span = f"{period.start.isoformat()} to {period.end.isoformat()}"
        unpriced = False
        for price_field, counter, wording in PRICED_COUNTERS:
            quantity = int(period.quantities.get(counter) or 0)
            if quantity == 0:
                continue
            if period.card is None:
                unit_price, note, unpriced = Decimal(0), " (no rate card)", True
            else:
                unit_price, note = Decimal(getattr(period.card, price_field)), ""
            lines.append(
                Line(
                    description=f"{wording}, {span}{note}",
                    counter=counter,
                    period_from=period.start,
                    period_to=period.end,
                    rate_card=period.card.pk if period.card else None,
                    quantity=quantity,
                    unit_price=unit_price.quantize(UNIT, rounding=ROUND_HALF_UP),
                    amount=(quantity * unit_price).quantize(CENT, rounding=ROUND_HALF_UP),
                )
            )
        if unpriced:
            warnings.append(f"No rate card covers {span}: the usage of those days is not priced.")
    total = sum((line.amount for line in lines), Decimal("0.00"))
    return lines, total.quantize(CENT), warnings


def split_month(
    *, first: datetime.date, last: datetime.date, cards: list
) -> list[tuple[datetime.date, datetime.date, object | None]]:
    """The month's days cut by rate card: (start, end, card or None), in order, covering
    first..last exactly. `cards` do not overlap (the service guarantees it)."""
    periods = []
    day = first
    for card in sorted(cards, key=lambda c: c.effective_from):
        start = max(card.effective_from, first)
        end = min(card.effective_to or last, last)
        if end < start:
            continue
        if day < start:
            periods.append((day, start - datetime.timedelta(days=1), None))
        periods.append((start, end, card))
        day = end + datetime.timedelta(days=1)
    if day <= last:
        periods.append((day, last, None))
    return periods
