"""The role x tenant matrix over every route, generated from the URL resolver.

Each route has a spec: per HTTP method, the status each role gets on its own tenant's objects.
Then, generated for every route and method:
- each role's own objects answer as the spec says, and the response carries the object;
- every non-operator role gets 404 for another tenant's objects (organization, project, and
  every nested id), and operators still get what the spec says;
- a nested id of another tenant under one's own parent answers 404, for every role;
- list routes never show another tenant's objects;
- anonymous callers get 401 (API) or the login page (web).
A new route without a spec, or a new method on a route, fails `test_every_route_has_a_spec`.
"""

import uuid
from dataclasses import dataclass, field

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import resolve, reverse
from django.utils import timezone

from tenancy.models import Role

from ..conftest import ROLES
from ..routes import all_routes

OP, ADMIN, VIEWER, QA, ANN = (
    Role.OPERATOR,
    Role.CLIENT_ADMIN,
    Role.CLIENT_VIEWER,
    Role.QA_LEAD,
    Role.ANNOTATOR,
)


# Path values that are not object ids: a statement's month (this one: the world's work is in it).
MONTH = timezone.localdate().strftime("%Y-%m")
PATH_VALUES = {"month": MONTH}


def everyone(status):
    return {role: status for role in ROLES}


CLIENT_SIDE_ONLY = {OP: 200, ADMIN: 200, VIEWER: 200, QA: 403, ANN: 403}
DATA_READERS = {OP: 200, ADMIN: 200, VIEWER: 200, QA: 200, ANN: 403}
ANNOTATORS_ONLY = {OP: 403, ADMIN: 403, VIEWER: 403, QA: 403, ANN: 200}
REVIEWERS = {OP: 200, ADMIN: 403, VIEWER: 403, QA: 200, ANN: 403}
OPERATORS_ONLY = {OP: 200, ADMIN: 404, VIEWER: 404, QA: 404, ANN: 404}


@dataclass
class Spec:
    # method -> {role: expected status on the role's own objects}
    methods: dict
    # method -> callable(world, role) -> request body
    payloads: dict = field(default_factory=dict)
    public: bool = False
    # For list routes: text of the other tenant that must never appear (checked for GET).
    lists_tenant_data: bool = False
    # callable(world, role) -> a text the successful GET must contain (the object asked for)
    shows: object = None
    # Methods whose body is a multipart form (file uploads) rather than JSON.
    multipart: tuple = ()


def _own_org_name(world, role):
    return (world.vendor if role in (QA, ANN) else world.a.organization).name


def _project_name(world, role):
    return world.a.project.name


def _project_body(world, role):
    return {
        "organization": world.a.organization.pk,
        "name": f"New project {uuid.uuid4().hex[:8]}",
        "labels": ["yes", "no"],
    }


def _upload_body(world, role):
    return {"file": SimpleUploadedFile("rows.jsonl", b'{"data": {"text": "hello"}}\n')}


def _member_body(world, role):
    own_org_is_vendor = role in (QA, ANN)
    return {
        "username": f"new-{uuid.uuid4().hex[:10]}",
        "password": "a-long-enough-passphrase-7",
        "role": "annotator" if own_org_is_vendor else "client_viewer",
    }


