"""The model page in a real browser: a client admin trains a version from the project page and
sees it in the versions table, current, with its reliability diagram and confusion matrix."""

import pytest
from playwright.sync_api import expect

from tests.prelabels.test_ml_django import text_project

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_client_admin_trains_a_version_and_sees_its_reliability(e2e_world, page, log_in):
    project = text_project(e2e_world, labeled=80, open_items=10)
    log_in("alpha.admin")
    page.goto(f"/projects/{project.pk}/")
    page.get_by_test_id("models-link").click()
    expect(page.get_by_test_id("page-title")).to_have_text("Models")
    expect(page.get_by_test_id("predict")).to_be_disabled()  # nothing to pre-label with yet
    page.get_by_test_id("train").click()
    page.wait_for_load_state()
    rows = page.locator("[data-testid=model-table] tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_test_id("current")).to_have_text("current")
    expect(rows.first).to_contain_text("text_sklearn")
    diagram = page.get_by_test_id("reliability")
    expect(diagram).to_be_visible()
    assert diagram.locator("rect.bar").count() >= 1
    expect(page.get_by_test_id("model-confusion").locator("tbody tr")).to_have_count(3)
    page.get_by_test_id("predict").click()
    page.wait_for_load_state()
    expect(page.locator(".messages")).to_contain_text("Pre-labeling of the open items started")
