"""The labeling API: imports through HTTP, datasets, items with cursor pagination."""

import orjson
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from labeling.models import ImportJob, Item
from tenancy.models import Role

from ..conftest import IMPORT_DATABASES
from ..factories import ItemFactory

pytestmark = pytest.mark.django_db(databases=IMPORT_DATABASES)


def upload(name: str, rows: list[dict]) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"".join(orjson.dumps(r) + b"\n" for r in rows))


def test_import_through_the_api(world, api, django_capture_on_commit_callbacks):
    client = api.as_user(world.users[Role.CLIENT_ADMIN])
    rows = [{"id": f"r{n}", "data": {"text": f"row {n}"}} for n in range(12)]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/v1/projects/{world.a.project.pk}/imports/",
            {"file": upload("week1.jsonl", rows), "dataset": "week 1"},
            format="multipart",
        )
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    body = client.get(f"/api/v1/imports/{job_id}/").json()
    assert body["status"] == "succeeded"
    assert (body["rows"], body["imported"], body["failed_rows"], body["errors"]) == (12, 12, 0, [])
    assert body["progress"] == 1.0
    assert body["dataset_name"] == "week 1"
    datasets = client.get(f"/api/v1/projects/{world.a.project.pk}/datasets/").json()
    assert {"name": "week 1", "items": 12} in [
        {"name": d["name"], "items": d["items"]} for d in datasets
    ]
    listed = client.get(f"/api/v1/projects/{world.a.project.pk}/imports/").json()
    assert listed[0]["id"] == job_id


def test_bad_rows_come_back_with_their_lines(world, api, django_capture_on_commit_callbacks):
    client = api.as_user(world.users[Role.OPERATOR])
    rows = [{"data": {}}, {"data": {}, "gold": "meh"}, {"id": "x"}]
    with django_capture_on_commit_callbacks(execute=True):
        job_id = client.post(
            f"/api/v1/projects/{world.a.project.pk}/imports/",
            {"file": upload("bad.jsonl", rows)},
            format="multipart",
        ).json()["id"]
    body = client.get(f"/api/v1/imports/{job_id}/").json()
    assert body["status"] == "failed"
    assert body["failed_rows"] == 2 and body["imported"] == 0
    assert [e["line"] for e in body["errors"]] == [2, 3]
    assert "'gold' is 'meh'" in body["errors"][0]["message"]


def test_upload_validation_names_the_field(world, api):
    client = api.as_user(world.users[Role.CLIENT_ADMIN])
    url = f"/api/v1/projects/{world.a.project.pk}/imports/"
    missing = client.post(url, {}, format="multipart")
    assert missing.status_code == 400 and "file" in missing.json()
    wrong = client.post(url, {"file": SimpleUploadedFile("x.xlsx", b"abc")}, format="multipart")
    assert wrong.status_code == 400
    assert ".jsonl, .json or .csv" in wrong.json()["file"][0]
    bad_mode = client.post(
        url, {"file": upload("a.jsonl", [{"data": {}}]), "on_error": "ignore"}, format="multipart"
    )
    assert bad_mode.status_code == 400 and "on_error" in bad_mode.json()


def test_import_into_another_orgs_project_is_not_found(world, api):
    client = api.as_user(world.users[Role.CLIENT_ADMIN])
    before = ImportJob.objects.count()
    response = client.post(
        f"/api/v1/projects/{world.b.project.pk}/imports/",
        {"file": upload("sneaky.jsonl", [{"data": {}}])},
        format="multipart",
    )
    assert response.status_code == 404
    assert ImportJob.objects.count() == before
    assert client.get(f"/api/v1/imports/{world.b.job.pk}/").status_code == 404


def test_items_pages_with_a_cursor(world, api, django_assert_max_num_queries):
    project = world.a.project
    dataset = world.a.item.dataset
    ItemFactory.create_batch(7, dataset=dataset)
    ItemFactory.create_batch(2, dataset=dataset, status="complete", label="positive")
    client = api.as_user(world.users[Role.CLIENT_VIEWER])
    url = f"/api/v1/projects/{project.pk}/items/?limit=4"
    seen = []
    while url:
        with django_assert_max_num_queries(3):  # auth (with the role), project, one page
            page = client.get(url).json()
        assert len(page["results"]) <= 4
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
    expected = list(
        Item.objects.filter(project=project).order_by("id").values_list("id", flat=True)
    )
    assert seen == expected and len(seen) == 12

    complete = client.get(f"/api/v1/projects/{project.pk}/items/?status=complete").json()
    assert [row["label"] for row in complete["results"]] == ["positive", "positive"]
    assert complete["next"] is None
    row = complete["results"][0]
    assert set(row) >= {"id", "external_id", "data", "status", "label", "confidence", "prelabel"}
    for bad in ["status=done", "cursor=garbage", "limit=0", "dataset=x"]:
        response = client.get(f"/api/v1/projects/{project.pk}/items/?{bad}")
        assert response.status_code == 400, bad
        assert bad.split("=")[0] in response.json()


def test_item_detail_shows_its_annotations(world, api, django_capture_on_commit_callbacks):
    client = api.as_user(world.users[Role.QA_LEAD])
    admin = api.as_user(world.users[Role.CLIENT_ADMIN])
    rows = [
        {
            "id": "with-labels",
            "data": {"text": "t"},
            "prelabel": {"label": "negative", "confidence": 0.6},
            "annotations": [{"annotator": "old/alice", "label": "positive"}],
        }
    ]
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(
            f"/api/v1/projects/{world.a.project.pk}/imports/",
            {"file": upload("legacy.jsonl", rows)},
            format="multipart",
        )
    item = Item.objects.get(external_id="with-labels")
    client = api.as_user(world.users[Role.QA_LEAD])
    body = client.get(f"/api/v1/items/{item.pk}/").json()
    assert body["prelabel"] == {"label": "negative", "confidence": 0.6}
    assert [(a["annotator"], a["label"], a["source"]) for a in body["annotations"]] == [
        ("old/alice", "positive", "human")
    ]
