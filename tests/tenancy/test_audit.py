"""The security audit log (tenancy.audit): 403s and the 404s that hid another tenant's object,
from the API and the pages, each written once; rows never change; operators read them through
`GET audit-events/` and the /audit/ page, everyone else is told they do not exist."""

import pytest
from django.db import connection, transaction

from tenancy.audit import audit_record
from tenancy.models import AppendOnly, AuditEvent, Role

from ..factories import AuditEventFactory

OP, ADMIN, VIEWER, ANN = Role.OPERATOR, Role.CLIENT_ADMIN, Role.CLIENT_VIEWER, Role.ANNOTATOR


def only_event() -> AuditEvent:
    events = list(AuditEvent.objects.all())
    assert len(events) == 1, [(e.event, e.route) for e in events]
    return events[0]


def test_an_api_404_for_another_tenants_project_is_recorded_once(world, api):
    user = world.users[ADMIN]

    answer = api.as_user(user).get(f"/api/v1/projects/{world.b.project.pk}/")

    assert answer.status_code == 404
    event = only_event()
    assert (event.event, event.verdict) == ("cross_tenant", "not_found")
    assert (event.actor_id, event.actor_name) == (user.pk, user.username)
    assert event.organization_id == world.a.organization.pk
    assert (event.target_type, event.target_id) == ("project", str(world.b.project.pk))
    assert event.target_organization_id == world.b.organization.pk
    assert (event.method, event.route) == ("GET", "api-project-detail")
    assert event.path == f"/api/v1/projects/{world.b.project.pk}/"
    assert event.address == "127.0.0.1"
    assert event.created_at is not None


def test_a_404_for_what_does_not_exist_is_no_event(world, api):
    answer = api.as_user(world.users[ADMIN]).get("/api/v1/projects/987654321/")

    assert answer.status_code == 404
    assert not AuditEvent.objects.exists()


def test_a_nested_object_of_another_tenant_is_the_target(world, api):
    url = f"/api/v1/projects/{world.a.project.pk}/workforce/{world.b.assignment.pk}/"

    answer = api.as_user(world.users[OP]).delete(url)

    assert answer.status_code == 404
    event = only_event()
    assert (event.target_type, event.target_id) == ("projectassignment", str(world.b.assignment.pk))
    assert event.target_organization_id == world.b.organization.pk


def test_an_api_403_is_recorded_with_its_target(world, api):
    user = world.users[VIEWER]

    answer = api.as_user(user).patch(
        f"/api/v1/projects/{world.a.project.pk}/", {"instructions": "x"}, format="json"
    )

    assert answer.status_code == 403
    event = only_event()
    assert (event.event, event.verdict) == ("forbidden", "forbidden")
    assert event.actor_id == user.pk
    assert (event.target_type, event.target_id) == ("project", str(world.a.project.pk))
    assert event.target_organization_id == world.a.organization.pk
    assert (event.method, event.route) == ("PATCH", "api-project-detail")


def test_a_page_404_for_another_tenants_object_is_recorded_once(world, client):
    client.force_login(world.users[ANN])

    answer = client.get(f"/projects/{world.b.project.pk}/")

    assert answer.status_code == 404
    event = only_event()
    assert (event.event, event.route) == ("cross_tenant", "project-detail")
    assert event.organization_id == world.vendor.pk
    assert event.target_organization_id == world.b.organization.pk


def test_a_page_403_is_recorded_once(world, client):
    client.force_login(world.users[ADMIN])

    answer = client.get("/status/")

    assert answer.status_code == 403
    event = only_event()
    assert (event.event, event.route, event.target_type) == ("forbidden", "system-status", "")


def test_anonymous_callers_are_no_event(world, api, client):
    assert api.get(f"/api/v1/projects/{world.b.project.pk}/").status_code == 401
    assert client.get(f"/projects/{world.b.project.pk}/").status_code == 302
    assert not AuditEvent.objects.exists()


def test_events_are_never_changed_or_deleted(world):
    event = audit_record(event="forbidden", verdict="forbidden", actor=world.users[ADMIN])
    assert event.pk is not None

    event.verdict = "failed"
    with pytest.raises(AppendOnly):
        event.save()
    with pytest.raises(AppendOnly):
        event.delete()
    with pytest.raises(AppendOnly):
        AuditEvent.objects.filter(pk=event.pk).update(verdict="failed")
    with pytest.raises(AppendOnly):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(AppendOnly), transaction.atomic():
        AuditEvent.objects.bulk_update([event], ["verdict"])
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT verdict FROM "{AuditEvent._meta.db_table}" WHERE id = %s', [event.pk]
        )
        assert cursor.fetchone() == ("forbidden",)


