"""Failed logins lock the account and the address: the token endpoint, the login page and the
admin's login answer 429 with Retry-After (the pages with their message), the right password
included, until the lockout's window ends (tenancy.logins)."""

import threading
import time

import pytest
from django.db import connections
from django.test import Client
from rest_framework.authtoken.models import Token

from tenancy.models import AuditEvent, Role

from ..factories import PASSWORD
from ..test_runtime import PRODUCTION_ENV, run_python

TOKEN = "/api/v1/auth/token/"
LOGIN = "/accounts/login/"
ACCOUNT, ADDRESS = "login_failures_per_account", "login_failures_per_address"


def token(api, username, password, address="127.0.0.1"):
    body = {"username": username, "password": password}
    return api.post(TOKEN, body, format="json", REMOTE_ADDR=address)


def events() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("event", flat=True))


def test_five_failures_lock_the_account_and_the_right_password_is_refused(world, api):
    user = world.users[Role.CLIENT_ADMIN]

    answers = [token(api, user.username, f"wrong-{n}") for n in range(5)]

    assert [a.status_code for a in answers] == [400, 400, 400, 400, 429]
    assert answers[0].json() == {
        "non_field_errors": ["Unable to log in with provided credentials."]
    }
    locked = answers[-1]
    assert locked.json()["limit"] == ACCOUNT
    assert 0 < int(locked["Retry-After"]) <= 15 * 60 + 1
    assert locked.json()["retry_after"] == int(locked["Retry-After"])

    right = token(api, user.username, PASSWORD)

    assert right.status_code == 429
    assert right.json()["limit"] == ACCOUNT
    assert "even with the right password" in right.json()["detail"]
    assert not Token.objects.filter(user=user).exists()  # no token was handed out
    assert events() == ["login_failed"] * 5 + ["lockout", "login_refused"]
    failed = AuditEvent.objects.filter(event="login_failed").first()
    assert failed.actor_id == user.pk
    assert failed.actor_name == user.username
    assert failed.organization_id == world.a.organization.pk
    assert failed.address == "127.0.0.1"
    assert failed.route == "api-auth-token"
    assert failed.verdict == "failed"
    lockout = AuditEvent.objects.get(event="lockout")
    assert lockout.verdict == "locked"
    assert lockout.detail["limit"] == ACCOUNT


def test_a_locked_account_does_not_lock_another(world, api):
    locked, other = world.users[Role.CLIENT_ADMIN], world.users[Role.CLIENT_VIEWER]
    for n in range(5):
        token(api, locked.username, f"wrong-{n}")

    answer = token(api, other.username, PASSWORD)

    assert answer.status_code == 200
    assert answer.json()["token"] == Token.objects.get(user=other).key


def test_an_unknown_username_is_locked_the_same_way(world, api):
    answers = [token(api, "nobody-at-all", f"guess-{n}") for n in range(6)]

    assert [a.status_code for a in answers] == [400, 400, 400, 400, 429, 429]
    assert answers[-1].json()["limit"] == ACCOUNT
    assert AuditEvent.objects.filter(actor_name="nobody-at-all", actor_id=None).count() == 7


def test_the_username_counts_whatever_its_case(world, api):
    user = world.users[Role.CLIENT_ADMIN]
    for n in range(5):
        token(api, user.username.upper() if n % 2 else user.username, f"wrong-{n}")

    assert token(api, user.username, PASSWORD).status_code == 429


def test_failures_across_accounts_lock_the_address(world, api, settings):
    settings.LQA_LOGIN_LIMITS_ADDRESS = ["3/15m"]
    names = ["someone-1", "someone-2", "someone-3"]

    answers = [token(api, name, "wrong", address="203.0.113.9") for name in names]

    assert [a.status_code for a in answers] == [400, 400, 429]
    assert answers[-1].json()["limit"] == ADDRESS
    user = world.users[Role.CLIENT_VIEWER]
    refused = token(api, user.username, PASSWORD, address="203.0.113.9")
    assert refused.status_code == 429
    assert refused.json()["limit"] == ADDRESS
    assert not Token.objects.filter(user=user).exists()
    assert token(api, user.username, PASSWORD, address="203.0.113.10").status_code == 200


def test_an_ipv6_network_counts_as_one_address(world, api, settings):
    settings.LQA_LOGIN_LIMITS_ADDRESS = ["2/15m"]
    token(api, "someone-1", "wrong", address="2001:db8::1")

    answer = token(api, "someone-2", "wrong", address="2001:db8::ffff")

    assert answer.status_code == 429
    assert answer.json()["limit"] == ADDRESS


