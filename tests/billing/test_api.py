"""The usage and throughput API and pages: filters, validation, isolation between clients,
turnaround targets and their breaches."""

import datetime
import random

import pytest
from django.utils import timezone

from billing import periods, selectors, turnaround
from billing.services import project_sla_set, usage_add
from tenancy import services as tenancy_services
from tenancy.models import Role

D = datetime.date
FIELDS = [
    "day",
    "project",
    "project_name",
    "items_imported",
    "annotations",
    "items_completed",
    "reviews",
    "exported_items",
    "annotator_seconds",
]


def record(side, day, project=None, **counters):
    usage_add(
        organization_id=side.organization.pk,
        project_id=(project or side.project).pk,
        day=day,
        **counters,
    )


@pytest.fixture
def usage(world):
    """Alpha Retail: two projects over early March 2026; Bravo Health: its own."""
    second = tenancy_services.project_create(
        organization=world.a.organization, name="Alpha returns", labels=["ok", "damaged"]
    )
    record(world.a, D(2026, 3, 1), items_imported=100, annotations=30, items_completed=10)
    record(world.a, D(2026, 3, 2), annotations=12, annotator_seconds=60, items_completed=4)
    record(world.a, D(2026, 3, 2), project=second, items_imported=7, exported_items=3)
    record(world.a, D(2026, 3, 5), reviews=2)
    record(world.b, D(2026, 3, 2), items_imported=999, annotations=555)
    return second


def get(api, user, url, **params):
    return api.as_user(user).get(url, params)


def usage_url(side):
    return f"/api/v1/organizations/{side.organization.pk}/usage/"


def test_usage_rows_with_the_contract_fields_in_range(world, api, usage):
    response = get(api, world.users[Role.CLIENT_VIEWER], usage_url(world.a), to="2026-03-04")
    assert response.status_code == 200
    rows = response.json()
    assert all(list(row) == FIELDS for row in rows)
    assert [(r["day"], r["project_name"]) for r in rows] == [
        ("2026-03-01", "Alpha sentiment"),
        ("2026-03-02", "Alpha sentiment"),
        ("2026-03-02", "Alpha returns"),
    ]
    assert rows[1] == {
        "day": "2026-03-02",
        "project": world.a.project.pk,
        "project_name": "Alpha sentiment",
        "items_imported": 0,
        "annotations": 12,
        "items_completed": 4,
        "reviews": 0,
        "exported_items": 0,
        "annotator_seconds": 60,
    }


def test_usage_filters(world, api, usage):
    admin = world.users[Role.CLIENT_ADMIN]
    both_ends = get(api, admin, usage_url(world.a), **{"from": "2026-03-02", "to": "2026-03-05"})
    assert [(r["day"], r["project"]) for r in both_ends.json()] == [
        ("2026-03-02", world.a.project.pk),
        ("2026-03-02", usage.pk),
        ("2026-03-05", world.a.project.pk),
    ]
    one_day = get(api, admin, usage_url(world.a), **{"from": "2026-03-05", "to": "2026-03-05"})
    assert [r["reviews"] for r in one_day.json()] == [2]
    march = {"from": "2026-03-01", "to": "2026-03-31"}
    project = get(api, admin, usage_url(world.a), **march, project=usage.pk)
    assert [(r["day"], r["exported_items"]) for r in project.json()] == [("2026-03-02", 3)]
    # By default: the last 30 days, today included (the world's annotation is today's).
    default = get(api, admin, usage_url(world.a)).json()
    assert [r["day"] for r in default] == [timezone.localdate().isoformat()]


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"from": "2026-3-1"}, {"from": ["Give a date as YYYY-MM-DD."]}),
        ({"to": "2026-02-30"}, {"to": ["Give a date as YYYY-MM-DD."]}),
        (
            {"from": "yesterday", "to": "x"},
            {"from": ["Give a date as YYYY-MM-DD."], "to": ["Give a date as YYYY-MM-DD."]},
        ),
        ({"from": "2026-03-05", "to": "2026-03-01"}, {"to": ["The range ends before it starts."]}),
        ({"from": "2025-01-01", "to": "2026-03-01"}, {"to": ["At most 366 days at a time."]}),
        ({"project": "abc"}, {"project": ["No such project in this organization."]}),
    ],
)
def test_usage_validation_names_the_field(world, api, usage, params, errors):
    response = get(api, world.users[Role.CLIENT_ADMIN], usage_url(world.a), **params)
    assert response.status_code == 400
    assert response.json() == errors


