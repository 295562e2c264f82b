"""Idempotency-Key on the API's POSTs (core/idempotency.py, API.md "Every route"): a retry with
the same key and body answers the first answer (status and body) and creates nothing again;
another body answers 422; keys are the caller's own and kept 24 hours."""

import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections
from django.utils import timezone
from rest_framework.test import APIClient

from core.idempotency import idempotency_keys_purge
from core.models import IdempotencyKey
from exports.models import Export
from labeling.models import Annotation, ImportJob, Item
from prelabels.models import ModelVersion
from qa.models import Audit
from tenancy.models import Organization, Role

from ..factories import IdempotencyKeyFactory, ItemFactory, TokenFactory
from ..labeling.test_queue import fresh_project

ANN, ADMIN, OP, QA = Role.ANNOTATOR, Role.CLIENT_ADMIN, Role.OPERATOR, Role.QA_LEAD


def post(client, url, body=None, *, key: str, multipart: bool = False):
    return client.post(
        url, body or {}, format="multipart" if multipart else "json", HTTP_IDEMPOTENCY_KEY=key
    )


def _upload():
    return {"file": SimpleUploadedFile("rows.jsonl", b'{"data": {"text": "hello"}}\n')}


def _completed_item(world):
    """An item completed since the world's last audit, so that an audit has a lot."""
    ItemFactory(dataset__project=world.a.project, status="complete", completed_at=timezone.now())
    return {}


# (role, url, body, multipart, the rows the POST creates)
CREATING = {
    "annotation": (ANN, lambda w: f"/api/v1/items/{w.a.item.pk}/annotations/",
                   lambda w: {"label": "negative", "duration_ms": 900}, False,
                   lambda w: Annotation.objects.filter(item=w.a.item)),
    "import": (ADMIN, lambda w: f"/api/v1/projects/{w.a.project.pk}/imports/",
               lambda w: _upload(), True, lambda w: ImportJob.objects.all()),
    "export": (ADMIN, lambda w: f"/api/v1/projects/{w.a.project.pk}/exports/",
               lambda w: {"format": "csv"}, False, lambda w: Export.objects.all()),
    "review": (QA, lambda w: f"/api/v1/reviews/{w.a.review.pk}/",
               lambda w: {"decision": "accept"}, False,
               lambda w: Annotation.objects.filter(source="review")),
    "audit": (QA, lambda w: f"/api/v1/projects/{w.a.project.pk}/audits/", _completed_item,
              False, lambda w: Audit.objects.all()),
    "model train": (ADMIN, lambda w: f"/api/v1/projects/{w.a.project.pk}/models/train/",
                    lambda w: {}, False, lambda w: ModelVersion.objects.all()),
    "organization": (OP, lambda w: "/api/v1/organizations/",
                     lambda w: {"name": "Charlie Foods", "kind": "client"}, False,
                     lambda w: Organization.objects.all()),
}  # fmt: skip


@pytest.mark.parametrize("what", CREATING)
def test_a_retry_answers_the_first_answer_and_creates_nothing_again(world, api, what):
    role, url, body, multipart, rows = CREATING[what]
    client = api.as_user(world.users[role])
    before, key = rows(world).count(), str(uuid.uuid4())
    payload = body(world)

    first = post(client, url(world), payload, key=key, multipart=multipart)
    if multipart:
        payload = body(world)  # a new upload of the same file (the first was read)
    again = post(client, url(world), payload, key=key, multipart=multipart)

    assert first.status_code in (200, 201, 202), first.content
    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert again["Content-Type"] == first["Content-Type"]
    assert again["Idempotent-Replayed"] == "true" and not first.has_header("Idempotent-Replayed")
    assert rows(world).count() == before + 1
    kept = IdempotencyKey.objects.get(user=world.users[role], key=key)
    assert (kept.status_code, kept.request) == (first.status_code, f"POST {url(world)}")


def test_the_combined_call_replays_the_same_annotation_and_next_task(world, api):
    project = fresh_project(world, overlap=1)
    ItemFactory.create_batch(3, dataset__project=project)
    client = api.as_user(world.users[ANN])
    task = client.post(f"/api/v1/projects/{project.pk}/next/").json()
    url, body = f"/api/v1/items/{task['item']}/annotations/", {"label": "a", "next": True}

    first = post(client, url, body, key="submission-1")
    again = post(client, url, body, key="submission-1")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert first.json()["next"]["item"] != task["item"]
    assert Annotation.objects.filter(item_id=task["item"]).count() == 1
    # the next task handed out once: the replay took no second lease
    assert (
        client.post(f"/api/v1/projects/{project.pk}/next/").json()["item"]
        == (first.json()["next"]["item"])
    )


def test_another_body_with_the_same_key_is_refused_naming_the_conflict(world, api):
    client = api.as_user(world.users[ANN])
    url = f"/api/v1/items/{world.a.item.pk}/annotations/"
    assert post(client, url, {"label": "negative"}, key="k1").status_code == 201

    other = post(client, url, {"label": "positive"}, key="k1")
    elsewhere = post(client, f"/api/v1/projects/{world.a.project.pk}/next/", key="k1")

    assert other.status_code == elsewhere.status_code == 422
    assert "Idempotency-Key" in other.json()["detail"]
    assert f"POST {url}" in other.json()["detail"]
    assert Annotation.objects.get(item=world.a.item).label == "negative"


