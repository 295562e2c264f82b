"""Consensus and agreement reports through the real Redis and Celery worker that
platform/test.sh starts: a submission only marks its project; the worker's sweep decides."""

import time

import pytest
from celery.signals import before_task_publish, task_prerun

from config import celery_app
from labeling import queue
from labeling.models import Item
from qa import pending, receivers, reports
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


def _two_annotator_project(world, name: str) -> tuple:
    """(project, its two annotators): labels yes/no, overlap 2 and no adaptive overlap."""
    project = tenancy_services.project_create(
        organization=world.a.organization, name=name, labels=["yes", "no"], overlap=2,
        max_overlap=2,
    )  # fmt: skip
    people = [world.users["annotator"], world.spare_annotator]
    for user in people:
        tenancy_services.workforce_assign(project=project, user=user, role="annotator")
    return project, people


def test_the_worker_decides_consensus_after_the_commit(world):
    ran_here = []
    task_prerun.connect(lambda task, **_: ran_here.append(task.name), weak=False)
    project, people = _two_annotator_project(world, "Worker consensus")
    agreed, tied = ItemFactory(dataset__project=project), ItemFactory(dataset__project=project)
    for user, (a, b) in zip(people, [("yes", "yes"), ("yes", "no")], strict=True):
        queue.annotation_submit(item=agreed, user=user, label=a)
        queue.annotation_submit(item=tied, user=user, label=b)
    wait_for(lambda: Item.objects.get(pk=agreed.pk).label == "yes", "decide the agreed item")
    wait_for(lambda: ReviewTask.objects.filter(item_id=tied.pk).exists(), "queue the tie")
    assert Item.objects.get(pk=tied.pk).status == "review"
    # it ran in the worker, not in this process
    assert not {"qa.consensus_items", "qa.consensus_sweep"} & set(ran_here)


def test_completions_enqueue_one_sweep_which_decides_them_all(world, monkeypatch):
    """With a broker a completion marks its project in Redis; only the first enqueues a sweep,
    which the worker runs SWEEP_DELAY later, deciding every item completed meanwhile; once it
    has cleared the mark, the next completion enqueues the next sweep."""
    # A window wide enough that every completion below falls into it, even on a slow machine.
    monkeypatch.setattr(receivers, "SWEEP_DELAY", 5)
    published = []

    def record(sender, **_):
        if sender.startswith("qa.consensus"):
            published.append(sender)

    before_task_publish.connect(record, weak=False)
    try:
        project, people = _two_annotator_project(world, "Worker sweep")
        items = ItemFactory.create_batch(6, dataset__project=project)
        late = ItemFactory(dataset__project=project)
        for n, item in enumerate(items):
            queue.annotation_submit(item=item, user=people[0], label="no")
            queue.annotation_submit(item=item, user=people[1], label="yes" if n == 0 else "no")
        assert published == ["qa.consensus_sweep"]

        wait_for(lambda: not _waiting(project), "decide every completed item")
        assert Item.objects.get(pk=items[0].pk).status == "review"  # the tie
        assert {i.label for i in Item.objects.filter(pk__in=[i.pk for i in items[1:]])} == {"no"}
        wait_for(lambda: not _marked(project), "clear the pending mark")

        for user in people:
            queue.annotation_submit(item=late, user=user, label="yes")
        assert published == ["qa.consensus_sweep"] * 2
        wait_for(lambda: Item.objects.get(pk=late.pk).label == "yes", "decide the late item")
    finally:
        before_task_publish.disconnect(record)


def _waiting(project) -> bool:
    return Item.objects.filter(project=project, status="complete", label__isnull=True).exists()


def _marked(project) -> bool:
    return bool(pending._redis().exists(pending._key(project.pk)))


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
