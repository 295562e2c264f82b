"""The task queue's two busiest requests, answered in front of Django when nothing is unusual.

`POST projects/{id}/next/` and `POST items/{id}/annotations/` are most of the platform's
traffic: every annotator sends one of each per label. On the 2-core benchmark machine the web
workers' CPU is what limits annotations per second (bench/queue_bench.py), and through Django
and DRF most of it went to the framework: the request cycle and its middleware chain, DRF's
Request, negotiation, permission and rendering passes, model instances, and 5 to 6 round trips
to PostgreSQL per request (the token, BEGIN, the statements, COMMIT).

QueueFront wraps the WSGI application (config/wsgi.py). For these two routes with DRF's token
header it makes one call of a server-side function, in autocommit (labeling_next() or
labeling_submit(), labeling/migrations/0007): the function reads the token, checks that its
person is plainly one of the project's annotators (active, not a superuser, a member as
annotator or QA lead, assigned to the project as an annotator: a sufficient condition for what
tenancy's project_read() and user_may_annotate() allow) and that a submitted label is plainly
in the set, and then claims or records as the queue's services do on PostgreSQL
(labeling_claim(), labeling_submission()). The answer is
rendered as the API view renders it, with the headers that Django's middleware would add
(SecurityMiddleware, CommonMiddleware, XFrameOptionsMiddleware; the others add none to these
answers), and their checks applied first (the SSL redirect, the allowed hosts).

Anything else goes to Django untouched and is answered as it always is: another method or
route, another scheme or a malformed header, a caller the function does not vouch for, a body
the API's serializer would question or convert, a label outside the set, a conflict, a database
error. The function wrote nothing in those cases (its outcome says so, or it failed as one
statement), so the rules and the errors keep one implementation.

The test suite's requests go through this front (tests/conftest.py); tests/labeling/
test_queue_fastpath.py compares its answers with Django's and checks which ones it gives.
"""

from __future__ import annotations

import io
import logging
import random
import re
from collections.abc import Callable
from http.client import responses
from typing import NamedTuple

import orjson
from django.conf import settings
from django.core.handlers.wsgi import WSGIRequest
from django.core.signals import setting_changed
from django.db import DatabaseError, connections, transaction
from django.dispatch import receiver
from django.http import HttpResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.common import CommonMiddleware
from django.middleware.security import SecurityMiddleware
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from . import apis, queue
from .queue import postgres
from .signals import items_completed

logger = logging.getLogger(__name__)

_RENDERER = JSONRenderer()
# What DRF's views add to every answer (APIView.finalize_response, the Vary of content
# negotiation).
_HEADERS = {"Allow": "POST, OPTIONS", "Vary": "Accept"}
DURATION_MAX_MS = 86_400_000  # AnnotationInput.duration_ms
# Postgres' bigint: a larger id in the path is the full stack's 404, not an overflow here.
ID_MAX = 2**63 - 1


def _answer(payload, status: int) -> tuple[int, bytes]:
    """(status, body) as DRF renders the payload; no payload, no body (a 204)."""
    return status, b"" if payload is None else _RENDERER.render(payload)


def _next(cursor, request, key: str, project_id: int):
    # Both draws always: lease_next() draws each only when the project asks for it.
    return postgres.next_for_token(
        cursor,
        key=key,
        project_id=project_id,
        now=timezone.now(),
        gold_draw=random.random(),
        blind_draw=random.random(),
        attempts=queue.CLAIM_ATTEMPTS,
    )


def _task(task: postgres.Task, project_id: int) -> tuple[int, bytes]:
    if task.lease_id is None:
        return _answer(None, 204)
    prelabel = None
    if task.shown:
        prelabel = {
            "label": postgres.json_loaded(task.prelabel),
            "confidence": task.prelabel_confidence,
        }
    payload = apis.task_representation(
        item_id=task.item_id,
        data=postgres.json_loaded(task.data),
        prelabel=prelabel,
        lease_expires=task.expires_at,
    )
    return _answer(payload, 200)


def _submission(request) -> tuple | None:
    """(label, duration_ms) of a body that AnnotationInput would take as it is; None for
    anything it would question or convert (null, strings for numbers, booleans...)."""
    if request.content_type != "application/json" or request.content_params.get(
        "charset", "utf-8"
    ).lower() not in ("utf-8", "utf8"):
        return None
    try:
        body = orjson.loads(request.body)
    except ValueError:
        return None
    if not isinstance(body, dict) or body.get("label") is None:
        return None
    duration = body.get("duration_ms")
    if "duration_ms" in body and not (type(duration) is int and 0 <= duration <= DURATION_MAX_MS):
        return None
    return body["label"], duration


def _submit(cursor, request, key: str, item_id: int):
    submission = _submission(request)
    if submission is None:
        return None
    label, duration_ms = submission
    now = timezone.now()
    done = postgres.submit_for_token(
        cursor,
        key=key,
        item_id=item_id,
        label_json=orjson.dumps(label).decode(),
        duration_ms=duration_ms,
        now=now,
        day=timezone.localdate(now),
    )
    return done if done.outcome == "ok" else None


