"""Consensus and agreement reports through the real Redis and Celery worker that
platform/test.sh starts: the submit request only signals completion; the worker decides."""

import time

import pytest
from celery.signals import task_prerun

from config import celery_app
from labeling import queue
from labeling.models import Item
from qa import reports
from qa.data import Filters
from qa.models import AgreementReport, ReviewTask
from tenancy import services as tenancy_services
from tests.conftest import require_service
from tests.factories import ItemFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

WORKER_TIMEOUT_SECONDS = 60
POLL_SECONDS = 0.2


@pytest.fixture(scope="module", autouse=True)
def worker():
    require_service("LQA_TEST_CELERY", "Celery worker")
    assert celery_app.control.ping(timeout=2), "no Celery worker answered a ping"


def wait_for(predicate, what: str):
    deadline = time.monotonic() + WORKER_TIMEOUT_SECONDS
    while not predicate():
        assert time.monotonic() < deadline, f"the worker did not {what} in time"
        time.sleep(POLL_SECONDS)


def test_the_worker_decides_consensus_after_the_commit(world):
    ran_here = []
    task_prerun.connect(lambda task, **_: ran_here.append(task.name), weak=False)
    project = tenancy_services.project_create(
        organization=world.a.organization,
        name="Worker consensus",
        labels=["yes", "no"],
        overlap=2,
        max_overlap=2,
    )
    people = [world.users["annotator"], world.spare_annotator]
    for user in people:
        tenancy_services.workforce_assign(project=project, user=user, role="annotator")
    agreed, tied = ItemFactory(dataset__project=project), ItemFactory(dataset__project=project)
    for user, (a, b) in zip(people, [("yes", "yes"), ("yes", "no")], strict=True):
        queue.annotation_submit(item=agreed, user=user, label=a)
        queue.annotation_submit(item=tied, user=user, label=b)
    wait_for(lambda: Item.objects.get(pk=agreed.pk).label == "yes", "decide the agreed item")
    wait_for(lambda: ReviewTask.objects.filter(item_id=tied.pk).exists(), "queue the tie")
    assert Item.objects.get(pk=tied.pk).status == "review"
    assert "qa.consensus_items" not in ran_here  # it ran in the worker, not in this process


def test_a_big_report_is_refreshed_by_the_worker(world, settings, monkeypatch):
    """Above the in-request limit the first request queues the computation (202)."""
    monkeypatch.setattr(reports, "SYNC_LIMIT", 0)
    project = world.a.project
    report, state = reports.report_get(project=project, filters=Filters())
    assert report is None and state["refreshing"]
    wait_for(
        lambda: AgreementReport.objects.filter(project=project, result__isnull=False).exists(),
        "compute the report",
    )
    report, state = reports.report_get(project=project, filters=Filters())
    assert report["annotations"] == 1 and state["stale"] is False
