"""The exports page in a real browser: a client admin starts an export, follows it to the end,
downloads the file and its certificate; a viewer downloads but cannot start one."""

import hashlib
import json

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.conftest import IMPORT_DATABASES
from tests.factories import ItemFactory

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True, databases=IMPORT_DATABASES),
]


def test_client_admin_exports_and_downloads(e2e_world, page, log_in):
    project = e2e_world.a.project
    for n in range(3):
        ItemFactory(
            dataset=e2e_world.a.item.dataset,
            external_id=f"done-{n}",
            status="complete",
            label="positive",
            confidence=0.9,
            completed_at=timezone.now(),
        )
    log_in("alpha.admin")
    page.goto(f"/projects/{project.pk}/")
    page.get_by_test_id("exports-link").click()
    expect(page.get_by_test_id("page-title")).to_have_text("Exports")
    page.get_by_test_id("format").select_option("jsonl")
    page.get_by_test_id("start-export").click()
    page.wait_for_load_state()
    row = page.locator("[data-testid=export-table] tbody tr").first
    expect(row.get_by_test_id("export-status")).to_have_text("Succeeded")
    expect(row.get_by_test_id("export-rows")).to_have_text("3")
    with page.expect_download() as download_info:
        row.get_by_test_id("download").click()
    body = open(download_info.value.path(), "rb").read()
    lines = [json.loads(line) for line in body.splitlines()]
    assert sorted(line["id"] for line in lines) == ["done-0", "done-1", "done-2"]
    with page.expect_download() as certificate_info:
        row.get_by_test_id("certificate").click()
    certificate = json.loads(open(certificate_info.value.path(), "rb").read())
    assert certificate["sha256"] == hashlib.sha256(body).hexdigest()
    assert certificate["rows"] == 3
    # A viewer downloads, but the form to start one is not there.
    page.context.clear_cookies()
    log_in("alpha.viewer")
    page.goto(f"/projects/{project.pk}/exports/")
    expect(page.get_by_test_id("export-form")).to_have_count(0)
    expect(page.locator("[data-testid=download]").first).to_be_visible()
