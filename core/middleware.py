"""The outermost middleware: a database or broker that is unavailable answers 503 with
Retry-After on every route (the styled "try again shortly" page, or JSON under /api/), never a
500; and a kept database connection that its server closed (a restart) is dropped before the
request uses it, so the first request after a restart does not fail on it."""

from __future__ import annotations

import select
import sys

from django.db import connections

from . import unavailable


class ServiceUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        connections_drop_closed()
        response = self.get_response(request)
        service = getattr(request, "unavailable_service", None)
        if service is not None and response.status_code == 500:
            # raised by another middleware (the session's save, say): Django made it a 500
            return unavailable.response(request, service)
        return response

    def process_exception(self, request, exception):
        service = unavailable.service_of(exception)
        if service is None:
            return None
        unavailable.log(service, exception, request.path)
        return unavailable.response(request, service)


def remember_unavailable(sender, request=None, **kwargs) -> None:
    """got_request_exception: Django is turning an exception into a 500; note what it was."""
    service = unavailable.service_of(sys.exc_info()[1])
    if service is not None and request is not None:
        request.unavailable_service = service
        unavailable.log(service, sys.exc_info()[1], request.path)


def connections_drop_closed() -> None:
    """Close each kept connection whose server has hung up since its last use: a connection at
    rest has nothing to read, so a readable socket is the server's goodbye (a restart, an idle
    timeout). A poll, no round trip; DATABASE_CONN_HEALTH_CHECKS=1 adds a query per request
    and also catches a connection lost without a word (a network cut)."""
    for connection in connections.all(initialized_only=True):
        raw = connection.connection
        if raw is None or connection.in_atomic_block:
            continue
        try:
            gone = raw.closed or raw.broken or bool(select.select([raw.fileno()], [], [], 0)[0])
        except (OSError, ValueError):  # no socket any more
            gone = True
        if gone:
            connection.close()