# --- reading the log --------------------------------------------------------------------------


def test_operators_read_and_filter_the_log(world, api):
    a, b = world.a.organization.pk, world.b.organization.pk
    old = AuditEventFactory(
        event="lockout", verdict="locked", actor_name="mallory", organization_id=a
    )
    login = AuditEventFactory(actor_name="mallory", organization_id=a)
    denied = AuditEventFactory(
        event="cross_tenant",
        verdict="not_found",
        actor_id=7,
        organization_id=a,
        target_organization_id=b,
    )
    client = api.as_user(world.users[OP])

    def ids(query=""):
        answer = client.get(f"/api/v1/audit-events/{query}")
        assert answer.status_code == 200, answer.content
        return [row["id"] for row in answer.json()["results"]]

    assert ids() == [denied.pk, login.pk, old.pk]
    assert ids("?event=lockout") == [old.pk]
    assert ids("?verdict=not_found") == [denied.pk]
    assert ids("?actor=MALLORY") == [login.pk, old.pk]
    assert ids("?actor=7") == [denied.pk]
    assert ids(f"?organization={b}") == [denied.pk]  # as the target's tenant
    today = denied.created_at.date().isoformat()
    assert ids(f"?from={today}&to={today}") == [denied.pk, login.pk, old.pk]
    assert ids("?to=2000-01-01") == []
    assert ids("?from=2100-12-31&to=2100-12-31") == []  # the supported range's last day
    row = client.get("/api/v1/audit-events/?event=cross_tenant").json()["results"][0]
    assert row["target_organization_id"] == b
    assert row["address"] == "192.0.2.1"


def test_the_log_pages_with_a_cursor(world, api):
    made = [AuditEventFactory() for _ in range(5)]
    client = api.as_user(world.users[OP])

    first = client.get("/api/v1/audit-events/?limit=2").json()
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()

    newest_first = [e.pk for e in reversed(made)]
    seen = [r["id"] for page in (first, second, third) for r in page["results"]]
    assert seen == newest_first
    assert third["next"] is None


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("?organization=%C2%B2", "organization"),  # a Unicode digit
        ("?organization=12x", "organization"),
        ("?limit=%E2%91%A0", "limit"),
        ("?limit=0", "limit"),
        ("?limit=501", "limit"),
        ("?cursor=abc", "cursor"),
        ("?from=2026-02-30", "from"),
        ("?to=0001-1-5", "to"),
        ("?from=2026-03-02&to=2026-03-01", "to"),
        ("?event=coffee", "event"),
        ("?verdict=maybe", "verdict"),
    ],
)
def test_bad_filters_are_refused_naming_them(world, api, query, param):
    answer = api.as_user(world.users[OP]).get(f"/api/v1/audit-events/{query}")

    assert answer.status_code == 400
    assert list(answer.json()) == [param]


@pytest.mark.parametrize("role", [ADMIN, VIEWER, Role.QA_LEAD, ANN])
def test_everyone_else_is_told_the_log_does_not_exist(world, api, client, role):
    AuditEventFactory(actor_name="mallory")
    client.force_login(world.users[role])

    assert api.as_user(world.users[role]).get("/api/v1/audit-events/").status_code == 404
    page = client.get("/audit/")
    assert page.status_code == 404
    assert b"mallory" not in page.content


def test_the_operators_page_shows_the_log_and_is_linked_from_status(world, client):
    AuditEventFactory(
        actor_name="mallory",
        event="lockout",
        verdict="locked",
        detail={"limit": "login_failures_per_account"},
    )
    client.force_login(world.users[OP])

    page = client.get("/audit/?event=lockout")

    assert page.status_code == 200
    html = page.content.decode()
    assert "mallory" in html
    assert "login_failures_per_account" in html
    assert client.get("/audit/?event=login_failed").content.decode().count("mallory") == 0
    assert client.get("/audit/?from=2026-02-30").status_code == 400
    assert 'href="/audit/"' in client.get("/status/").content.decode()