SPECS: dict[str, Spec] = {
    # public
    # Someone logged in who opens the login page is sent home.
    "login": Spec({"get": everyone(302), "post": everyone(302), "put": everyone(302)}, public=True),
    "logout": Spec({"post": everyone(302)}, public=True),
    "api-auth-token": Spec({"post": everyone(400)}, public=True),
    "api-schema": Spec({"get": everyone(200)}, public=True),
    "api-docs": Spec({"get": everyone(200)}, public=True),
    # pages
    "home": Spec({"get": everyone(200)}, lists_tenant_data=True),
    "project-detail": Spec({"get": everyone(200)}, shows=_project_name),
    "system-status": Spec({"get": {OP: 200, ADMIN: 403, VIEWER: 403, QA: 403, ANN: 403}}),
    # the security audit log: operators only; anyone else is told it does not exist
    "audit-log": Spec({"get": OPERATORS_ONLY}, shows=lambda w, r: 'data-testid="audit-table"'),
    # API
    "api-me": Spec({"get": everyone(200)}),
    "api-audit-events": Spec({"get": OPERATORS_ONLY}, shows=lambda w, r: '"results"'),
    "api-organization-list": Spec(
        {"get": everyone(200), "post": {OP: 201, ADMIN: 403, VIEWER: 403, QA: 403, ANN: 403}},
        payloads={"post": lambda w, r: {"name": f"Org {uuid.uuid4().hex[:8]}", "kind": "client"}},
        lists_tenant_data=True,
    ),
    "api-organization-detail": Spec({"get": everyone(200)}, shows=_own_org_name),
    "api-organization-members": Spec(
        {
            "get": {OP: 200, ADMIN: 200, VIEWER: 403, QA: 403, ANN: 403},
            "post": {OP: 201, ADMIN: 201, VIEWER: 403, QA: 403, ANN: 403},
        },
        payloads={"post": _member_body},
    ),
    "api-project-list": Spec(
        {
            "get": everyone(200),
            # The workforce cannot see client orgs at all, so the body's org is unknown: 400.
            "post": {OP: 201, ADMIN: 201, VIEWER: 403, QA: 400, ANN: 400},
        },
        payloads={"post": _project_body},
        lists_tenant_data=True,
    ),
    "api-project-detail": Spec(
        {
            "get": everyone(200),
            "patch": {OP: 200, ADMIN: 200, VIEWER: 403, QA: 403, ANN: 403},
        },
        payloads={"patch": lambda w, r: {"instructions": "Label carefully."}},
        shows=_project_name,
    ),
    "api-project-workforce": Spec(
        {
            "get": {OP: 200, ADMIN: 200, VIEWER: 200, QA: 200, ANN: 403},
            "post": {OP: 201, ADMIN: 403, VIEWER: 403, QA: 403, ANN: 403},
        },
        payloads={"post": lambda w, r: {"user": w.spare_annotator.pk, "role": "annotator"}},
        shows=lambda w, r: w.users[ANN].username,
    ),
    "api-project-workforce-detail": Spec(
        {"delete": {OP: 204, ADMIN: 403, VIEWER: 403, QA: 403, ANN: 403}}
    ),
    # labeling: the client's data is read by its people, operators and QA leads; annotators
    # reach items through the task queue only. Imports are the client's and operators'.
    "project-imports": Spec({"get": CLIENT_SIDE_ONLY}, shows=_project_name),
    "api-project-imports": Spec(
        {"get": CLIENT_SIDE_ONLY, "post": {OP: 202, ADMIN: 202, VIEWER: 403, QA: 403, ANN: 403}},
        payloads={"post": _upload_body},
        multipart=("post",),
        shows=lambda w, r: w.a.job.original_name,
    ),
    # models: read by the data readers; trained and run by operators and the client's admins
    "project-models": Spec(
        {"get": DATA_READERS, "post": {OP: 302, ADMIN: 302, VIEWER: 403, QA: 403, ANN: 403}},
        payloads={"post": lambda w, r: {"action": "predict"}},
        shows=lambda w, r: f"Seeded version of {w.a.project.name}",
    ),
    "api-project-models": Spec(
        {"get": DATA_READERS}, shows=lambda w, r: f"Seeded version of {w.a.project.name}"
    ),
    "api-project-models-train": Spec(
        {"post": {OP: 202, ADMIN: 202, VIEWER: 403, QA: 403, ANN: 403}}
    ),
    "api-project-models-predict": Spec(
        {"post": {OP: 202, ADMIN: 202, VIEWER: 403, QA: 403, ANN: 403}}
    ),
    "api-import": Spec({"get": CLIENT_SIDE_ONLY}, shows=lambda w, r: w.a.job.dataset_name),
    "api-project-datasets": Spec({"get": DATA_READERS}, shows=lambda w, r: w.a.item.dataset.name),
    "api-project-items": Spec({"get": DATA_READERS}, shows=lambda w, r: w.a.item.external_id),
    "api-item": Spec({"get": DATA_READERS}, shows=lambda w, r: w.a.item.external_id),
    # the task queue: the project's annotators only; an annotation is undone by its author only
    "project-annotate": Spec({"get": ANNOTATORS_ONLY}, shows=_project_name),
    "api-next": Spec({"post": ANNOTATORS_ONLY}),
    "api-my-stats": Spec({"get": ANNOTATORS_ONLY}),
    "api-item-annotations": Spec(
        {"post": {OP: 403, ADMIN: 403, VIEWER: 403, QA: 403, ANN: 201}},
        payloads={"post": lambda w, r: {"label": "negative", "duration_ms": 1500}},
    ),
    "api-item-skip": Spec({"post": {OP: 403, ADMIN: 403, VIEWER: 403, QA: 403, ANN: 204}}),
    "api-annotation-undo": Spec({"post": {OP: 404, ADMIN: 404, VIEWER: 404, QA: 404, ANN: 200}}),
    "project-items": Spec({"get": DATA_READERS}, shows=lambda w, r: w.a.item.external_id),
    # quality: reports and audits for the client's people, QA leads and operators; the review
    # queue is the vendor's (its QA leads and operators)
    "project-quality": Spec({"get": DATA_READERS}, shows=_project_name),
    "project-reviews": Spec({"get": REVIEWERS}, shows=lambda w, r: w.a.review.detail),
    "project-review-decide": Spec(
        {"post": {OP: 302, ADMIN: 403, VIEWER: 403, QA: 302, ANN: 403}},
        payloads={"post": lambda w, r: {"decision": "accept"}},
    ),
    # A lot with nothing completed since the last audit: the form says so and returns.
    "project-audits": Spec(
        {"get": DATA_READERS, "post": {OP: 302, ADMIN: 403, VIEWER: 403, QA: 302, ANN: 403}},
        shows=_project_name,
    ),
    "api-agreement": Spec({"get": DATA_READERS}, shows=lambda w, r: "krippendorff_alpha"),
    "api-agreement-download": Spec({"get": DATA_READERS}),
    "api-project-reviews": Spec({"get": REVIEWERS}, shows=lambda w, r: w.a.review.detail),
    "api-review": Spec(
        {"get": REVIEWERS, "post": REVIEWERS},
        payloads={"post": lambda w, r: {"decision": "accept"}},
        shows=lambda w, r: w.a.review.detail,
    ),
    # Nothing completed since the last audit: a clear 400 (tests/qa covers the 201).
    "api-project-audits": Spec(
        {"get": DATA_READERS, "post": {OP: 400, ADMIN: 403, VIEWER: 403, QA: 400, ANN: 403}},
        shows=lambda w, r: '"code_letter":"E"',
    ),
    "api-audit": Spec({"get": DATA_READERS}, shows=lambda w, r: '"lot_size":40'),
    # exports: the client's admins and viewers and the operators; the workforce gets 404
    "project-exports": Spec(
        {
            "get": {OP: 200, ADMIN: 200, VIEWER: 200, QA: 404, ANN: 404},
            "post": {OP: 302, ADMIN: 302, VIEWER: 403, QA: 404, ANN: 404},
        },
        payloads={"post": lambda w, r: {"format": "jsonl"}},
        shows=_project_name,
    ),
    "api-project-exports": Spec(
        {
            "get": {OP: 200, ADMIN: 200, VIEWER: 200, QA: 404, ANN: 404},
            "post": {OP: 202, ADMIN: 202, VIEWER: 403, QA: 404, ANN: 404},
        },
        payloads={"post": lambda w, r: {"format": "csv"}},
        shows=lambda w, r: w.a.export.sha256,
    ),
    "api-export": Spec(
        {"get": {OP: 200, ADMIN: 200, VIEWER: 200, QA: 404, ANN: 404}},
        shows=lambda w, r: w.a.export.sha256,
    ),
    "api-export-download": Spec(
        {"get": {OP: 200, ADMIN: 200, VIEWER: 200, QA: 404, ANN: 404}},
        shows=lambda w, r: '"label": "positive"',
    ),
    "api-export-certificate": Spec(
        {"get": {OP: 200, ADMIN: 200, VIEWER: 200, QA: 404, ANN: 404}},
        shows=lambda w, r: w.a.project.name,
    ),
    # A majority-vote project has no model to fit: 400 naming `consensus`.
    "api-consensus-refit": Spec({"post": {OP: 400, ADMIN: 403, VIEWER: 403, QA: 400, ANN: 403}}),
    # billing: a client's usage, statements and throughput are for its people and operators;
    # the workforce sees its own (vendor) organization, which has no billing: 403.
    "organization-usage": Spec({"get": CLIENT_SIDE_ONLY}, shows=_own_org_name),
    "organization-statement": Spec({"get": CLIENT_SIDE_ONLY}, shows=_own_org_name),
    "organization-statement-csv": Spec({"get": CLIENT_SIDE_ONLY}, shows=_own_org_name),
    "api-organization-usage": Spec({"get": CLIENT_SIDE_ONLY}, shows=_project_name),
    "api-organization-statement": Spec({"get": CLIENT_SIDE_ONLY}, shows=lambda w, r: MONTH),
    "api-organization-throughput": Spec({"get": CLIENT_SIDE_ONLY}, shows=_project_name),
    "api-organization-rate-cards": Spec(
        {"get": CLIENT_SIDE_ONLY, "post": {OP: 201, ADMIN: 403, VIEWER: 403, QA: 403, ANN: 403}},
        payloads={"post": lambda w, r: {"currency": "EUR", "effective_from": "2026-01-01"}},
    ),
    "api-project-sla": Spec(
        {
            "get": {OP: 200, ADMIN: 200, VIEWER: 200, QA: 200, ANN: 403},
            "put": {OP: 200, ADMIN: 403, VIEWER: 403, QA: 403, ANN: 403},
        },
        payloads={"put": lambda w, r: {"target_hours": 48}},
    ),
}

