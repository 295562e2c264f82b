"""The combined call (`POST items/{id}/annotations/` with `"next": true`, API.md) and annotators
racing through the API over real connections, behind the whole middleware stack."""

import threading

import pytest
from django.db import DatabaseError, connections
from rest_framework.test import APIClient

from billing.models import DailyUsage
from labeling import queue
from labeling.models import Annotation, Annotator, Item, Lease
from tenancy.models import Role

from ..factories import ItemFactory, TokenFactory
from .test_queue import fresh_project, twice_at_once


def test_the_combined_call_answers_the_annotation_and_the_next_task(world, api):
    client = api.as_user(world.users[Role.ANNOTATOR])
    project = fresh_project(world, overlap=1)
    items = ItemFactory.create_batch(2, dataset__project=project)
    first = client.post(f"/api/v1/projects/{project.pk}/next/").json()
    answer = client.post(
        f"/api/v1/items/{first['item']}/annotations/",
        {"label": "a", "duration_ms": 900, "next": True},
        format="json",
    )
    assert answer.status_code == 201
    body = answer.json()
    assert set(body) == {"annotation", "next"}
    annotation = Annotation.objects.get(pk=body["annotation"]["id"])
    assert (annotation.item_id, annotation.label) == (first["item"], "a")
    assert annotation.duration_ms == 900
    assert body["annotation"]["item_status"] == "complete"
    # the next task is what next/ would answer now: the other item, leased to the caller
    second = body["next"]
    assert set(second) == {"item", "data", "prelabel", "lease_expires"}
    assert {first["item"], second["item"]} == {item.pk for item in items}
    lease = Lease.objects.get(item_id=second["item"], user=world.users[Role.ANNOTATOR])
    assert lease.annotation_id is None and not lease.skipped
    assert client.post(f"/api/v1/projects/{project.pk}/next/").json() == second
    # the last one: its next is null, and the queue says 204 as well
    last = client.post(
        f"/api/v1/items/{second['item']}/annotations/", {"label": "b", "next": True}, format="json"
    )
    assert last.status_code == 201 and last.json()["next"] is None
    assert client.post(f"/api/v1/projects/{project.pk}/next/").status_code == 204
    assert DailyUsage.objects.get(project=project).annotations == 2


def test_without_next_the_answer_is_as_before(world, api):
    client = api.as_user(world.users[Role.ANNOTATOR])
    item = world.a.item
    for flag in ({}, {"next": False}):
        Annotation.objects.filter(item=item, annotator__user=world.users[Role.ANNOTATOR]).delete()
        answer = client.post(
            f"/api/v1/items/{item.pk}/annotations/", {"label": "positive", **flag}, format="json"
        )
        assert answer.status_code == 201
        assert set(answer.json()) == {"id", "item_status"}


def test_the_combined_call_refuses_as_the_plain_one_and_leases_nothing(world, api):
    client = api.as_user(world.users[Role.ANNOTATOR])
    url = f"/api/v1/items/{world.a.item.pk}/annotations/"
    leases = Lease.objects.count()
    bad = client.post(url, {"label": "maybe", "next": True}, format="json")
    assert bad.status_code == 400 and "label" in bad.json()
    not_bool = client.post(url, {"label": "positive", "next": "soon"}, format="json")
    assert not_bool.status_code == 400 and "next" in not_bool.json()
    labeled = client.post(
        f"/api/v1/items/{world.a.annotation.item_id}/annotations/",
        {"label": "negative", "next": True},
        format="json",
    )
    assert labeled.status_code == 409
    theirs = f"/api/v1/items/{world.b.item.pk}/annotations/"
    assert client.post(theirs, {"label": "urgent", "next": True}, format="json").status_code == 404
    qa = api.as_user(world.users[Role.QA_LEAD])
    assert qa.post(url, {"label": "positive", "next": True}, format="json").status_code == 403
    assert Lease.objects.count() == leases
    assert not Annotation.objects.filter(item=world.a.item).exists()


