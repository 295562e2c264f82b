"""labeling.middleware: `next` and submissions answered without DRF say exactly what the API
views say, and hand every unusual request to them."""

import pytest
from django.conf import settings
from django.db import transaction

from labeling import apis
from labeling.models import Annotation
from tenancy.models import Role

from ..factories import ItemFactory

FAST = "labeling.middleware.QueueFastPathMiddleware"
pytestmark = pytest.mark.usefixtures("queue_path")  # on both paths of the queue


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


def _run(world, api, extra, answers: list):
    with transaction.atomic():
        for who, path, body, fmt in _requests(world, extra):
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
                    sorted((k, v) for k, v in response.items() if k != "Content-Length"),
                )
            )
        transaction.set_rollback(True)


def test_the_fast_path_answers_as_the_api_views(world, api, settings):
    extra = ItemFactory(dataset=world.a.item.dataset)
    fast: list = []
    _run(world, api, extra, fast)
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != FAST]
    full: list = []
    _run(world, api, extra, full)
    assert [a[1] for a in full] == [200, 200, 403, 404, 401, 400, 400, 400, 400, 400, 201, 409,
                                    403, 404, 200, 201, 204]  # fmt: skip
    assert fast == full


def test_the_usual_requests_never_reach_drf(world, api, monkeypatch):
    """next and a plain submission are answered by the middleware; a conflict is the view's."""
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


def test_the_middleware_is_installed_last_and_skips_nothing_the_views_would_do():
    """Last, so every other middleware's headers apply; and the API views it stands in for
    have no throttles, no extra authentication or permission classes (it would skip them)."""
    assert settings.MIDDLEWARE[-1] == FAST
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