ROUTES = {route.name: route for route in all_routes()}
CASES = [(name, method) for name, spec in SPECS.items() for method in spec.methods]
PRIVATE_CASES = [(n, m) for n, m in CASES if not SPECS[n].public]
OBJECT_CASES = [(n, m) for n, m in PRIVATE_CASES if ROUTES[n].kwargs]


def object_ids(route) -> list[str]:
    """The kwargs naming objects (`<thing>_id`); others (a statement's month) are values."""
    return [k for k in route.kwargs if k.endswith("_id")]


NESTED_CASES = [(n, m) for n, m in PRIVATE_CASES if len(object_ids(ROUTES[n])) > 1]
LIST_CASES = [n for n, s in SPECS.items() if s.lists_tenant_data]


def _text(response) -> str:
    """The body, also of a streamed file (downloads); read once and kept."""
    if not hasattr(response, "_matrix_text"):
        raw = b"".join(response.streaming_content) if response.streaming else response.content
        response._matrix_text = raw.decode()
    return response._matrix_text


def implemented_methods(route) -> set[str]:
    callback = resolve(route.path({k: 1 for k in route.kwargs})).func
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if view_class is None:
        return {"get"}  # function views here answer GET
    return {
        m
        for m in ("get", "post", "put", "patch", "delete")
        if m in view_class.http_method_names and hasattr(view_class, m)
    }