def test_usage_of_another_clients_project_is_a_bad_filter(world, api, usage):
    response = get(
        api, world.users[Role.CLIENT_ADMIN], usage_url(world.a), project=world.b.project.pk
    )
    assert response.status_code == 400
    assert response.json() == {"project": ["No such project in this organization."]}


def test_clients_are_isolated_in_the_api_and_the_pages(world, api, client, usage):
    march = {"from": "2026-03-01", "to": "2026-03-31"}
    for role in (Role.CLIENT_ADMIN, Role.CLIENT_VIEWER):
        user = world.users[role]
        own = get(api, user, usage_url(world.a), **march).json()
        assert {r["project"] for r in own} == {world.a.project.pk, usage.pk}
        assert 999 not in [r["items_imported"] for r in own]
        for path in (
            usage_url(world.b),
            f"/api/v1/organizations/{world.b.organization.pk}/throughput/",
            f"/api/v1/organizations/{world.b.organization.pk}/statements/2026-03/",
            f"/api/v1/organizations/{world.b.organization.pk}/rate-cards/",
        ):
            response = get(api, user, path, **march)
            assert response.status_code == 404, path
            assert "Bravo" not in response.content.decode()
        client.force_login(user)
        for path in (
            f"/organizations/{world.b.organization.pk}/usage/",
            f"/organizations/{world.b.organization.pk}/statements/2026-03/",
            f"/organizations/{world.b.organization.pk}/statements/2026-03/csv/",
        ):
            response = client.get(path)
            assert response.status_code == 404, path
            assert b"Bravo" not in response.content
    # Operators see every client; the vendor itself is not billed.
    operator = world.users[Role.OPERATOR]
    theirs = get(api, operator, usage_url(world.b), **march).json()
    assert [(r["items_imported"], r["annotations"]) for r in theirs] == [(999, 555)]
    vendor = f"/api/v1/organizations/{world.vendor.pk}/usage/"
    assert get(api, operator, vendor).status_code == 404
    # The workforce sees its vendor organization, but no billing: 403; a client's: 404.
    for role in (Role.QA_LEAD, Role.ANNOTATOR):
        assert get(api, world.users[role], vendor).status_code == 403
        assert get(api, world.users[role], usage_url(world.a)).status_code == 404


def test_usage_api_query_count(world, api, usage, django_assert_num_queries):
    caller = api.as_user(world.users[Role.CLIENT_ADMIN])
    # token, user and membership in one read, the organization, the rows: whatever the
    # number of rows
    with django_assert_num_queries(3):
        response = caller.get(usage_url(world.a), {"from": "2026-03-01", "to": "2026-03-31"})
    assert len(response.json()) == 4


# --- throughput -----------------------------------------------------------------------------


@pytest.fixture
def work(world):
    """Alpha sentiment, target 1 h: day 1 all items in 10 min; day 2 two of ten took 2 h (its
    p90 misses); day 3 one of ten did (p90 still 10 min). Two annotators."""
    ann, spare = world.users[Role.ANNOTATOR], world.spare_annotator
    project_sla_set(project=world.a.project, target_hours=1)
    keys = {"organization_id": world.a.organization.pk, "project_id": world.a.project.pk}
    usage_add(**keys, day=D(2026, 3, 1), items_imported=50)
    for day, slow in ((D(2026, 3, 1), 0), (D(2026, 3, 2), 2), (D(2026, 3, 3), 1)):
        usage_add(
            **keys,
            day=day,
            user_id=ann.pk,
            annotations=20,
            annotator_seconds=600,
            items_completed=10,
            turnaround_seconds=[600] * (10 - slow) + [7200] * slow,
        )
        usage_add(**keys, day=day, user_id=spare.pk, annotations=10, annotator_seconds=1200)
    return ann, spare


