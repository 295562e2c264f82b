"""The task queue's server-side calls (labeling/queue/postgres.py, labeling/sql/): its round
trips on the hot path, and what a single-threaded test reaches only with a second connection."""

import threading
import time

import pytest
from django.db import connection, connections
from django.utils import timezone

from billing.models import DailyUsage
from labeling import queue
from labeling.models import Annotation, Item
from labeling.queue import postgres
from tenancy.models import Role

from ..factories import ItemFactory
from .test_queue import fresh_project


def test_the_api_views_claim_and_submit_in_one_call_each(world, api, django_assert_num_queries):
    """The token with the caller's membership, the project (or item) with the assignment, then
    one call, atomic by itself (no savepoint here, no BEGIN and COMMIT in production). The
    submission finds the caller's annotator identity inside its call."""
    client = api.as_user(world.users[Role.ANNOTATOR])
    url = f"/api/v1/projects/{world.a.project.pk}/next/"
    with django_assert_num_queries(3):
        task = client.post(url).json()
    with django_assert_num_queries(3):
        created = client.post(
            f"/api/v1/items/{task['item']}/annotations/", {"label": "positive"}, format="json"
        )
    assert created.status_code == 201


def test_the_combined_call_adds_one_claim_to_the_submission(world, api, django_assert_num_queries):
    """The submission's 3 statements, then the claim's call."""
    project = fresh_project(world, overlap=1)
    ItemFactory.create_batch(2, dataset__project=project)
    client = api.as_user(world.users[Role.ANNOTATOR])
    task = client.post(f"/api/v1/projects/{project.pk}/next/").json()
    with django_assert_num_queries(4):
        combined = client.post(
            f"/api/v1/items/{task['item']}/annotations/", {"label": "b", "next": True}, "json"
        )
    assert combined.status_code == 201 and combined.json()["next"]["item"] != task["item"]


@pytest.mark.django_db(transaction=True)
def test_a_retry_that_wrote_the_label_first_leaves_the_submission_nothing_to_write(world):
    """The same person's label of the item, written by a concurrent request (the retry) that
    held the item's lock first: this submission waits for the lock, its snapshot from before
    the wait does not show the retry's label, and the unique index then lets it write nothing;
    neither the item's count nor the usage moves (outcome 'labeled', a 409)."""
    project = fresh_project(world, overlap=2)
    item = ItemFactory(dataset__project=project)
    user = world.users[Role.ANNOTATOR]
    annotator = queue.annotator_for(user)
    other = connections.create_connection("default")
    outcome: list = []

    def submit():
        try:
            now = timezone.now()
            outcome.append(
                postgres.submission(
                    item_id=item.pk,
                    user=user,
                    annotator_id=annotator.pk,
                    label="a",
                    duration_ms=1000,
                    now=now,
                    day=timezone.localdate(now),
                    prelabels=False,
                )  # fmt: skip
            )
        finally:
            connections.close_all()

    try:
        other.set_autocommit(False)
        with other.cursor() as cursor:  # the retry, as a submission does it, still uncommitted
            cursor.execute("SELECT 1 FROM labeling_item WHERE id = %s FOR UPDATE", [item.pk])
            cursor.execute(
                "INSERT INTO labeling_annotation (organization_id, project_id, item_id,"
                " annotator_id, label, source, created_at)"
                " VALUES (%s, %s, %s, %s, '\"b\"', 'human', now())",
                [item.organization_id, project.pk, item.pk, annotator.pk],
            )
        thread = threading.Thread(target=submit)
        thread.start()
        for _ in range(100):  # until the submission waits on the retry's row
            with connection.cursor() as cursor:  # (not `other`: its transaction's view stays)
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE wait_event_type = 'Lock' AND query LIKE '%%labeling_submission%%'"
                )
                if cursor.fetchone()[0]:
                    break
            time.sleep(0.05)
        else:
            pytest.fail("the submission never waited for the retry")
        other.commit()
        thread.join(timeout=30)
    finally:
        other.close()
    assert [o.outcome for o in outcome] == ["labeled"]
    item = Item.objects.get(pk=item.pk)
    assert (item.done, item.status) == (0, "open")
    assert list(Annotation.objects.filter(item=item).values_list("label", flat=True)) == ["b"]
    assert not DailyUsage.objects.filter(project=project).exists()