def test_every_route_has_a_spec():
    missing, stale = sorted(set(ROUTES) - set(SPECS)), sorted(set(SPECS) - set(ROUTES))
    assert not missing, f"routes without a spec (add them to SPECS): {missing}"
    assert not stale, f"specs without a route: {stale}"
    for name, route in ROUTES.items():
        assert implemented_methods(route) == set(SPECS[name].methods), name


def call(client, world, name, method, role, kwargs):
    route = ROUTES[name]
    url = route.path({**PATH_VALUES, **kwargs})
    body = SPECS[name].payloads.get(method, lambda w, r: {})(world, role)
    if route.is_api:
        body_format = "multipart" if method in SPECS[name].multipart else "json"
        return getattr(client, method)(url, body, format=body_format)
    return getattr(client, method)(url, body)


def client_for(api, client, world, name, role):
    user = world.users[role]
    if ROUTES[name].is_api:
        return api.as_user(user)
    client.force_login(user)
    return client


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "method"), CASES)
def test_own_tenant(world, api, client, name, method, role):
    response = call(
        client_for(api, client, world, name, role),
        world,
        name,
        method,
        role,
        world.own_kwargs(role),
    )
    expected = SPECS[name].methods[method][role]
    assert response.status_code == expected, (name, method, role, _text(response)[:300])
    if expected == 200 and method == "get" and SPECS[name].shows:
        # The answer is about the object that was asked for.
        assert SPECS[name].shows(world, role) in _text(response), (name, role)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "method"), OBJECT_CASES)