def test_throughput(world, api, work):
    ann, spare = work
    response = get(
        api,
        world.users[Role.CLIENT_ADMIN],
        f"/api/v1/organizations/{world.a.organization.pk}/throughput/",
        **{"from": "2026-03-01", "to": "2026-03-04"},
    )
    assert response.status_code == 200
    data = response.json()
    assert [(d["day"], d["items_completed"]) for d in data["days"]] == [
        ("2026-03-01", 10),
        ("2026-03-02", 10),
        ("2026-03-03", 10),
        ("2026-03-04", 0),
    ]
    assert data["totals"]["items_completed"] == 30 and data["backlog"] == 20
    ten_minutes = round(turnaround.upper_edge(turnaround.bucket_of(600)), 1)
    two_hours = round(turnaround.upper_edge(turnaround.bucket_of(7200)), 1)
    # 27 of 30 items took 10 minutes: p50 and p90 (the 27th) are both 10 min.
    assert data["turnaround"]["p50_seconds"] == ten_minutes
    assert data["turnaround"]["p90_seconds"] == ten_minutes
    assert data["sla_breaches"] == [
        {
            "day": "2026-03-02",
            "project": world.a.project.pk,
            "project_name": "Alpha sentiment",
            "items_completed": 10,
            "p90_seconds": two_hours,
            "sla_hours": 1,
        }
    ]
    people = data["annotators"]
    assert [(a["username"], a["annotations"], a["annotations_per_hour"]) for a in people] == [
        ("ann", 60, 120.0),
        ("ann.spare", 30, 30.0),
    ]
    [project] = [p for p in data["projects"] if p["project"] == world.a.project.pk]
    assert (project["backlog"], project["sla_hours"], project["sla_breaches"]) == (20, 1, 1)


def test_dashboard_page(world, client, work):
    client.force_login(world.users[Role.CLIENT_VIEWER])
    url = f"/organizations/{world.a.organization.pk}/usage/?from=2026-03-01&to=2026-03-31"
    response = client.get(url)
    assert response.status_code == 200
    text = response.content.decode()
    assert text.count('data-testid="chart-bar"') == 31
    assert text.count('class="bar flagged"') == 1  # 2 March
    assert 'data-day="2026-03-02" data-value="10"' in text
    assert text.count('data-testid="breach-row"') == 1
    assert text.count('data-testid="annotator-row"') == 2
    assert "Statement 2026-03" in text
    bad = client.get(f"/organizations/{world.a.organization.pk}/usage/?from=someday")
    assert bad.status_code == 400
    assert "Give a date as YYYY-MM-DD." in bad.content.decode()


def test_sla_api(world, api):
    url = f"/api/v1/projects/{world.a.project.pk}/sla/"
    operator, viewer = world.users[Role.OPERATOR], world.users[Role.CLIENT_VIEWER]
    assert get(api, viewer, url).json() == {"project": world.a.project.pk, "target_hours": None}
    assert api.as_user(operator).put(url, {"target_hours": 0}, format="json").status_code == 400
    assert api.as_user(operator).put(url, {"target_hours": 36}, format="json").status_code == 200
    assert get(api, viewer, url).json()["target_hours"] == 36
    assert api.as_user(viewer).put(url, {"target_hours": 1}, format="json").status_code == 403
    cleared = api.as_user(operator).put(url, {"target_hours": None}, format="json")
    assert cleared.json() == {"project": world.a.project.pk, "target_hours": None}


def test_the_databases_daily_percentile_is_the_pure_one(world):
    """The breaches come from a running sum in SQL; it must agree with turnaround.percentile."""
    rng = random.Random(5)
    keys = {"organization_id": world.a.organization.pk, "project_id": world.a.project.pk}
    expected = {}
    for n in range(1, 21):
        day = D(2026, 4, n)
        seconds = [rng.lognormvariate(8, 1.5) for _ in range(rng.randint(1, 40))]
        usage_add(**keys, day=day, items_completed=len(seconds), turnaround_seconds=seconds)
        counts = turnaround.histogram(seconds)
        for percent in (50, 90, 99):
            expected[(day, percent)] = turnaround.percentile(counts, percent)
    usage_range = periods.UsageRange(D(2026, 4, 1), D(2026, 4, 30), None)
    for percent in (50, 90, 99):
        rows = selectors._daily_percentile_buckets(
            world.a.organization, usage_range, [world.a.project.pk], percent
        )
        assert len(rows) == 20
        for _, day, bucket, _ in rows:
            assert turnaround.upper_edge(bucket) == expected[(day, percent)], (day, percent)
