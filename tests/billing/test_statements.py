"""Statements of a known month, worked out by hand; rate cards and their rules."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from billing import selectors
from billing.models import RateCard
from billing.services import rate_card_create, usage_add
from tenancy.models import Role

D = datetime.date


def record(side, day, **counters):
    usage_add(organization_id=side.organization.pk, project_id=side.project.pk, day=day, **counters)


@pytest.fixture
def march(world):
    """March 2026 of Alpha Retail: prices change on the 16th; usage on both sides of it, just
    outside the month, and at another client."""
    operator = world.users[Role.OPERATOR]
    first = rate_card_create(
        organization=world.a.organization,
        currency="USD",
        effective_from=D(2026, 3, 1),
        per_completed_item=Decimal("0.1250"),
        per_annotation=Decimal("0.0333"),
        per_review=Decimal("0.5000"),
        per_exported_item=Decimal("0.0100"),
        created_by=operator,
    )
    # A price change: the open-ended first card now ends on the 15th.
    second = rate_card_create(
        organization=world.a.organization,
        currency="USD",
        effective_from=D(2026, 3, 16),
        per_completed_item=Decimal("0.1000"),
        per_annotation=Decimal("0.0350"),
        per_review=Decimal("0.4500"),
        per_exported_item=Decimal("0.0125"),
        created_by=operator,
    )
    record(world.a, D(2026, 2, 28), items_completed=1000)  # February: not billed in March
    record(world.a, D(2026, 3, 1), items_completed=100, annotations=300, reviews=7)
    record(world.a, D(2026, 3, 15), items_completed=53, annotations=161, exported_items=1000)
    record(world.a, D(2026, 3, 16), items_completed=40, annotations=120, reviews=3)
    record(world.a, D(2026, 3, 31), items_completed=11, annotations=35, exported_items=333)
    record(world.a, D(2026, 4, 1), items_completed=999)  # April
    record(world.b, D(2026, 3, 10), items_completed=500, annotations=1500)  # another client
    first.refresh_from_db()
    return first, second


# Worked out by hand. 1-15 March: 153 completed, 461 annotations, 7 reviews, 1000 exported;
# 16-31 March: 51, 155, 3, 333. Each line rounds half-up to the cent.
MARCH_LINES = [
    ("Completed items, 2026-03-01 to 2026-03-15", 153, "0.1250", "19.13"),  # 19.125
    ("Human annotations, 2026-03-01 to 2026-03-15", 461, "0.0333", "15.35"),  # 15.3513
    ("Reviews, 2026-03-01 to 2026-03-15", 7, "0.5000", "3.50"),
    ("Exported items, 2026-03-01 to 2026-03-15", 1000, "0.0100", "10.00"),
    ("Completed items, 2026-03-16 to 2026-03-31", 51, "0.1000", "5.10"),
    ("Human annotations, 2026-03-16 to 2026-03-31", 155, "0.0350", "5.43"),  # 5.425
    ("Reviews, 2026-03-16 to 2026-03-31", 3, "0.4500", "1.35"),
    ("Exported items, 2026-03-16 to 2026-03-31", 333, "0.0125", "4.16"),  # 4.1625
]
# The sum of the rounded lines; the unrounded amounts would add up to 64.0138.
MARCH_TOTAL = "64.02"


def test_exact_totals_of_a_known_month_with_a_mid_month_price_change(world, march):
    first, second = march
    assert (first.effective_to, second.effective_to) == (D(2026, 3, 15), None)
    statement = selectors.statement_for(organization=world.a.organization, month="2026-03")
    got = [(x.description, x.quantity, str(x.unit_price), str(x.amount)) for x in statement.lines]
    assert got == MARCH_LINES
    assert [x.rate_card for x in statement.lines] == [first.pk] * 4 + [second.pk] * 4
    assert statement.total == Decimal(MARCH_TOTAL) and str(statement.total) == MARCH_TOTAL
    assert (statement.currency, statement.closed, statement.warnings) == ("USD", True, [])


def test_the_same_inputs_give_the_same_statement(world, march):
    once = selectors.statement_for(organization=world.a.organization, month="2026-03")
    again = selectors.statement_for(organization=world.a.organization, month="2026-03")
    assert once == again


def test_statement_api_and_csv(world, march, api, client):
    admin = world.users[Role.CLIENT_ADMIN]
    url = f"/api/v1/organizations/{world.a.organization.pk}/statements/2026-03/"
    body = api.as_user(admin).get(url).json()
    assert body["month"] == "2026-03" and body["currency"] == "USD"
    assert [
        (x["description"], x["quantity"], x["unit_price"], x["amount"]) for x in body["lines"]
    ] == [(d, q, p, a) for d, q, p, a in MARCH_LINES]
    assert body["total"] == MARCH_TOTAL
    assert (body["lines"][4]["period_from"], body["lines"][4]["period_to"]) == (
        "2026-03-16",
        "2026-03-31",
    )

    client.force_login(admin)
    response = client.get(f"/organizations/{world.a.organization.pk}/statements/2026-03/csv/")
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="statement-alpha-retail-2026-03.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == [
        "organization",
        "month",
        "currency",
        "period_from",
        "period_to",
        "description",
        "quantity",
        "unit_price",
        "amount",
    ]
    assert rows[1] == [
        "Alpha Retail",
        "2026-03",
        "USD",
        "2026-03-01",
        "2026-03-15",
        "Completed items, 2026-03-01 to 2026-03-15",
        "153",
        "0.1250",
        "19.13",
    ]
    assert rows[-1][-4:] == ["Total", "", "", MARCH_TOTAL]
    assert len(rows) == 1 + len(MARCH_LINES) + 1

    page = client.get(f"/organizations/{world.a.organization.pk}/statements/2026-03/")
    text = page.content.decode()
    assert MARCH_TOTAL in text and "Human annotations, 2026-03-16 to 2026-03-31" in text


def test_a_month_without_a_rate_card_is_listed_unpriced(world):
    record(world.a, D(2026, 5, 3), annotations=10)
    statement = selectors.statement_for(organization=world.a.organization, month="2026-05")
    assert [(x.description, str(x.amount)) for x in statement.lines] == [
        ("Human annotations, 2026-05-01 to 2026-05-31 (no rate card)", "0.00")
    ]
    assert statement.total == 0 and statement.currency == selectors.DEFAULT_CURRENCY
    assert len(statement.warnings) == 1


def test_a_month_with_no_usage_is_empty(world, march):
    statement = selectors.statement_for(organization=world.a.organization, month="2025-12")
    assert (statement.lines, str(statement.total)) == ([], "0.00")


@pytest.mark.parametrize("month", ["2026-13", "2026-3", "26-03", "march", "2026-00"])
def test_a_month_must_be_yyyy_mm(world, month):
    with pytest.raises(ValidationError) as error:
        selectors.statement_for(organization=world.a.organization, month=month)
    assert error.value.message_dict == {"month": ["Give a month as YYYY-MM."]}


# --- rate cards -----------------------------------------------------------------------------


def card(world, start, end=None, currency="USD", organization=None, **prices):
    return rate_card_create(
        organization=organization or world.a.organization,
        currency=currency,
        effective_from=start,
        effective_to=end,
        **prices,
    )


def errors_of(call) -> dict:
    with pytest.raises(ValidationError) as error:
        call()
    return error.value.message_dict


def test_rate_cards_never_overlap(world):
    card(world, D(2026, 1, 1), D(2026, 1, 31))
    card(world, D(2026, 3, 1))
    assert "effective_from" in errors_of(lambda: card(world, D(2026, 1, 20), D(2026, 2, 10)))
    # Before an open-ended card's start is no price change: refused, not closed.
    assert "effective_from" in errors_of(lambda: card(world, D(2026, 2, 1)))
    card(world, D(2026, 2, 1), D(2026, 2, 28))  # the gap fits
    # Another client's cards are its own.
    card(world, D(2026, 1, 1), organization=world.b.organization)
    periods = list(
        RateCard.objects.filter(organization=world.a.organization).values_list(
            "effective_from", "effective_to"
        )
    )
    assert periods == [
        (D(2026, 1, 1), D(2026, 1, 31)),
        (D(2026, 2, 1), D(2026, 2, 28)),
        (D(2026, 3, 1), None),
    ]


def test_rate_card_rules(world):
    assert errors_of(lambda: card(world, D(2026, 2, 1), D(2026, 1, 1))) == {
        "effective_to": ["The last day comes before the first."]
    }
    vendor_card = lambda: card(world, D(2026, 1, 1), organization=world.vendor)  # noqa: E731
    assert "organization" in errors_of(vendor_card)
    card(world, D(2026, 1, 1), D(2026, 1, 15))
    # A statement has one currency: a card sharing January with a USD card cannot be EUR...
    assert "currency" in errors_of(lambda: card(world, D(2026, 1, 16), currency="EUR"))
    # ... but February may start in EUR.
    card(world, D(2026, 2, 1), currency="EUR")
    assert "per_annotation" in errors_of(
        lambda: card(world, D(2027, 1, 1), per_annotation=Decimal("-0.01"))
    )


def test_rate_card_api(world, api):
    operator, admin = world.users[Role.OPERATOR], world.users[Role.CLIENT_ADMIN]
    url = f"/api/v1/organizations/{world.a.organization.pk}/rate-cards/"
    body = {
        "currency": "EUR",
        "effective_from": "2026-01-01",
        "per_completed_item": "0.2000",
        "per_annotation": "0.05",
    }
    created = api.as_user(operator).post(url, body, format="json")
    assert created.status_code == 201
    assert created.json()["per_completed_item"] == "0.2000"
    assert created.json()["per_review"] == "0.0000"
    change = api.as_user(operator).post(
        url, {**body, "effective_from": "2026-06-01"}, format="json"
    )
    assert change.status_code == 201
    overlap = api.as_user(operator).post(
        url, {**body, "effective_from": "2026-03-01", "effective_to": "2026-03-31"}, format="json"
    )
    assert overlap.status_code == 400 and "effective_from" in overlap.json()
    bad = api.as_user(operator).post(
        url, {"currency": "euro", "effective_from": "1 May", "per_review": "-1"}, format="json"
    )
    assert bad.status_code == 400
    assert set(bad.json()) == {"currency", "effective_from", "per_review"}
    listed = api.as_user(admin).get(url).json()
    assert [(c["effective_from"], c["effective_to"]) for c in listed] == [
        ("2026-06-01", None),
        ("2026-01-01", "2026-05-31"),
    ]
    assert api.as_user(admin).post(url, body, format="json").status_code == 403
