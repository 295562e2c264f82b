"""The task queue's PostgreSQL statements (labeling/queue/postgres.py): their count on the hot
path, and the cases a single-threaded test reaches only by calling them directly."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from labeling import queue
from labeling.models import Annotation, Item, Lease
from labeling.queue import postgres
from tenancy.models import Role

from ..factories import ItemFactory
from .test_queue import fresh_project

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the queue's statements are PostgreSQL's"
)


def test_next_and_submit_in_few_statements(world, api, django_assert_num_queries):
    """The hot path on PostgreSQL (labeling.middleware). next: the token with the caller's
    membership, the project and the caller's assignment in one statement, the claim, the lease;
    asking again: the claim returns the held lease. submit: the token with the item, the item
    locked with what the rules read, the writes, the usage counter. Each transaction adds its
    savepoint and release here (inside the test's transaction; BEGIN and COMMIT in production)."""
    client = api.as_user(world.users[Role.ANNOTATOR])
    url = f"/api/v1/projects/{world.a.project.pk}/next/"
    with django_assert_num_queries(5):
        task = client.post(url).json()
    with django_assert_num_queries(4):
        assert client.post(url).json() == task
    with django_assert_num_queries(6):
        created = client.post(
            f"/api/v1/items/{task['item']}/annotations/", {"label": "positive"}, format="json"
        )
    assert created.status_code == 201
    assert Annotation.objects.get(pk=created.json()["id"]).label == "positive"


def test_a_claim_passes_over_the_items_it_tried(world):
    project = fresh_project(world, overlap=2)
    first, second = ItemFactory.create_batch(2, dataset__project=project)
    user, other = world.users[Role.ANNOTATOR], world.spare_annotator
    now = timezone.now()
    scope = {"organization_id": project.organization_id, "project_id": project.pk, "now": now}
    assert postgres.claim(**scope, user=user, gold=False, tried=[]) == (None, first.pk)
    assert postgres.claim(**scope, user=user, gold=False, tried=[first.pk]) == (None, second.pk)
    # Found full once locked (a lease its snapshot did not see): no lease, the claim goes on.
    Lease.objects.create(**scope_of(first), user=other, expires_at=now + timedelta(minutes=5))
    Item.objects.filter(pk=first.pk).update(done=1)
    lease = dict(expires=now + timedelta(minutes=5), blind=False, gold=False)
    assert postgres.lease_create(**scope, item_id=first.pk, user=user, **lease) is None
    made = postgres.lease_create(**scope, item_id=second.pk, user=user, **lease)
    assert (made.item_id, made.user_id, made.item.data) == (second.pk, user.pk, second.data)
    # A second lease of the same person on the item (a concurrent request of theirs): none.
    assert postgres.lease_create(**scope, item_id=second.pk, user=user, **lease) is None
    assert Lease.objects.filter(item=second, user=user).count() == 1


def scope_of(item) -> dict:
    return {"organization_id": item.organization_id, "project_id": item.project_id, "item": item}


def test_a_second_record_of_the_same_label_writes_nothing(world):
    item, user = world.a.item, world.users[Role.ANNOTATOR]
    first = queue.annotation_submit(item=item, user=user, label="positive")
    again = Annotation(
        organization_id=item.organization_id,
        project_id=item.project_id,
        item=item,
        annotator_id=first.annotator_id,
        label="negative",
        source="human",
        created_at=timezone.now(),
    )
    recorded = postgres.submission_record(
        annotation=again, lease_id=None, completes=True, complete_status="complete"
    )
    assert recorded is None
    item.refresh_from_db()
    assert (item.done, item.status) == (1, "open")
    assert list(Annotation.objects.filter(item=item).values_list("label", flat=True)) == [
        "positive"
    ]
