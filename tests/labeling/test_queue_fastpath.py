"""labeling.fastpath: `next` and submissions answered in front of Django say exactly what the
API views say, hand every unusual request to them, and hold under concurrent annotators."""

import io
import threading

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection, connections, transaction
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from billing.models import DailyUsage
from config import wsgi
from labeling import apis, fastpath
from labeling.fastpath import QueueFront
from labeling.models import Annotation, Item
from tenancy import services as tenancy_services
from tenancy.models import Role

from ..factories import ItemFactory
from .test_queue import fresh_project, twice_at_once

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the fast path calls PostgreSQL functions"
)


def _requests(world, extra):
    """(who, path, body, format) of a morning's work, the usual and the unusual."""
    annotator, qa = world.users[Role.ANNOTATOR], world.users[Role.QA_LEAD]
    project, theirs = world.a.project, world.b.project
    nxt = f"/api/v1/projects/{project.pk}/next/"
    submit = f"/api/v1/items/{world.a.item.pk}/annotations/"
    submit_extra = f"/api/v1/items/{extra.pk}/annotations/"
    return [
        (annotator, nxt, None, None),  # 200: a task
        (annotator, nxt, None, None),  # 200: the same task again
        (qa, nxt, None, None),  # 403: not an annotator of the project
        (annotator, f"/api/v1/projects/{theirs.pk}/next/", None, None),  # 404: another tenant
        ("bad token", nxt, None, None),  # 401
        (annotator, submit, {"label": "maybe"}, "json"),  # 400: not in the label set
        (annotator, submit, {"duration_ms": 5}, "json"),  # 400: no label
        (annotator, submit, {"label": None}, "json"),  # 400: a null label
        (annotator, submit, {"label": "positive", "duration_ms": None}, "json"),  # 400
        (annotator, submit, {"label": "positive", "duration_ms": -1}, "json"),  # 400
        (annotator, submit, {"label": ["positive"]}, "json"),  # 400: a list, one label asked
        (annotator, submit, {"label": "positive", "duration_ms": 2100}, "json"),  # 201
        (annotator, submit, {"label": "positive"}, "json"),  # 409: labeled already
        (qa, submit_extra, {"label": "positive"}, "json"),  # 403
        (annotator, f"/api/v1/items/{world.b.item.pk}/annotations/", {"label": "urgent"}, "json"),
        (annotator, nxt, None, None),  # 200: the extra item
        (annotator, submit_extra, {"label": "negative", "duration_ms": "900"}, "json"),  # 201
        (annotator, nxt, None, None),  # 204: nothing left
    ]


def _normal(body: dict) -> dict:
    """The answer without what differs between two runs: ids from a sequence, timestamps."""
    return {k: ("<varies>" if k in ("id", "lease_expires") else v) for k, v in body.items()}


def _answers(api, requests) -> list:
    answers = []
    with transaction.atomic():
        for who, path, body, fmt in requests:
            if who == "bad token":
                client = api
                client.credentials(HTTP_AUTHORIZATION="Token nope")
            else:
                client = api.as_user(who)
            response = client.post(path, body, format=fmt)
            content = response.json() if response.content else None
            answers.append(
                (
                    path,
                    response.status_code,
                    _normal(content) if isinstance(content, dict) else content,
                    sorted(response.items()),
                )
            )
        transaction.set_rollback(True)
    return answers


def test_the_fast_path_answers_as_the_api_views(world, api, settings):
    extra = ItemFactory(dataset=world.a.item.dataset)
    fast = _answers(api, _requests(world, extra))
    settings.LABELING_FAST_PATH = False
    full = _answers(api, _requests(world, extra))
    assert [a[1] for a in full] == [200, 200, 403, 404, 401, 400, 400, 400, 400, 400, 400, 201,
                                    409, 403, 404, 200, 201, 204]  # fmt: skip
    assert fast == full