def test_other_tenant_is_not_found(world, api, client, name, method, role):
    response = call(
        client_for(api, client, world, name, role), world, name, method, role, world.other_kwargs()
    )
    if role == OP:
        # Operators see every tenant: the same answer as on the first tenant.
        assert response.status_code == SPECS[name].methods[method][role], _text(response)[:300]
    else:
        assert response.status_code == 404, (name, method, role, _text(response)[:300])
        assert world.b.project.name not in _text(response)
        assert world.b.organization.name not in _text(response)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "method"), NESTED_CASES)
def test_nested_id_of_other_tenant_under_own_parent(world, api, client, name, method, role):
    """projects/<mine>/workforce/<theirs>/: the nested id is joined back to its parent."""
    route = ROUTES[name]
    kwargs = world.own_kwargs(role)
    other = world.other_kwargs()
    for nested in object_ids(route)[1:]:
        mixed = {**kwargs, nested: other[nested]}
        response = call(
            client_for(api, client, world, name, role), world, name, method, role, mixed
        )
        assert response.status_code == 404, (name, method, role, nested)


@pytest.mark.parametrize("role", [r for r in ROLES if r != OP])
@pytest.mark.parametrize("name", LIST_CASES)
def test_lists_never_show_another_tenant(world, api, client, name, role):
    response = call(client_for(api, client, world, name, role), world, name, "get", role, {})
    assert response.status_code == 200
    text = _text(response)
    assert world.b.organization.name not in text
    assert world.b.project.name not in text


@pytest.mark.parametrize("name", LIST_CASES)
def test_operator_lists_show_every_tenant(world, api, client, name):
    response = call(client_for(api, client, world, name, OP), world, name, "get", OP, {})
    text = _text(response)
    assert world.a.organization.name in text or world.a.project.name in text
    assert world.b.organization.name in text or world.b.project.name in text


@pytest.mark.parametrize(("name", "method"), PRIVATE_CASES)
def test_anonymous(world, api, client, name, method):
    route = ROUTES[name]
    kwargs = world.own_kwargs(ADMIN)
    if route.is_api:
        response = call(api, world, name, method, ADMIN, kwargs)
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"
    else:
        response = call(client, world, name, method, ADMIN, kwargs)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login") + "?next=")


@pytest.mark.parametrize(
    ("name", "method", "status"),
    [
        ("login", "get", 200),
        ("login", "post", 200),  # the form again, with its error
        ("logout", "post", 302),
        ("api-auth-token", "post", 400),  # no credentials given
        ("api-schema", "get", 200),
        ("api-docs", "get", 200),
    ],
)
def test_public_routes_answer_anonymous_callers(world, api, client, name, method, status):
    assert {(n, m) for n, m in CASES if SPECS[n].public} >= {(name, method)}
    response = call(api if ROUTES[name].is_api else client, world, name, method, ADMIN, {})
    assert response.status_code == status


@pytest.mark.parametrize("role", ROLES)
def test_admin_is_for_operators_only(world, client, role):
    client.force_login(world.users[role])
    response = client.get("/admin/")
    if role == OP:
        assert response.status_code == 200
        assert b"Site administration" in response.content
    else:
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