def test_the_same_json_in_another_order_is_the_same_body(world, api):
    client = api.as_user(world.users[ANN])
    url = f"/api/v1/items/{world.a.item.pk}/annotations/"
    first = client.post(
        url, '{"label": "negative", "duration_ms": 5}', content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k2",
    )  # fmt: skip
    again = client.post(
        url, '{"duration_ms":5,"label":"negative"}', content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k2",
    )  # fmt: skip
    assert again.status_code == first.status_code == 201 and again.content == first.content


def test_keys_are_each_callers_own(world):
    """Two annotators (of two tenants) send the same key: each gets their own answer."""
    mine = post(
        _as(world.users[ANN]), f"/api/v1/items/{world.a.item.pk}/annotations/",
        {"label": "negative"}, key="shared",
    )  # fmt: skip
    theirs = post(
        _as(world.b.users[ANN]), f"/api/v1/items/{world.b.item.pk}/annotations/",
        {"label": "urgent"}, key="shared",
    )  # fmt: skip
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    assert IdempotencyKey.objects.filter(key="shared").count() == 2


def _as(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {TokenFactory(user=user).key}")
    return client


def test_a_refused_request_keeps_no_answer_but_a_conflict_is_kept(world, api):
    """403, 404 (before the handler runs) keep nothing; a 409 from the handler is the answer."""
    url = f"/api/v1/items/{world.a.item.pk}/annotations/"
    admin = post(api.as_user(world.users[ADMIN]), url, {"label": "negative"}, key="k3")
    assert admin.status_code == 403
    assert not IdempotencyKey.objects.filter(key="k3").exists()

    annotator = _as(world.users[ANN])
    assert annotator.post(url, {"label": "negative"}, format="json").status_code == 201
    conflict = post(annotator, url, {"label": "negative"}, key="k4")
    again = post(annotator, url, {"label": "negative"}, key="k4")
    assert conflict.status_code == again.status_code == 409
    assert again.content == conflict.content and again["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize("key", ["", "x" * 256, "naïve", "tab\there"])
def test_a_malformed_key_is_refused(world, api, key):
    response = post(
        api.as_user(world.users[ANN]), f"/api/v1/items/{world.a.item.pk}/annotations/",
        {"label": "negative"}, key=key,
    )  # fmt: skip
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()
    assert not Annotation.objects.filter(item=world.a.item).exists()


def test_keys_are_kept_a_day_then_used_anew_and_purged(world, api, settings):
    assert settings.LQA_IDEMPOTENCY_HOURS == 24
    user = world.users[ANN]
    day_and_more = timezone.now() - timedelta(hours=24, minutes=1)
    IdempotencyKeyFactory(user=user, key="old", created_at=day_and_more, fingerprint="0" * 64)
    IdempotencyKeyFactory(user=user, key="older", created_at=day_and_more)
    IdempotencyKeyFactory(user=user, key="recent", created_at=timezone.now() - timedelta(hours=23))

    reused = post(
        api.as_user(user), f"/api/v1/items/{world.a.item.pk}/annotations/",
        {"label": "negative"}, key="old",
    )  # fmt: skip

    assert reused.status_code == 201 and "Idempotent-Replayed" not in reused
    assert IdempotencyKey.objects.get(user=user, key="old").status_code == 201
    assert idempotency_keys_purge() == 1
    assert set(IdempotencyKey.objects.values_list("key", flat=True)) == {"old", "recent"}


def _waiting_for_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def _wait_until(predicate, what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_a_retry_while_the_first_request_runs_waits_for_it_and_answers_its_answer(world):
    """The first request is held inside its transaction (another connection locks the item);
    its retry waits on the key's claim, then answers what the first answered."""
    item = world.a.item
    token = TokenFactory(user=world.users[ANN]).key
    answers: dict = {}

    def send(name: str) -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        try:
            answers[name] = post(
                client, f"/api/v1/items/{item.pk}/annotations/", {"label": "negative"}, key="k5"
            )
        finally:
            connections.close_all()

    locker = connections.create_connection("default")
    threads = [threading.Thread(target=send, args=(name,)) for name in ("first", "retry")]
    try:
        with locker.cursor() as cursor:
            cursor.execute("BEGIN")
            lock = f"SELECT 1 FROM {Item._meta.db_table} WHERE id = %s FOR UPDATE"
            cursor.execute(lock, [item.pk])
            threads[0].start()
            _wait_until(lambda: _waiting_for_locks() == 1, "the first request to wait")
            threads[1].start()
            _wait_until(lambda: _waiting_for_locks() == 2, "the retry to wait on the key")
            assert not answers
            cursor.execute("COMMIT")
        for thread in threads:
            thread.join(timeout=30)
    finally:
        locker.close()
    first, retry = answers["first"], answers["retry"]
    assert first.status_code == retry.status_code == 201
    assert retry.content == first.content and retry["Idempotent-Replayed"] == "true"
    assert Annotation.objects.filter(item=item, source="human").count() == 1
    assert Item.objects.get(pk=item.pk).done == 1


def test_the_schema_documents_the_header_on_every_post(client):
    paths = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    posts = {path: ops["post"] for path, ops in paths.items() if "post" in ops}
    assert "/api/v1/items/{item_id}/annotations/" in posts
    for path, operation in posts.items():
        if path == "/api/v1/auth/token/":
            continue  # DRF's token view: nothing to create twice
        headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        assert "Idempotency-Key" in headers, path
