"""The route matrix (test_route_matrix.py) with hostile input, for every route and role:
- every object id in the path as Unicode digits ("٣", which Django's int converter refuses)
  and as ASCII digits no bigint holds: 404;
- a statement's month at or beyond the calendar's edge: 400 from the API, 404 from the page;
- every GET with bad query parameters (Unicode digits, dates out of range, a bad cursor, an
  unknown status): 400 naming each parameter the route reads, the route's own answer when it
  reads none; never a 500;
- every API write with a field its body does not have: 400 naming it, and nothing changed.
READS says which query parameters each GET route reads, so a new route must say it too.
"""

import urllib.parse

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model

from core.inputs import UNKNOWN_FIELD

from ..conftest import ROLES
from .test_route_matrix import ROUTES, SPECS, _text, client_for, object_ids

# The query of the review (issue 16), sent to every GET route.
HOSTILE_QUERY = {
    "limit": "①",
    "dataset": "²",
    "from": "0001-01-01",
    "to": "9999-12-31",
    "cursor": "\udcff",  # stands for %FF (invalid UTF-8), encoded by hand below
    "status": "bogus",
    "page": "٣",
}
# A bad value for each parameter some route reads beyond those.
BAD_VALUES = {
    **HOSTILE_QUERY,
    "after": "٣",
    "project": "²",
    "annotator": "①",
    "audit": "٣",
    "organization": "٣",
    "reason": "bogus",
    "table": "bogus",
    "format": "bogus",
}
REPORT_FILTERS = ("from", "to", "dataset", "annotator")
BILLING_RANGE = ("from", "to", "project")
# GET route -> the query parameters it reads (() for none).
READS = {
    "login": (),
    "api-schema": (),
    "api-docs": (),
    "home": (),
    "project-detail": (),
    "system-status": (),
    "api-me": (),
    "api-organization-list": (),
    "api-organization-detail": (),
    "api-organization-members": (),
    "api-project-list": ("organization",),
    "api-project-detail": (),
    "api-project-workforce": (),
    "project-imports": (),
    "api-project-imports": (),
    "project-models": (),
    "api-project-models": (),
    "api-import": (),
    "api-project-datasets": (),
    "api-project-items": ("status", "dataset", "limit", "cursor"),
    "api-item": (),
    "project-annotate": (),
    "api-my-stats": (),
    "project-items": ("status", "after"),
    "project-quality": REPORT_FILTERS,
    "project-reviews": ("status", "reason"),
    "project-audits": (),
    "api-agreement": REPORT_FILTERS,
    "api-agreement-download": ("table", "format", *REPORT_FILTERS),
    "api-project-reviews": ("status", "reason", "audit"),
    "api-review": (),
    "api-project-audits": (),
    "api-audit": (),
    "project-exports": (),
    "api-project-exports": (),
    "api-export": (),
    "api-export-download": (),
    "api-export-certificate": (),
    "organization-usage": BILLING_RANGE,
    "organization-statement": (),
    "organization-statement-csv": (),
    "api-organization-usage": BILLING_RANGE,
    "api-organization-statement": (),
    "api-organization-throughput": BILLING_RANGE,
    "api-organization-rate-cards": (),
    "api-project-sla": (),
    "audit-log": ("organization", "from", "to"),
    "api-audit-events": ("organization", "from", "to", "cursor", "limit"),
}
GET_ROUTES = sorted(n for n, s in SPECS.items() if "get" in s.methods and not s.public)
ID_ROUTES = [(n, m) for n, s in SPECS.items() for m in s.methods if object_ids(ROUTES[n])]
MONTH_ROUTES = [n for n, r in ROUTES.items() if "month" in r.kwargs]
WRITES = [
    (n, m)
    for n, s in SPECS.items()
    for m in s.methods
    if m in ("post", "put", "patch") and ROUTES[n].is_api and not s.public
]
# Path values no object can have: Unicode digits (the resolver's 404) and ASCII digits past
# bigint (the views' 404).
BAD_IDS = ("٣", "²", str(2**63), "9" * 30)
BAD_MONTHS = ("9999-12", "0001-01", "2101-01", "٢٠٢٦-٠٣", "2026-13")


def test_every_get_route_says_what_it_reads():
    gets = {n for n, s in SPECS.items() if "get" in s.methods}
    assert set(READS) == gets, sorted(gets ^ set(READS))


def _path(name: str, kwargs: dict) -> str:
    """The route's path with values its converters would refuse (reverse() checks them)."""
    path = "/" + ROUTES[name].pattern
    for key, value in kwargs.items():
        for converter in ("int", "str"):
            path = path.replace(f"<{converter}:{key}>", urllib.parse.quote(str(value)))
    return path