def test_multilabel_submissions_are_stored_as_the_api_views_store_them(world, api, settings):
    """A subset in any order is stored sorted; a repeated or unknown label is the view's 400."""
    project = tenancy_services.project_create(
        organization=world.a.organization,
        name="Tags",
        labels=["zeta", "Alpha", "beta", "é"],
        task_type="multilabel",
        overlap=3,
    )
    tenancy_services.workforce_assign(
        project=project, user=world.users[Role.ANNOTATOR], role="annotator"
    )
    bodies = [["beta", "é", "Alpha"], [], ["beta", "beta"], ["beta", "gamma"], "beta", [1]]
    stored = {}
    for fast in (True, False):
        settings.LABELING_FAST_PATH = fast
        client = api.as_user(world.users[Role.ANNOTATOR])
        for body in bodies:
            item = ItemFactory(dataset__project=project)
            response = client.post(
                f"/api/v1/items/{item.pk}/annotations/", {"label": body}, format="json"
            )
            label = Annotation.objects.filter(item=item).values_list("label", flat=True).first()
            stored.setdefault(fast, []).append((response.status_code, response.json(), label))
    assert [status for status, _, _ in stored[True]] == [201, 201, 400, 400, 400, 400]
    assert stored[True][0][2] == ["Alpha", "beta", "é"]  # code points, as Python's sorted()
    normal = {k: [(s, _normal(b), lbl) for s, b, lbl in v] for k, v in stored.items()}
    assert normal[True] == normal[False]


def test_the_usual_requests_never_reach_drf(world, api, monkeypatch):
    """next and a plain submission are answered by the front; a conflict is the view's."""
    called = []
    for view in (apis.ProjectNextApi, apis.ItemAnnotationCreateApi):
        original = view.post
        monkeypatch.setattr(
            view, "post", lambda self, *a, _o=original, **k: called.append(1) or _o(self, *a, **k)
        )
    client = api.as_user(world.users[Role.ANNOTATOR])
    task = client.post(f"/api/v1/projects/{world.a.project.pk}/next/")
    done = client.post(
        f"/api/v1/items/{task.json()['item']}/annotations/", {"label": "negative"}, format="json"
    )
    assert (task.status_code, done.status_code, called) == (200, 201, [])
    assert Annotation.objects.get(pk=done.json()["id"]).label == "negative"
    again = client.post(
        f"/api/v1/items/{task.json()['item']}/annotations/", {"label": "negative"}, format="json"
    )
    assert again.status_code == 409 and called == [1]
    assert Annotation.objects.filter(item_id=task.json()["item"]).count() == 1


def test_the_front_wraps_the_wsgi_application_and_the_views_skip_nothing():
    """gunicorn's application is the front; and the API views it stands in for have no
    throttles, no extra authentication or permission classes (it would skip them)."""
    assert isinstance(wsgi.application, QueueFront)
    for view in (apis.ProjectNextApi, apis.ItemAnnotationCreateApi):
        assert view.throttle_classes == []
        assert [c.__name__ for c in view.permission_classes] == ["IsAuthenticated"]
        assert [c.__module__ for c in view.authentication_classes][0] == "tenancy.authentication"


def test_only_the_projects_plain_annotators_take_the_fast_path(world, api, monkeypatch):
    """A superuser (an operator whatever its membership) or an inactive user is the full
    stack's to judge, even when assigned as an annotator."""
    called = []
    original = apis.ProjectNextApi.post
    monkeypatch.setattr(
        apis.ProjectNextApi,
        "post",
        lambda self, *a, **k: called.append(self.request.user.pk) or original(self, *a, **k),
    )
    person = world.users[Role.ANNOTATOR]
    url = f"/api/v1/projects/{world.a.project.pk}/next/"
    client = api.as_user(person)
    assert client.post(url).status_code == 200 and called == []
    person.is_superuser = True
    person.save(update_fields=["is_superuser"])
    assert client.post(url).status_code == 200 and called == [person.pk]
    person.is_superuser, person.is_active = False, False
    person.save(update_fields=["is_superuser", "is_active"])
    refused = client.post(url)
    assert refused.status_code == 401 and called == [person.pk]  # DRF refused before the view
    assert refused.json() == {"detail": "User inactive or deleted."}


def _environ(path, body=b"", *, token, host="testserver", scheme="http") -> dict:
    """A request's WSGI environ, as gunicorn makes it."""
    environ = Client()._base_environ(
        PATH_INFO=path,
        REQUEST_METHOD="POST",
        CONTENT_TYPE="application/json",
        CONTENT_LENGTH=str(len(body)),
        HTTP_AUTHORIZATION=f"Token {token}",
        HTTP_HOST=host,
    )
    environ["wsgi.input"] = io.BytesIO(body)
    environ["wsgi.url_scheme"] = scheme
    return environ