def test_a_claim_that_fails_after_the_commit_still_answers_the_label_as_saved(
    world, api, monkeypatch
):
    """The label is committed before the claim runs: a failing claim must not turn a stored
    label into an error (a retry would then get 409)."""
    client = api.as_user(world.users[Role.ANNOTATOR])

    def broken(**kwargs):
        raise DatabaseError("connection lost")

    monkeypatch.setattr(queue, "lease_next", broken)
    answer = client.post(
        f"/api/v1/items/{world.a.item.pk}/annotations/",
        {"label": "positive", "next": True},
        format="json",
    )
    assert answer.status_code == 201
    body = answer.json()
    assert body["next"] is None and "next/" in body["next_error"]
    assert Annotation.objects.filter(pk=body["annotation"]["id"], label="positive").exists()


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {TokenFactory(user=user).key}")
    return client


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("combined", [False, True], ids=["two-calls", "combined"])
def test_annotators_racing_never_share_the_last_slot(world, combined):
    """Two real connections (one per thread) ask for work at the same moment, many times; each
    item is labeled once, each completion counted once, and consensus (run as each completion
    commits) decides every item."""
    project = fresh_project(world, overlap=1)
    items = ItemFactory.create_batch(12, dataset__project=project)
    users = [world.users[Role.ANNOTATOR], world.spare_annotator]
    claimed: list = []
    statuses: list = []
    barrier = threading.Barrier(2)

    def work(user):
        client = _client(user)
        try:
            task = None
            for _ in items:
                barrier.wait(timeout=10)
                if task is None:
                    answer = client.post(f"/api/v1/projects/{project.pk}/next/")
                    task = answer.json() if answer.status_code == 200 else None
                if task is None:
                    continue
                claimed.append(task["item"])
                body = {"label": "a", "next": combined}
                done = client.post(f"/api/v1/items/{task['item']}/annotations/", body, "json")
                statuses.append(done.status_code)
                task = done.json()["next"] if combined and done.status_code == 201 else None
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(claimed) == sorted(item.pk for item in items)  # each exactly once
    assert statuses == [201] * 12
    assert all(Annotation.objects.filter(item=item).count() == 1 for item in items)
    assert set(Item.objects.filter(project=project).values_list("label", flat=True)) == {"a"}
    usage = DailyUsage.objects.get(project=project)
    assert (usage.annotations, usage.items_completed) == (12, 12)


@pytest.mark.django_db(transaction=True)
def test_the_same_submission_twice_at_once_makes_one_label(world):
    """A client retrying while its first request is still running: one 201, one 409."""
    project = fresh_project(world, overlap=2)
    user = world.users[Role.ANNOTATOR]
    items = ItemFactory.create_batch(8, dataset__project=project)
    statuses: list = []

    def submit(item):
        response = _client(user).post(
            f"/api/v1/items/{item.pk}/annotations/", {"label": "b", "next": True}, "json"
        )
        statuses.append(response.status_code)

    twice_at_once(items, submit)
    assert sorted(statuses) == [201] * 8 + [409] * 8
    assert DailyUsage.objects.get(project=project).annotations == 8


def test_a_persons_first_label_makes_their_annotator_identity(world, api):
    """The submission's call finds the caller's annotator; on a first label there is none yet
    ('no_annotator'): it is made and the label recorded, once."""
    person = world.spare_annotator
    project = fresh_project(world, overlap=1)
    item = ItemFactory(dataset__project=project)
    assert not Annotator.objects.filter(user=person).exists()
    answer = api.as_user(person).post(
        f"/api/v1/items/{item.pk}/annotations/", {"label": "a"}, format="json"
    )
    assert answer.status_code == 201
    annotator = Annotator.objects.get(user=person)
    annotation = Annotation.objects.get(pk=answer.json()["id"])
    assert (annotation.annotator_id, annotation.item_id) == (annotator.pk, item.pk)
