"""The usage dashboard and the statement in a real browser, as a client admin sees them."""

import datetime
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from billing import selectors
from billing.services import rate_card_create, usage_add

pytestmark = pytest.mark.e2e


def test_client_admin_sees_the_chart_and_the_statement(e2e_world, page, log_in, shots_dir):
    world = e2e_world
    org, project = world.a.organization, world.a.project
    today = timezone.localdate()
    rate_card_create(
        organization=org,
        currency="USD",
        effective_from=(today - datetime.timedelta(days=60)).replace(day=1),
        per_completed_item=Decimal("0.5000"),
        per_annotation=Decimal("0.1000"),
    )
    keys = {"organization_id": org.pk, "project_id": project.pk}
    usage_add(**keys, day=today - datetime.timedelta(days=2), items_completed=5, annotations=15)
    usage_add(**keys, day=today, items_completed=12, annotations=36, items_imported=40)
    usage_add(
        organization_id=world.b.organization.pk,
        project_id=world.b.project.pk,
        day=today,
        items_completed=777,
    )  # another client: never on Alpha's pages
    statement = selectors.statement_for(organization=org, month=today.strftime("%Y-%m"))
    assert statement.total > 0

    log_in(world.users["client_admin"].username)
    page.get_by_test_id("usage-link").click()

    expect(page).to_have_url(re.compile(rf"/organizations/{org.pk}/usage/$"))
    chart = page.get_by_test_id("completed-chart")
    expect(chart).to_be_visible()
    expect(chart.get_by_test_id("chart-bar")).to_have_count(30)
    today_bar = chart.locator(f'[data-day="{today.isoformat()}"]')
    expect(today_bar).to_have_attribute("data-value", "12")
    assert float(today_bar.get_attribute("height")) > 0
    expect(page.get_by_test_id("total-completed")).to_have_text("17")
    card = page.get_by_test_id("statement-card")
    expect(card.get_by_test_id("statement-total")).to_have_text(str(statement.total))
    expect(page.locator("body")).not_to_contain_text("777")
    page.screenshot(path=shots_dir / "billing-dashboard.png", full_page=True)

    card.get_by_test_id("statement-link").click()

    expect(page).to_have_url(re.compile(rf"/organizations/{org.pk}/statements/{statement.month}/$"))
    expect(page.get_by_test_id("statement-line")).to_have_count(len(statement.lines))
    expect(page.get_by_test_id("statement-line").first).to_contain_text("Completed items")
    expect(page.get_by_test_id("statement-total")).to_have_text(str(statement.total))
    page.screenshot(path=shots_dir / "billing-statement.png", full_page=True)
    with page.expect_download() as download:
        page.get_by_test_id("csv-link").click()
    assert download.value.suggested_filename == f"statement-alpha-retail-{statement.month}.csv"
    body = open(download.value.path(), encoding="utf-8").read()
    assert body.splitlines()[-1].endswith(f"Total,,,{statement.total}")

    response = page.goto(f"/organizations/{world.b.organization.pk}/usage/")
    assert response.status == 404
    expect(page.locator("body")).not_to_contain_text("Bravo")
