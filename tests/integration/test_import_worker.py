"""Imports through the real Redis and Celery worker that platform/test.sh starts.

The upload request only stores the file (under MEDIA_ROOT, which the worker, running from the
same checkout, reads) and queues the job; the worker runs it and the client follows it through
the API. The worker connects to pytest-django's test database, so these tests are transactional.
"""

import gzip
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import orjson
import pytest
from celery.signals import task_prerun
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from billing.models import DailyUsage
from config import celery_app
from labeling.imports.services import BATCH_ROWS
from labeling.models import Annotation, ImportJob, Item
from tests.conftest import IMPORT_DATABASES, require_service

# Imports report progress on a second connection alias on PostgreSQL (tests/labeling).
pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True, databases=IMPORT_DATABASES),
]

# A few thousand rows take the worker a second or two; this only bounds a hung run.
WORKER_TIMEOUT_SECONDS = 60
POLL_SECONDS = 0.2
CONTROL_TIMEOUT_SECONDS = 5


@pytest.fixture(scope="module", autouse=True)
def workers() -> list[str]:
    """The names of the running workers (remote control addresses them by name)."""
    require_service("LQA_TEST_CELERY", "Celery worker")
    names = [name for reply in celery_app.control.ping(timeout=2) for name in reply]
    assert names, "no Celery worker answered a ping"
    return names


@pytest.fixture
def tasks_run_in_this_process():
    started = []

    def record(task, **_):
        started.append((task.name, threading.current_thread().name))

    task_prerun.connect(record, weak=False)
    yield started
    task_prerun.disconnect(record)


@contextmanager
def worker_paused(workers):
    """The workers stop taking tasks from the queue, and take them again on leaving: a queued
    job stays queued meanwhile, whatever the timing of the worker and the request."""
    queue = celery_app.conf.task_default_queue
    control = {"destination": workers, "reply": True, "limit": len(workers)}
    replies = celery_app.control.cancel_consumer(queue, timeout=CONTROL_TIMEOUT_SECONDS, **control)
    assert len(replies) == len(workers), replies
    try:
        yield
    finally:
        replies = celery_app.control.add_consumer(queue, timeout=CONTROL_TIMEOUT_SECONDS, **control)
        assert len(replies) == len(workers), replies


def job_url(job_id: int) -> str:
    return f"/api/v1/imports/{job_id}/"


def wait_until_finished(client, job_id: int) -> dict:
    deadline = time.monotonic() + WORKER_TIMEOUT_SECONDS
    while True:
        response = client.get(job_url(job_id))
        assert response.status_code == 200, response.content
        job = response.json()
        if job["status"] in ("succeeded", "failed"):
            return job
        assert time.monotonic() < deadline, (
            f"import {job_id} still {job['status']} after {WORKER_TIMEOUT_SECONDS}s: {job}"
        )
        time.sleep(POLL_SECONDS)


def import_through_worker(client, workers, project, name: str, content: bytes) -> dict:
    """Upload as the client does; the job is queued, not run, by the request; the worker runs
    it. Returns the finished job as the API shows it."""
    assert celery_app.conf.task_always_eager is False
    with worker_paused(workers):
        response = client.post(
            f"/api/v1/projects/{project.pk}/imports/",
            {"file": SimpleUploadedFile(name, content)},
            format="multipart",
        )
        assert response.status_code == 202, response.content
        queued = response.json()
        assert (queued["status"], queued["rows"], queued["progress"]) == ("queued", 0, 0.0)
        assert queued["original_name"] == name and queued["size_bytes"] == len(content)
        stored = Path(ImportJob.objects.get(pk=queued["id"]).file.path)
        assert stored.is_file() and stored.is_relative_to(settings.MEDIA_ROOT)
        assert client.get(job_url(queued["id"])).json()["status"] == "queued"
    job = wait_until_finished(client, queued["id"])
    assert job["progress"] == 1.0
    assert not stored.exists(), "the worker deletes the stored upload once it has read it"
    assert ImportJob.objects.get(pk=job["id"]).file.name == ""
    return job


