"""The imports page in a real browser: a client admin uploads a file and follows the job to its
end, a bad file shows its errors and leaves nothing, and who may see or use the page.

Celery runs eagerly here (the autouse fixture of tests/conftest.py reaches the live server's
thread), so the import runs inside the upload request and the job has ended when it answers.
"""

import re

import orjson
import pytest
from playwright.sync_api import expect

from labeling.models import Dataset, ImportJob, Item
from tests.conftest import IMPORT_DATABASES

pytestmark = [
    pytest.mark.e2e,
    # Imports report progress on a second connection alias on PostgreSQL (tests/labeling).
    pytest.mark.django_db(
        transaction=True,
        databases=IMPORT_DATABASES,
    ),
]

ROWS = 40


def imports_url(project) -> str:
    return f"/projects/{project.pk}/imports/"


def at(path: str) -> re.Pattern:
    return re.compile(r"^http://[^/]+" + re.escape(path) + "$")


def write_jsonl(path, rows) -> None:
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Uploads are stored (and deleted once imported) under a throwaway MEDIA_ROOT."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def open_imports_page(page, project) -> None:
    """From the project page, through its Imports link."""
    page.goto(f"/projects/{project.pk}/")
    page.get_by_test_id("imports-link").click()
    expect(page).to_have_url(at(imports_url(project)))
    expect(page.get_by_test_id("page-title")).to_have_text("Imports")


def test_client_admin_uploads_a_file_and_sees_it_imported(
    e2e_world, page, log_in, tmp_path, media_root, shots_dir
):
    project = e2e_world.a.project
    path = tmp_path / "reviews-2024.jsonl"
    rows = [
        {"id": f"r{n}", "data": {"text": f"review {n}"}, "gold": ["positive", "negative"][n % 2]}
        for n in range(ROWS)
    ]
    write_jsonl(path, rows)
    datasets_before = Dataset.objects.filter(project=project).count()
    log_in("alpha.admin")
    open_imports_page(page, project)
    expect(page.get_by_test_id("dataset-row")).to_have_count(datasets_before)
    job_box = page.get_by_test_id("job")
    expect(job_box).to_be_hidden()

    page.get_by_test_id("file").set_input_files(path)
    page.get_by_role("button", name="Upload").click()

    expect(job_box).to_be_visible()
    expect(page.get_by_test_id("job-status")).to_have_text("Succeeded")
    expect(page.get_by_test_id("job-message")).to_have_text(f"{ROWS} of {ROWS} rows imported.")
    expect(job_box).to_contain_text(path.name)
    expect(page.locator("#job-errors")).to_be_hidden()
    # The tables below refresh in place; the result stays on screen.
    expect(page.get_by_test_id("dataset-row")).to_have_count(datasets_before + 1)
    expect(page).to_have_url(at(imports_url(project)))
    expect(job_box).to_be_visible()
    dataset_row = page.get_by_test_id("dataset-row").filter(has_text="reviews-2024")
    expect(dataset_row.get_by_role("cell").nth(0)).to_have_text("reviews-2024")
    expect(dataset_row.get_by_role("cell").nth(1)).to_have_text(str(ROWS))
    import_row = page.get_by_test_id("import-row").filter(has_text=path.name)
    expect(import_row).to_have_count(1)
    expect(import_row.get_by_role("cell")).to_have_text(
        [path.name, "reviews-2024", "Succeeded", str(ROWS), str(ROWS), "0", "0", re.compile(".")]
    )
    page.screenshot(path=shots_dir / "imports.png", full_page=True)

    items = Item.objects.filter(project=project, dataset__name="reviews-2024")
    assert items.count() == ROWS
    assert {i.external_id: (i.data, i.gold_label) for i in items} == {
        r["id"]: (r["data"], r["gold"]) for r in rows
    }
    job = ImportJob.objects.get(project=project, original_name=path.name)
    assert (job.status, job.created_by.username, job.file.name) == ("succeeded", "alpha.admin", "")
    # The upload was stored under the temporary MEDIA_ROOT (its folder stays), then deleted.
    assert (media_root / "imports").is_dir()
    assert not any(p.is_file() for p in (media_root / "imports").rglob("*"))


