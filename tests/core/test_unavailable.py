"""A database that cannot be reached answers 503 with Retry-After on every route (JSON under
/api/, the "try again shortly" page elsewhere), never a 500; and a kept connection that its
server closed does not fail the next request (core/unavailable.py, core/middleware.py)."""

import select
import socket
import threading
import time

import pytest
from django.db import connection, connections
from django.db.utils import load_backend
from django.test import Client
from rest_framework.test import APIClient

from tenancy.models import Role

from ..factories import TokenFactory
from ..tenancy.test_route_matrix import CASES, PATH_VALUES, ROUTES, SPECS

OP = Role.OPERATOR


def _closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def in_a_thread_without_the_database(call):
    """Run `call` in a thread whose database connection points at a port nobody listens on,
    as a web worker sees a database that is down; its answer."""
    answer: dict = {}
    unreachable = {**connection.settings_dict, "HOST": "127.0.0.1", "PORT": _closed_port()}

    def run():
        wrapper = load_backend(unreachable["ENGINE"]).DatabaseWrapper(unreachable, "default")
        connections["default"] = wrapper
        try:
            answer["response"] = call()
        except Exception as exc:  # re-raised in the test thread, below
            answer["error"] = exc
        finally:
            wrapper.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    if "error" in answer:
        raise answer["error"]
    return answer["response"]


def _answer_without_the_database(world, name: str, method: str):
    route, spec = ROUTES[name], SPECS[name]
    url = route.path({**PATH_VALUES, **world.own_kwargs(OP)})
    body = spec.payloads.get(method, lambda w, r: {})(world, OP)
    if route.is_api:
        client = APIClient(raise_request_exception=False)
        client.credentials(HTTP_AUTHORIZATION=f"Token {TokenFactory(user=world.users[OP]).key}")
        kwargs = {"format": "multipart" if method in spec.multipart else "json"}
    else:
        client = Client(raise_request_exception=False)
        client.force_login(world.users[OP])
        kwargs = {}
    return in_a_thread_without_the_database(lambda: getattr(client, method)(url, body, **kwargs))


def _unlike_a_503(route, response) -> str | None:
    """What is wrong with the answer, None when it is the 503 it should be."""
    if response.status_code != 503:
        return f"answered {response.status_code}"
    if response["Retry-After"] != "5":
        return "no Retry-After"
    if route.is_api:
        expected = {
            "detail": "The database is unavailable right now; try again in a few seconds.",
            "retry_after": 5,
        }
        return None if response.json() == expected else f"body {response.content[:200]}"
    page = response.content.decode()
    if "Try again shortly" not in page or 'data-testid="unavailable"' not in page:
        return "not the try-again page"
    return None if "css/app.css" in page else "not in the site's layout"


def test_every_route_answers_503_when_the_database_is_down(world):
    """Every route and method of the route matrix, as an operator (who may call them all)."""
    wrong = []
    for name, method in CASES:
        response = _answer_without_the_database(world, name, method)
        if SPECS[name].public and response.status_code != 503:
            # a public route that needs no database (the login form, the API schema)
            if response.status_code >= 500:
                wrong.append((name, method, f"answered {response.status_code}"))
            continue
        problem = _unlike_a_503(ROUTES[name], response)
        if problem:
            wrong.append((name, method, problem))
    assert wrong == []
    assert len(CASES) > 50  # the whole matrix was called


@pytest.mark.django_db(transaction=True)
def test_a_kept_connection_the_server_closed_does_not_fail_the_next_request(world, settings):
    """A database restart ends every kept connection; the next request on one notices it at
    its start and connects anew, without a round trip (no health check configured)."""
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is False
    client = Client()
    client.force_login(world.users[OP])
    kept = connection.settings_dict["CONN_MAX_AGE"]
    connection.settings_dict["CONN_MAX_AGE"] = 600
    try:
        assert client.get("/api/v1/me/").status_code == 200
        before = connection.connection.info.backend_pid
        with connections.create_connection("default").cursor() as other:
            other.execute("SELECT pg_terminate_backend(%s)", [before])
        deadline = time.monotonic() + 10  # the server's goodbye reaches the socket
        while not select.select([connection.connection.fileno()], [], [], 0.05)[0]:
            assert time.monotonic() < deadline

        response = client.get("/api/v1/me/")

        assert response.status_code == 200, response.content
        assert response.json()["username"] == world.users[OP].username
        assert connection.connection.info.backend_pid != before
    finally:
        connection.settings_dict["CONN_MAX_AGE"] = kept