def jsonl_rows(count: int) -> list[dict]:
    rows = []
    for n in range(count):
        row = {
            "id": f"r-{n}",
            "data": {"text": f"review {n}: naïve café ✓", "stars": n % 5, "tags": ["a", n]},
            "gold": ("positive", "negative")[n % 2],
        }
        if n % 4 == 0:
            row["prelabel"] = {"label": "negative", "confidence": 0.25}
        if n < 5:
            row["annotations"] = [{"annotator": "vendorB/alice", "label": "positive"}]
        rows.append(row)
    return rows


def test_worker_imports_a_jsonl_upload_and_a_reupload_adds_nothing(
    world, api, workers, tasks_run_in_this_process
):
    project = world.a.project
    client = api.as_user(world.users["client_admin"])
    rows = jsonl_rows(40)
    content = b"".join(orjson.dumps(row) + b"\n" for row in rows)
    items_before = Item.objects.filter(project=project).count()

    job = import_through_worker(client, workers, project, "reviews.jsonl", content)

    assert job["status"] == "succeeded", job
    assert (job["rows"], job["imported"], job["duplicates"], job["failed_rows"]) == (40, 40, 0, 0)
    assert job["annotations_imported"] == 5
    assert (job["format"], job["compressed"], job["dataset_name"]) == ("jsonl", False, "reviews")
    assert job["errors"] == []
    assert job["message"] == "40 of 40 rows imported, 5 external annotations."
    assert job["bytes_read"] == job["size_bytes"] == len(content)
    items = Item.objects.filter(project=project, dataset_id=job["dataset"])
    got = {
        item.external_id: (
            item.data,
            item.gold_label,
            item.prelabel,
            item.prelabel_confidence,
            item.done,
            item.needed,
            item.organization_id,
        )
        for item in items
    }
    assert got == {
        row["id"]: (
            row["data"],
            row["gold"],
            row.get("prelabel", {}).get("label"),
            row.get("prelabel", {}).get("confidence"),
            len(row.get("annotations", [])),
            3,
            project.organization_id,
        )
        for row in rows
    }
    assert Item.objects.filter(project=project).count() == items_before + 40
    assert Annotation.objects.filter(project=project, annotator__kind="external").count() == 5
    assert DailyUsage.objects.get(project=project).items_imported == 40

    again = import_through_worker(client, workers, project, "reviews.jsonl", content)

    assert again["status"] == "succeeded", again
    assert (again["rows"], again["imported"], again["duplicates"]) == (40, 0, 40)
    assert again["dataset"] == job["dataset"]
    assert again["message"] == "0 of 40 rows imported, 40 already in the dataset."
    assert Item.objects.filter(project=project).count() == items_before + 40
    assert Annotation.objects.filter(project=project, annotator__kind="external").count() == 5
    assert DailyUsage.objects.get(project=project).items_imported == 40  # nothing billed twice
    assert tasks_run_in_this_process == []  # the worker ran both, not this process


def test_worker_imports_a_gzipped_csv_of_several_batches(world, api, workers):
    project = world.a.project
    client = api.as_user(world.users["client_admin"])
    count = 2 * BATCH_ROWS + 2_345  # three batches: two full ones and a partial one
    golds = ("positive", "negative", "")
    lines = ["id,text,gold,lang"]
    lines += [f'c{n},"comment {n}, with a comma",{golds[n % 3]},en' for n in range(count)]
    content = gzip.compress(("\r\n".join(lines) + "\r\n").encode())

    job = import_through_worker(client, workers, project, "comments.csv.gz", content)

    assert job["status"] == "succeeded", job
    assert (job["rows"], job["imported"], job["failed_rows"]) == (count, count, 0)
    assert (job["format"], job["compressed"], job["dataset_name"]) == ("csv", True, "comments")
    assert job["bytes_read"] == job["size_bytes"] == len(content)
    items = Item.objects.filter(project=project, dataset_id=job["dataset"])
    rows = items.values_list("external_id", "data", "gold_label")
    got = {external_id: (data, gold) for external_id, data, gold in rows}
    assert got == {
        f"c{n}": ({"text": f"comment {n}, with a comma", "lang": "en"}, golds[n % 3] or None)
        for n in range(count)
    }
    assert DailyUsage.objects.get(project=project).items_imported == count