def test_successful_logins_are_not_failures(world, api):
    user = world.users[Role.CLIENT_ADMIN]
    for _ in range(6):
        assert token(api, user.username, PASSWORD).status_code == 200

    assert [token(api, user.username, "wrong").status_code for _ in range(4)] == [400] * 4
    assert token(api, user.username, PASSWORD).status_code == 200


def test_a_lockout_ends_with_its_window(world, api, settings):
    settings.LQA_LOGIN_LIMITS_ACCOUNT = ["2/2s"]
    user = world.users[Role.CLIENT_ADMIN]
    token(api, user.username, "wrong")
    locked = token(api, user.username, "wrong")
    assert locked.status_code == 429
    wait = int(locked["Retry-After"])
    assert 1 <= wait <= 3
    assert token(api, user.username, PASSWORD).status_code == 429

    time.sleep(wait)

    answer = token(api, user.username, PASSWORD)
    assert answer.status_code == 200
    assert answer.json()["token"] == Token.objects.get(user=user).key


@pytest.mark.django_db(transaction=True)
def test_concurrent_guesses_past_the_limit_are_refused_unchecked(world):
    """Each attempt is counted before its password is checked: of 12 guesses sent at once,
    only the first 5 are checked at all."""
    user = world.users[Role.CLIENT_ADMIN]
    start = threading.Barrier(12)
    statuses = []

    def guess(n):
        try:
            start.wait()
            body = {"username": user.username, "password": f"guess-{n}"}
            statuses.append(Client().post(TOKEN, body, content_type="application/json").status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [400] * 4 + [429] * 8
    assert AuditEvent.objects.filter(event="login_failed").count() == 5


# --- the login page -------------------------------------------------------------------------


def login(client, username, password, address="127.0.0.1"):
    body = {"username": username, "password": password}
    return client.post(LOGIN, body, REMOTE_ADDR=address)


def test_the_login_page_answers_a_lockout_with_its_styled_429(world, client):
    user = world.users[Role.CLIENT_ADMIN]
    answers = [login(client, user.username, f"wrong-{n}") for n in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 429]
    assert b"did not match" in answers[0].content

    right = login(client, user.username, PASSWORD)

    assert right.status_code == 429
    assert 0 < int(right["Retry-After"]) <= 15 * 60 + 1
    html = right.content.decode()
    assert 'data-testid="lockout"' in html
    assert "even with the right password" in html
    assert "css/app.css" in html  # the site's page, not a bare 429
    assert 'name="username"' in html  # with its form
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302  # still logged out
    assert events() == ["login_failed"] * 5 + ["lockout", "login_refused"]
    assert AuditEvent.objects.filter(route="login").count() == 7


def test_the_login_page_logs_in_under_the_limit(world, client):
    user = world.users[Role.CLIENT_ADMIN]
    login(client, user.username, "wrong")

    answer = login(client, user.username, PASSWORD)

    assert answer.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_the_page_and_the_token_endpoint_count_together(world, client, api):
    user = world.users[Role.CLIENT_ADMIN]
    for n in range(4):
        login(client, user.username, f"wrong-{n}")

    assert token(api, user.username, "wrong").status_code == 429
    assert login(client, user.username, PASSWORD).status_code == 429


def test_the_admin_login_is_locked_too(world, client):
    operator = world.users[Role.OPERATOR]
    for n in range(5):
        client.post("/admin/login/", {"username": operator.username, "password": f"wrong-{n}"})

    answer = client.post("/admin/login/", {"username": operator.username, "password": PASSWORD})

    assert "even with the right password" in answer.content.decode()
    assert "_auth_user_id" not in client.session


CACHE = (
    "import django; django.setup(); from django.conf import settings as s; "
    "c = s.CACHES['default']; print(c['BACKEND'].rsplit('.', 1)[-1], c.get('LOCATION', '-'))"
)


def test_the_cache_is_the_brokers_redis_in_production_and_memory_without_one():
    """The counters must be seen by every web process: with a Redis broker the cache is that
    server's database 2 (or LQA_CACHE_URL); the demo (no broker, one process) keeps them in
    memory."""
    production = run_python(CACHE, PRODUCTION_ENV)
    assert production.returncode == 0, production.stderr
    assert production.stdout.split() == ["RedisCache", "redis://127.0.0.1:6379/2"]
    own = run_python(CACHE, {**PRODUCTION_ENV, "LQA_CACHE_URL": "redis://cache.internal:6379/5"})
    assert own.stdout.split() == ["RedisCache", "redis://cache.internal:6379/5"]
    demo = run_python(CACHE, {"DJANGO_DEBUG": "1"})  # the demo: debug, no broker
    assert demo.stdout.split() == ["LocMemCache", "-"]
