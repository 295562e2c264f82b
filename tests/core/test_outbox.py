"""The outbox (core/outbox.py): what must follow a commit is written in its transaction,
delivered after it, and left for the sweep when delivery fails; a completion's message is
written by the submission's own statement."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerOperationalError

from core import outbox
from core.models import OutboxMessage
from labeling import queue
from labeling.signals import ITEMS_COMPLETED, items_completed
from prelabels.models import ModelVersion
from tenancy.models import Organization, Role

from ..factories import ItemFactory, ModelVersionFactory, OrganizationFactory
from ..labeling.test_queue import fresh_project

TOPIC = "tests.outbox"


@pytest.fixture
def delivered(monkeypatch):
    """Payloads the test topic's handler received. A payload's `fail` names what it raises;
    `organization` makes an organization of that name first (a write to roll back)."""
    seen = []

    def handle(payload: dict) -> None:
        if payload.get("organization"):
            OrganizationFactory(name=payload["organization"], slug=payload["organization"])
        if payload.get("fail") == "broker":
            raise BrokerOperationalError("Error 111 connecting to 127.0.0.1:1. Connection refused.")
        if payload.get("fail"):
            raise ValueError("the handler refused it")
        seen.append(payload)

    monkeypatch.setitem(outbox._handlers, TOPIC, handle)
    return seen


def test_a_message_is_delivered_once_its_transaction_commits(
    db, delivered, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = outbox.outbox_add(topic=TOPIC, payload={"n": 1})
        outbox.outbox_deliver_on_commit(message)
        assert delivered == [] and OutboxMessage.objects.filter(pk=message).exists()
    assert delivered == [{"n": 1}]
    assert not OutboxMessage.objects.filter(pk=message).exists()
    assert outbox.outbox_deliver(message_ids=[message]) == 0  # gone: nothing twice


def test_a_rolled_back_transaction_leaves_no_message(db, delivered):
    with pytest.raises(RuntimeError), transaction.atomic():
        message = outbox.outbox_add(topic=TOPIC, payload={"n": 1})
        outbox.outbox_deliver_on_commit(message)
        raise RuntimeError("the write failed")
    assert delivered == [] and not OutboxMessage.objects.exists()


def test_an_unknown_topic_is_refused_when_written(db):
    with pytest.raises(LookupError):
        outbox.outbox_add(topic="tests.nobody-listens", payload={})


def test_a_failed_delivery_keeps_the_message_and_undoes_its_writes(db, delivered):
    message = outbox.outbox_add(topic=TOPIC, payload={"organization": "once", "fail": "yes"})

    assert outbox.outbox_deliver(message_ids=[message]) == 0  # and it did not raise

    row = OutboxMessage.objects.get(pk=message)
    assert (row.attempts, "refused" in row.last_error) == (1, True)
    assert row.available_at >= row.created_at + timedelta(seconds=2)  # it waits: 2 s, 4 s ...
    assert not Organization.objects.filter(name="once").exists()
    assert outbox.outbox_sweep() == {"delivered": 0, "failed": 0}  # not due yet

    OutboxMessage.objects.filter(pk=message).update(
        available_at=F("created_at"), payload={"organization": "once"}
    )
    assert outbox.outbox_sweep() == {"delivered": 1, "failed": 0}
    assert Organization.objects.filter(name="once").count() == 1
    assert not OutboxMessage.objects.exists()


def test_an_unavailable_broker_stops_the_sweep_and_keeps_every_message_due(db, delivered):
    first = outbox.outbox_add(topic=TOPIC, payload={"fail": "broker"})
    second = outbox.outbox_add(topic=TOPIC, payload={"n": 2})

    assert outbox.outbox_sweep() == {"delivered": 0, "failed": 0}

    rows = {row.pk: row for row in OutboxMessage.objects.all()}
    assert (rows[first].attempts, rows[second].attempts) == (1, 0)
    assert rows[first].available_at <= timezone.now()  # due again at the next sweep
    OutboxMessage.objects.filter(pk=first).update(payload={"n": 1})
    assert outbox.outbox_sweep() == {"delivered": 2, "failed": 0}
    assert delivered == [{"n": 1}, {"n": 2}]


def test_the_submission_that_completes_an_item_writes_its_message(world):
    project = fresh_project(world, overlap=2)
    item = ItemFactory(dataset__project=project)
    queue.annotation_submit(item=item, user=world.users[Role.ANNOTATOR], label="a")
    assert not OutboxMessage.objects.exists()  # not complete yet
    queue.annotation_submit(item=item, user=world.spare_annotator, label="a")

    message = OutboxMessage.objects.get()  # the commit's callbacks did not run in this test
    assert message.topic == ITEMS_COMPLETED
    assert message.payload == {
        "organization_id": project.organization_id,
        "project_id": project.pk,
        "item_ids": [item.pk],
    }


def test_a_completion_whose_delivery_fails_is_delivered_by_the_sweep_once(
    world, api, django_capture_on_commit_callbacks
):
    """The receivers fail after the commit (a broker that is down): the label is answered 201,
    the model's retraining count is not moved, and the sweep later delivers it once."""
    project = fresh_project(world, overlap=2)
    current = ModelVersionFactory(project=project, is_current=True, status="succeeded")
    item = ItemFactory(dataset__project=project)
    queue.annotation_submit(item=item, user=world.users[Role.ANNOTATOR], label="a")
    refusing = {"on": True}

    def receiver(sender, **kwargs):
        if refusing["on"]:
            raise BrokerOperationalError("Error 111 connecting: Connection refused.")

    items_completed.connect(receiver, dispatch_uid="tests.refusing")
    try:
        client = api.as_user(world.spare_annotator)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(f"/api/v1/items/{item.pk}/annotations/", {"label": "a"}, "json")
        assert response.status_code == 201, response.content
        message = OutboxMessage.objects.get(topic=ITEMS_COMPLETED)
        assert message.attempts == 1 and "Connection refused" in message.last_error
        assert ModelVersion.objects.get(pk=current.pk).new_completions == 0  # rolled back
        item.refresh_from_db()
        assert (item.status, item.label) == ("complete", None)

        refusing["on"] = False
        assert outbox.outbox_sweep() == {"delivered": 1, "failed": 0}
        assert outbox.outbox_sweep() == {"delivered": 0, "failed": 0}
    finally:
        items_completed.disconnect(dispatch_uid="tests.refusing")
    assert ModelVersion.objects.get(pk=current.pk).new_completions == 1
    item.refresh_from_db()
    assert (item.status, item.label) == ("complete", "a")  # consensus decided it