def _query(params: dict) -> str:
    parts = []
    for key, value in params.items():
        if value == "\udcff":
            parts.append(f"{key}=%FF")
        else:
            parts.append(f"{key}={urllib.parse.quote(value)}")
    return "&".join(parts)


def _state() -> dict:
    """Every row of the platform's tables (and its people and tokens), to show a refused
    request changed nothing."""
    labels = {"tenancy", "labeling", "prelabels", "qa", "exports", "billing", "authtoken"}
    # the security audit log records refused requests by design (tenancy.audit)
    models = [
        m
        for m in apps.get_models()
        if m._meta.app_label in labels and m._meta.label != "tenancy.AuditEvent"
    ]
    models.append(get_user_model())
    return {m._meta.label: list(m.objects.order_by("pk").values()) for m in models}


def _send(client, method, path, body=None, multipart=False):
    if body is None:
        return getattr(client, method)(path)
    return getattr(client, method)(path, body, format="multipart" if multipart else "json")


@pytest.mark.parametrize(("name", "method"), ID_ROUTES)
def test_ids_no_object_can_have_are_not_found(world, api, client, name, method):
    for role in ROLES:
        http = client_for(api, client, world, name, role)
        own = {**world.own_kwargs(role), "month": "2026-01"}
        before = _state()
        for key in object_ids(ROUTES[name]):
            for bad in BAD_IDS:
                response = _send(http, method, _path(name, {**own, key: bad}))
                assert response.status_code == 404, (name, method, role, key, bad)
        assert _state() == before


@pytest.mark.parametrize("name", MONTH_ROUTES)
@pytest.mark.parametrize("role", ROLES)
def test_months_at_the_calendars_edge(world, api, client, name, role):
    http = client_for(api, client, world, name, role)
    expected = SPECS[name].methods["get"][role]
    for month in BAD_MONTHS:
        response = http.get(_path(name, {**world.own_kwargs(role), "month": month}))
        if expected != 200:
            assert response.status_code == expected, (name, role, month)
        elif ROUTES[name].is_api:
            assert response.status_code == 400, (name, role, month)
            assert list(response.json()) == ["month"]
        else:
            assert response.status_code == 404, (name, role, month)


@pytest.mark.parametrize("name", GET_ROUTES)
def test_hostile_query_parameters(world, api, client, name):
    reads = READS[name]
    query = _query({**HOSTILE_QUERY, **{p: BAD_VALUES[p] for p in reads}})
    for role in ROLES:
        http = client_for(api, client, world, name, role)
        kwargs = {**world.own_kwargs(role), "month": "2026-01"}
        before = _state() if reads else None
        response = http.get(f"{_path(name, kwargs)}?{query}")
        expected = SPECS[name].methods["get"][role]
        if expected != 200 or not reads:
            assert response.status_code == expected, (name, role, _text(response)[:300])
            continue
        assert response.status_code == 400, (name, role, _text(response)[:300])
        assert _state() == before, (name, role)
        if ROUTES[name].is_api:
            assert set(response.json()) == set(reads), (name, role)
        else:
            for param in reads:
                assert f'data-param="{param}"' in _text(response), (name, role, param)


@pytest.mark.parametrize("name", [n for n in GET_ROUTES if READS[n]])
def test_each_parameter_on_its_own(world, api, client, name):
    """One bad parameter at a time, each value class: 400 naming exactly that parameter."""
    role = "operator"
    http = client_for(api, client, world, name, role)
    path = _path(name, world.own_kwargs(role))
    for param in READS[name]:
        values = {BAD_VALUES[param], "²", "٣", "①", "1e3", " 7", "0001-01-05", "9999-12-31"}
        for value in sorted(values):
            response = http.get(f"{path}?{_query({param: value})}")
            assert response.status_code == 400, (name, param, value)
            if ROUTES[name].is_api:
                assert list(response.json()) == [param], (name, param, value)
            else:
                assert f'data-param="{param}"' in _text(response), (name, param, value)


@pytest.mark.parametrize(("name", "method"), WRITES)
def test_unknown_fields_in_a_body(world, api, client, name, method):
    spec = SPECS[name]
    for role in ROLES:
        expected = spec.methods[method][role]
        if expected in (401, 403, 404):
            continue
        http = client_for(api, client, world, name, role)
        body = {**spec.payloads.get(method, lambda w, r: {})(world, role), "colour": "red"}
        before = _state()
        response = _send(
            http,
            method,
            _path(name, world.own_kwargs(role)),
            body,
            multipart=method in spec.multipart,
        )
        assert response.status_code == 400, (name, method, role, _text(response)[:300])
        errors = response.json()
        assert errors["colour"] == [UNKNOWN_FIELD], (name, method, role)
        if expected < 300:  # otherwise valid: the unknown field is the only error
            assert errors == {"colour": [UNKNOWN_FIELD]}, (name, method, role)
        assert _state() == before, (name, method, role)