def _wsgi(path, body=b"", **kwargs):
    """The answer of config.wsgi.application, gunicorn's."""
    started = {}
    chunks = wsgi.application(
        _environ(path, body, **kwargs), lambda status, headers: started.update(s=status, h=headers)
    )
    content = b"".join(chunks)
    getattr(chunks, "close", lambda: None)()
    return started["s"], dict(started["h"]), content


@pytest.fixture
def connections_kept():
    """Django's WSGI handler closes old connections around each request: not the test's own,
    which holds its transaction (the test client keeps it the same way)."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.mark.usefixtures("connections_kept")
def test_the_wsgi_front_answers_and_hands_on_with_the_body_intact(world, settings):
    token = Token.objects.get_or_create(user=world.users[Role.ANNOTATOR])[0].key
    status, headers, content = _wsgi(f"/api/v1/projects/{world.a.project.pk}/next/", token=token)
    assert status == "200 OK"
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
    assert int(headers["Content-Length"]) == len(content) and b'"item"' in content
    # A label outside the set: Django's view reads the same body and names the problem.
    path = f"/api/v1/items/{world.a.item.pk}/annotations/"
    status, _, content = _wsgi(path, b'{"label": "maybe"}', token=token)
    assert status == "400 Bad Request" and b"maybe" in content
    # Django's own checks come first: the allowed hosts, the SSL redirect. (Django answers
    # those; its handler's middleware read the settings at start, so these ask the front.)
    body = b'{"label": "positive"}'
    assert fastpath.answer(_environ(path, body, token=token, host="evil.example")) is None
    settings.SECURE_SSL_REDIRECT = True
    assert fastpath.answer(_environ(path, body, token=token)) is None
    assert not Annotation.objects.filter(item=world.a.item).exists()
    settings.SECURE_HSTS_SECONDS = 3600
    answer = fastpath.answer(_environ(path, body, token=token, scheme="https"))
    assert answer.status == 201
    assert dict(answer.headers)["Strict-Transport-Security"].startswith("max-age=3600")


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0]}")
    return client


@pytest.mark.django_db(transaction=True)
def test_annotators_racing_through_the_front_never_share_the_last_slot(world):
    """Two real connections (one per thread) ask for the next task at the same moment, many
    times; each item is labeled once, each completion counted once, and consensus (run as
    each completion commits) decides every item."""
    project = fresh_project(world, overlap=1)
    items = ItemFactory.create_batch(12, dataset__project=project)
    users = [world.users[Role.ANNOTATOR], world.spare_annotator]
    claimed: list = []
    barrier = threading.Barrier(2)

    def work(user):
        client = _client(user)
        try:
            for _ in items:
                barrier.wait(timeout=10)
                task = client.post(f"/api/v1/projects/{project.pk}/next/")
                if task.status_code == 200:
                    item = task.json()["item"]
                    claimed.append(item)
                    client.post(f"/api/v1/items/{item}/annotations/", {"label": "a"}, "json")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(claimed) == sorted(item.pk for item in items)  # each exactly once
    assert all(Annotation.objects.filter(item=item).count() == 1 for item in items)
    assert set(Item.objects.filter(project=project).values_list("label", flat=True)) == {"a"}
    usage = DailyUsage.objects.get(project=project)
    assert (usage.annotations, usage.items_completed) == (12, 12)


@pytest.mark.django_db(transaction=True)
def test_the_same_submission_twice_at_once_through_the_front_makes_one_label(world):
    """A client retrying while its first request is still running: one 201, one 409."""
    project = fresh_project(world, overlap=2)
    user = world.users[Role.ANNOTATOR]
    items = ItemFactory.create_batch(8, dataset__project=project)
    statuses: list = []

    def submit(item):
        response = _client(user).post(
            f"/api/v1/items/{item.pk}/annotations/", {"label": "b"}, "json"
        )
        statuses.append(response.status_code)

    twice_at_once(items, submit)
    assert sorted(statuses) == [201] * 8 + [409] * 8
    assert DailyUsage.objects.get(project=project).annotations == 8