def test_a_bad_row_fails_the_upload_with_its_line_and_keeps_nothing(
    e2e_world, page, log_in, tmp_path, shots_dir
):
    project = e2e_world.a.project
    path = tmp_path / "with-a-typo.jsonl"
    write_jsonl(
        path,
        [
            {"id": "a", "data": {"text": "fine"}, "gold": "positive"},
            {"id": "b", "data": {"text": "typo"}, "gold": "neutral"},
            {"id": "c", "data": {"text": "fine too"}, "gold": "negative"},
        ],
    )
    items_before = Item.objects.filter(project=project).count()
    datasets_before = Dataset.objects.filter(project=project).count()
    log_in("alpha.admin")
    open_imports_page(page, project)

    page.get_by_test_id("file").set_input_files(path)
    page.get_by_role("button", name="Upload").click()

    expect(page.get_by_test_id("job-status")).to_have_text("Failed")
    expect(page.get_by_test_id("job-message")).to_contain_text(
        "1 of 3 rows are bad, so nothing was imported"
    )
    error_rows = page.get_by_test_id("job").locator("tbody tr")
    expect(error_rows).to_have_count(1)
    expect(error_rows.get_by_role("cell")).to_have_text(
        ["2", "'gold' is 'neutral', which is not in the label set (positive, negative)."]
    )
    # The history refreshes in place with the failed import; no dataset appeared.
    failed = page.get_by_test_id("import-row").filter(has_text=path.name)
    expect(failed.get_by_role("cell").nth(2)).to_have_text("Failed")
    page.screenshot(path=shots_dir / "imports-failed.png", full_page=True)
    expect(page.get_by_test_id("dataset-row")).to_have_count(datasets_before)
    expect(page.get_by_test_id("dataset-row").filter(has_text="with-a-typo")).to_have_count(0)
    expect(page.locator("tr.sub")).to_contain_text("line 2: 'gold' is 'neutral'")
    assert Item.objects.filter(project=project).count() == items_before
    assert not Dataset.objects.filter(project=project, name="with-a-typo").exists()


def test_client_viewer_sees_the_history_but_no_upload_form(e2e_world, page, log_in):
    project = e2e_world.a.project
    log_in("alpha.viewer")

    open_imports_page(page, project)

    expect(page.get_by_test_id("import-row")).to_have_count(1)  # the world's finished import
    expect(page.get_by_test_id("import-row")).to_contain_text(e2e_world.a.job.original_name)
    datasets = Dataset.objects.filter(project=project).count()
    expect(page.get_by_test_id("dataset-row")).to_have_count(datasets)
    expect(page.get_by_test_id("file")).to_have_count(0)
    expect(page.get_by_role("button", name="Upload")).to_have_count(0)
    expect(page.get_by_test_id("job")).to_have_count(0)


@pytest.mark.parametrize("role", ["annotator", "qa_lead"])
def test_vendor_roles_are_refused_the_imports_page(role, e2e_world, page, log_in):
    project = e2e_world.a.project
    log_in(e2e_world.users[role].username)
    page.goto(f"/projects/{project.pk}/")
    expect(page.get_by_test_id("project-title")).to_have_text("Alpha sentiment")
    expect(page.get_by_test_id("imports-link")).to_have_count(0)

    response = page.goto(imports_url(project))

    assert response.status == 403
    expect(page.get_by_test_id("file")).to_have_count(0)


def test_another_clients_admin_gets_not_found(e2e_world, page, log_in):
    log_in("bravo.admin")
    expect(page.get_by_test_id("who")).to_have_text("bravo.admin")

    response = page.goto(imports_url(e2e_world.a.project))

    assert response.status == 404
    expect(page.locator("body")).not_to_contain_text("Alpha")
    expect(page.get_by_test_id("file")).to_have_count(0)
