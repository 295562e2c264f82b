"""A database or task broker that is unavailable: which errors say so, and the answer (503 with
Retry-After, never a 500). The API's exception handler (core.api) and the pages' middleware
(core.middleware) both answer through here."""

from __future__ import annotations

import logging

import psycopg
import redis.exceptions
from django.db import InterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from kombu.exceptions import OperationalError as BrokerOperationalError

logger = logging.getLogger(__name__)

# Seconds a client is asked to wait: a restart of either service takes a few.
RETRY_AFTER = 5

_DATABASE = (DatabaseOperationalError, InterfaceError, psycopg.OperationalError,
             psycopg.InterfaceError)  # fmt: skip
# kombu's error is what publishing raises when it cannot reach the broker; redis-py's are the
# broker's Redis used directly (qa.pending's marks).
_BROKER = (BrokerOperationalError, redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
SERVICES = {"database": "The database", "task broker": "The task broker"}


def service_of(exc: BaseException | None) -> str | None:
    """'database' or 'task broker' when `exc` says that service is unavailable, else None.
    (The database's OperationalErrors include lost connections, restarts, timeouts and
    serialization failures: each is worth a retry.)"""
    if isinstance(exc, _DATABASE):
        return "database"
    if isinstance(exc, _BROKER):
        return "task broker"
    return None


def detail(service: str) -> str:
    return f"{SERVICES[service]} is unavailable right now; try again in a few seconds."


def body(service: str) -> dict:
    return {"detail": detail(service), "retry_after": RETRY_AFTER}


def headers() -> dict:
    return {"Retry-After": str(RETRY_AFTER)}


def log(service: str, exc: BaseException, path: str) -> None:
    logger.warning(
        "service_unavailable", extra={"service": service, "path": path, "error": repr(exc)[:300]}
    )


def response(request, service: str) -> HttpResponse:
    """The 503 for any request: JSON under /api/, otherwise the page. The page is rendered
    without the request's context (its processors read the user from the database)."""
    if request.path.startswith("/api/"):
        return JsonResponse(body(service), status=503, headers=headers())
    html = render_to_string("503.html", {"service": SERVICES[service], "retry_after": RETRY_AFTER})
    return HttpResponse(html, status=503, headers=headers())
