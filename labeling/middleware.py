"""The task queue's two busiest requests, answered without DRF when nothing is unusual.

`POST projects/{id}/next/` and `POST items/{id}/annotations/` are most of the platform's
traffic: every annotator sends one of each per label. Through DRF each cost about 1 ms of CPU
in the framework alone (the Request wrapper, content negotiation, permission and throttle
passes, the Response's rendering) on top of the work, plus a statement for the token and one
for the project or item; on the 2-core benchmark machine the web workers' CPU is what limits
annotations per second (bench/queue_bench.py).

This middleware answers them when the caller is plainly one of the project's annotators: one
statement reads the token, its user and membership and the project or item, and finds the
person assigned to the project as an annotator (tenancy.authentication.annotator_read, a
sufficient condition for what project_read() and user_may_annotate() would allow). Then the
same services as the API views (labeling.apis) do the work, queue.lease_next() and
queue.annotation_submit(), and the answer is rendered as DRF renders it (task_payload, DRF's
JSONRenderer and headers). Anything else, a missing or invalid token, another scheme, an object
out of that scope, a caller of another role, a body the API's serializer would question or
convert, a conflict or a label outside the set, goes to the full stack untouched, which
answers as it always does: the rules and the errors have one implementation. The services are
atomic, so a request handed on after one of them refused has changed nothing.

The test suite's requests go through this middleware; tests/labeling/test_queue_fastpath.py
compares its answers with the API views' and checks which requests it answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import orjson
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.urls import get_script_prefix, reverse
from rest_framework.renderers import JSONRenderer

from tenancy.authentication import annotator_read

from . import apis, queue, selectors

_RENDERER = JSONRenderer()
# What DRF's views add to every answer (APIView.finalize_response, the Vary of content
# negotiation).
_HEADERS = {"Allow": "POST, OPTIONS", "Vary": "Accept"}
DURATION_MAX_MS = 86_400_000  # AnnotationInput.duration_ms


def _answer(payload, status: int) -> HttpResponse:
    if payload is None:  # 204: DRF sends no body and no Content-Type
        response = HttpResponse(status=status)
        del response["Content-Type"]
    else:
        response = HttpResponse(
            _RENDERER.render(payload), status=status, content_type="application/json"
        )
    for name, value in _HEADERS.items():
        response[name] = value
    return response


def _next(request, key: str, project_id: int) -> HttpResponse | None:
    read = annotator_read(key=key, params=[project_id])
    if read is None:
        return None
    request.user, project, _ = read
    lease = queue.lease_next(project=project, user=request.user)
    if lease is None:
        return _answer(None, 204)
    lease.item.project = project
    return _answer(apis.task_payload(lease), 200)


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


def _submit(request, key: str, item_id: int) -> HttpResponse | None:
    submission = _submission(request)
    if submission is None:
        return None
    found = selectors.item_for_annotator(key=key, item_id=item_id)
    if found is None:
        return None
    request.user, item = found
    label, duration_ms = submission
    try:
        annotation = queue.annotation_submit(
            item=item, user=request.user, label=label, duration_ms=duration_ms
        )
    except (ValidationError, queue.Conflict):
        return None  # rolled back: the API view answers 400 or 409 with its own words
    return _answer({"id": annotation.pk, "item_status": annotation.item.status}, 201)


# (route name, its id's keyword, handler); the paths come from the URLconf (_routes()).
_ROUTED = (("api-next", "project_id", _next), ("api-item-annotations", "item_id", _submit))
_ROUTES: list[tuple[re.Pattern, Callable]] = []


def _routes() -> list[tuple[re.Pattern, Callable]]:
    """The two routes as patterns of request.path_info, made once from reverse(): matching
    them cost a tenth of resolve() over the whole URLconf."""
    if not _ROUTES:
        sentinel = 987654321
        for name, keyword, handler in _ROUTED:
            path = reverse(name, kwargs={keyword: sentinel})[len(get_script_prefix()) - 1 :]
            pattern = re.escape(path).replace(str(sentinel), "([0-9]+)")
            _ROUTES.append((re.compile(pattern + r"\Z"), handler))
    return _ROUTES


# Postgres' bigint: a larger id in the path is the full stack's 404, not an overflow here.
ID_MAX = 2**63 - 1


class QueueFastPathMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST":
            response = self._fast(request)
            if response is not None:
                return response
        return self.get_response(request)

    def _fast(self, request) -> HttpResponse | None:
        handler = match = None
        for pattern, candidate in _routes():
            if match := pattern.match(request.path_info):
                handler = candidate
                break
        if handler is None:
            return None
        # DRF's token scheme, only in the form every client sends: anything else (another
        # scheme, a malformed header) is the full stack's to answer.
        scheme, _, key = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme != "Token" or not key or " " in key or int(match[1]) > ID_MAX:
            return None
        return handler(request, key, int(match[1]))