def _submitted(done: postgres.Submitted, item_id: int) -> tuple[int, bytes]:
    if done.completes:  # as annotation_submit() does (in autocommit: at once)
        transaction.on_commit(
            lambda: items_completed.send(
                None,
                organization_id=done.organization_id,
                project_id=done.project_id,
                item_ids=[item_id],
            )
        )
    return _answer({"id": done.annotation_id, "item_status": done.item_status}, 201)


# (route name, its id's keyword, the database call, the answer to its result); the paths come
# from the URLconf (_routes()).
_ROUTED = (
    ("api-next", "project_id", _next, _task),
    ("api-item-annotations", "item_id", _submit, _submitted),
)
_ROUTES: list[tuple[re.Pattern, Callable, Callable]] = []


def _routes() -> list[tuple[re.Pattern, Callable, Callable]]:
    """The two routes as patterns of PATH_INFO, made once from reverse()."""
    if not _ROUTES:
        sentinel = 987654321
        for name, keyword, call, respond in _ROUTED:
            path = reverse(name, kwargs={keyword: sentinel})[len(get_script_prefix()) - 1 :]
            pattern = re.escape(path).replace(str(sentinel), "([0-9]+)")
            _ROUTES.append((re.compile(pattern + r"\Z"), call, respond))
    return _ROUTES


def _noop(request):  # the middlewares below are used for their hooks only
    return None


# Django's middleware that checks these requests or adds headers to their answers (the others
# in settings.MIDDLEWARE do neither for a token-authenticated API call), made once, and the
# headers they add to each kind of answer, which depend on the settings alone: both made again
# when a setting changes (tests).
_MADE: dict = {}


@receiver(setting_changed)
def _forget(**kwargs) -> None:
    _MADE.clear()


def _middleware() -> tuple:
    if "middleware" not in _MADE:
        _MADE["middleware"] = (
            SecurityMiddleware(_noop),
            CommonMiddleware(_noop),
            XFrameOptionsMiddleware(_noop),
        )
    return _MADE["middleware"]


def _head(request, status: int) -> list[tuple[str, str]]:
    """The headers of an answer with this status, but its Content-Length: DRF's (the view's
    Allow, negotiation's Vary, the JSON Content-Type but on a 204), then the middleware's,
    innermost first as Django's handler applies them."""
    key = (status, request.is_secure())
    if key not in _MADE:
        response = HttpResponse(status=status, content_type="application/json")
        if status == 204:  # DRF sends no Content-Type without a body
            del response["Content-Type"]
        for name, value in _HEADERS.items():
            response[name] = value
        security, common, xframe = _middleware()
        for middleware in (xframe, common, security):
            response = middleware.process_response(request, response)
        _MADE[key] = [(k, v) for k, v in response.items() if k != "Content-Length"]
    return _MADE[key]


class Answer(NamedTuple):
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    request: WSGIRequest


def answer(environ: dict) -> Answer | None:
    """The answer to a WSGI request of the two routes, or None: Django's to answer. Reading a
    body leaves a fresh copy of it in the environ."""
    if environ.get("REQUEST_METHOD") != "POST" or not settings.LABELING_FAST_PATH:
        return None
    path = environ.get("PATH_INFO", "")
    for pattern, route_call, route_respond in _routes():
        if match := pattern.match(path):
            call, respond = route_call, route_respond
            break
    else:
        return None
    # DRF's token scheme, only in the form every client sends: anything else (another
    # scheme, a malformed header) is the full stack's to answer.
    scheme, _, key = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    object_id = int(match[1])
    if scheme != "Token" or not key or " " in key or object_id > ID_MAX:
        return None
    connection = connections["default"]
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)  # for Django, if it is Django's to answer
    request = WSGIRequest(environ)
    request._body = body
    security, common, _ = _middleware()
    try:  # the SSL redirect, the allowed hosts, refused user agents, PREPEND_WWW
        if security.process_request(request) or common.process_request(request):
            return None
    except Exception:  # DisallowedHost, PermissionDenied: Django answers them
        return None
    # What Django's request cycle does around each request (request_started and _finished,
    # whose only other receivers reset the DEBUG query log and close caches, none here): a
    # connection in error or past its age (CONN_MAX_AGE) is closed, and the next statement
    # opens a new one. (Not inside a transaction: only a test's requests run in one, and its
    # test client skips this too.)
    if not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()
    try:
        with connection.cursor() as cursor:
            result = call(cursor, request, key, object_id)
    except DatabaseError:
        # One statement in autocommit: it failed whole, nothing was written.
        logger.warning("queue fast path: database error, handed to Django", exc_info=True)
        return None
    if result is None:
        return None
    status, content = respond(result, object_id)
    headers = [*_head(request, status), ("Content-Length", str(len(content)))]
    return Answer(status, headers, content, request)


def answer_response(environ: dict) -> HttpResponse | None:
    """answer() as Django's test client takes it (tests/conftest.py)."""
    found = answer(environ)
    if found is None:
        return None
    response = HttpResponse(found.body, status=found.status)
    del response["Content-Type"]
    for name, value in found.headers:
        response[name] = value
    response.wsgi_request = found.request
    return response


class QueueFront:
    """WSGI: answer() first, Django for everything else."""

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        found = answer(environ)
        if found is None:
            return self.application(environ, start_response)
        start_response(f"{found.status} {responses[found.status]}", found.headers)
        return [found.body]
