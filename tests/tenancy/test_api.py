"""Behaviour of the tenancy API (../shared/API.md): bodies, validation, permissions' effects."""

import pytest
from django.contrib.auth import get_user_model
from guardian.shortcuts import get_perms

from tenancy.models import Membership, Organization, Project, ProjectAssignment, Role
from tenancy.selectors import project_list_for

from ..factories import PASSWORD

User = get_user_model()


def test_token_auth_round_trip(world, api):
    response = api.post(
        "/api/v1/auth/token/", {"username": "alpha.admin", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    token = response.json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = api.get("/api/v1/me/").json()
    assert me["username"] == "alpha.admin"
    assert me["role"] == "client_admin"
    assert me["organization"]["name"] == "Alpha Retail"


def test_token_auth_rejects_a_wrong_password(world, api):
    response = api.post(
        "/api/v1/auth/token/", {"username": "alpha.admin", "password": "nope"}, format="json"
    )
    assert response.status_code == 400
    assert "Unable to log in" in response.json()["non_field_errors"][0]


def test_bad_token_is_401(world, api):
    api.credentials(HTTP_AUTHORIZATION="Token 0000000000000000000000000000000000000000")
    response = api.get("/api/v1/projects/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


def test_token_of_an_inactive_user_is_401(world, api):
    user = world.users[Role.CLIENT_ADMIN]
    client = api.as_user(user)
    User.objects.filter(pk=user.pk).update(is_active=False)
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json() == {"detail": "User inactive or deleted."}


@pytest.mark.parametrize("role", [Role.CLIENT_ADMIN, Role.ANNOTATOR])
def test_token_brings_the_membership_in_one_query(world, api, role, django_assert_num_queries):
    """The token, its user, their membership and its organization: one statement, and the
    role and tenant answers need no other."""
    user = world.users[role]
    client = api.as_user(user)
    with django_assert_num_queries(1):
        me = client.get("/api/v1/me/").json()
    organization = Membership.objects.get(user=user).organization
    assert (me["role"], me["organization"]["name"]) == (role, organization.name)


def test_a_superuser_without_membership_is_an_operator(world, api):
    root = User.objects.create_superuser("root", "root@example.com", PASSWORD)
    client = api.as_user(root)
    me = client.get("/api/v1/me/").json()
    assert (me["role"], me["organization"]["name"]) == ("operator", "Vendor")
    rows = client.get("/api/v1/projects/").json()
    assert {row["name"] for row in rows} == {"Alpha sentiment", "Bravo triage"}
    assert client.get(f"/api/v1/projects/{world.b.project.pk}/").status_code == 200


def test_operator_sees_the_vendor_and_every_client(world, api):
    rows = api.as_user(world.users[Role.OPERATOR]).get("/api/v1/organizations/").json()
    kinds = {row["name"]: row["kind"] for row in rows}
    assert kinds == {"Vendor": "vendor", "Alpha Retail": "client", "Bravo Health": "client"}


def test_create_organization(world, api):
    client = api.as_user(world.users[Role.OPERATOR])
    response = client.post(
        "/api/v1/organizations/", {"name": "Charlie Foods", "kind": "client"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Charlie Foods"
    assert body["slug"] == "charlie-foods"
    assert body["kind"] == "client"
    assert Organization.objects.get(pk=body["id"]).name == "Charlie Foods"


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"name": "Alpha Retail", "kind": "client"}, "name", "exists already"),
        ({"name": "", "kind": "client"}, "name", "blank"),
        ({"name": "Second vendor", "kind": "vendor"}, "kind", "not a valid choice"),
        ({"kind": "client"}, "name", "required"),
    ],
)
def test_create_organization_errors_name_the_field(world, api, body, field, reason):
    client = api.as_user(world.users[Role.OPERATOR])
    response = client.post("/api/v1/organizations/", body, format="json")
    assert response.status_code == 400
    assert reason in " ".join(response.json()[field])
    assert Organization.objects.count() == 3


def test_client_admin_adds_a_viewer(world, api):
    client = api.as_user(world.users[Role.CLIENT_ADMIN])
    response = client.post(
        f"/api/v1/organizations/{world.a.organization.pk}/members/",
        {
            "username": "alpha.viewer2",
            "password": "another-fine-passphrase",
            "role": "client_viewer",
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["username"] == "alpha.viewer2" and body["role"] == "client_viewer"
    assert "password" not in body
    membership = Membership.objects.get(user__username="alpha.viewer2")
    assert membership.organization == world.a.organization
    assert membership.user.check_password("another-fine-passphrase")
    assert not membership.user.is_staff


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        (
            {"username": "x1", "password": "another-fine-passphrase", "role": "annotator"},
            "role",
            "not a role of a client organization",
        ),
        ({"username": "x2", "password": "123", "role": "client_viewer"}, "password", "too short"),
        (
            {
                "username": "alpha.admin",
                "password": "another-fine-passphrase",
                "role": "client_viewer",
            },
            "username",
            "cannot be used",
        ),
        (
            {"username": "x3", "password": "another-fine-passphrase", "role": "boss"},
            "role",
            "not a valid choice",
        ),
        ({"password": "another-fine-passphrase", "role": "client_viewer"}, "username", "required"),
    ],
)
def test_member_errors_name_the_field(world, api, body, field, reason):
    client = api.as_user(world.users[Role.OPERATOR])
    response = client.post(
        f"/api/v1/organizations/{world.a.organization.pk}/members/", body, format="json"
    )
    assert response.status_code == 400, response.content
    assert reason in " ".join(response.json()[field])
    assert not User.objects.filter(username__in=["x1", "x2", "x3"]).exists()


def test_only_operators_create_operators(world, api):
    client = api.as_user(world.users[Role.OPERATOR])
    response = client.post(
        f"/api/v1/organizations/{world.vendor.pk}/members/",
        {"username": "op2", "password": "another-fine-passphrase", "role": "operator"},
        format="json",
    )
    assert response.status_code == 201
    op2 = User.objects.get(username="op2")
    assert op2.is_staff and op2.is_superuser


def test_create_project_with_defaults_and_counts(world, api):
    client = api.as_user(world.users[Role.CLIENT_ADMIN])
    response = client.post(
        "/api/v1/projects/",
        {"organization": world.a.organization.pk, "name": "Intent", "labels": ["buy", "browse"]},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["labels"] == ["buy", "browse"]
    assert body["task_type"] == "classification"
    assert body["overlap"] == 3 and body["max_overlap"] == 5
    assert body["consensus"] == "majority"
    assert body["gold_rate"] == 0.0 and body["min_agreement"] == 0.0
    assert body["prelabels"] is False
    assert (body["items"], body["completed"], body["in_review"]) == (0, 0, 0)
    detail = client.get(f"/api/v1/projects/{world.a.project.pk}/").json()
    # the world's third item waits for review (tests/conftest.py)
    assert (detail["items"], detail["completed"], detail["in_review"]) == (3, 0, 1)


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"labels": []}, "labels", "empty"),
        ({"labels": ["a", "a"]}, "labels", "twice"),
        ({"labels": ["a", " "]}, "labels", "blank"),
        ({"overlap": 0}, "overlap", "greater than or equal to 1"),
        ({"gold_rate": 1.5}, "gold_rate", "less than or equal to 1"),
        ({"min_agreement": -0.1}, "min_agreement", "greater than or equal to 0"),
        ({"consensus": "vibes"}, "consensus", "not a valid choice"),
        ({"task_type": "boxes"}, "task_type", "not a valid choice"),
        ({"overlap": 6, "max_overlap": 4}, "max_overlap", "at least the overlap"),
        ({"name": "Alpha sentiment"}, "name", "already"),
        ({"organization": 999999}, "organization", "No such organization"),
    ],
)
def test_project_errors_name_the_field(world, api, changes, field, reason):
    client = api.as_user(world.users[Role.OPERATOR])
    body = {"organization": world.a.organization.pk, "name": "P", "labels": ["a", "b"], **changes}
    response = client.post("/api/v1/projects/", body, format="json")
    assert response.status_code == 400, response.content
    # A list field names the position too: {"labels": {"1": ["This field may not be blank."]}}
    assert reason in str(response.json()[field])
    assert Project.objects.count() == 2


def test_project_in_another_tenants_org_looks_like_a_missing_org(world, api):
    client = api.as_user(world.users[Role.CLIENT_ADMIN])
    body = {"name": "Sneaky", "labels": ["a", "b"]}
    theirs = client.post(
        "/api/v1/projects/", {**body, "organization": world.b.organization.pk}, format="json"
    )
    missing = client.post("/api/v1/projects/", {**body, "organization": 999999}, format="json")
    assert theirs.status_code == missing.status_code == 400
    assert theirs.json() == missing.json()
    assert not Project.objects.filter(name="Sneaky").exists()


def test_projects_belong_to_clients_not_the_vendor(world, api):
    client = api.as_user(world.users[Role.OPERATOR])
    response = client.post(
        "/api/v1/projects/",
        {"organization": world.vendor.pk, "name": "Internal", "labels": ["a", "b"]},
        format="json",
    )
    assert response.status_code == 403


def test_patch_project_adds_labels_but_never_removes(world, api):
    client = api.as_user(world.users[Role.CLIENT_ADMIN])
    url = f"/api/v1/projects/{world.a.project.pk}/"
    added = client.patch(url, {"labels": ["positive", "negative", "mixed"]}, format="json")
    assert added.status_code == 200
    assert added.json()["labels"] == ["positive", "negative", "mixed"]
    removed = client.patch(url, {"labels": ["positive"]}, format="json")
    assert removed.status_code == 400
    assert "negative" in removed.json()["labels"][0]
    assert Project.objects.get(pk=world.a.project.pk).labels == ["positive", "negative", "mixed"]
    fixed = client.patch(url, {"task_type": "multilabel"}, format="json")
    assert fixed.status_code == 400 and "fixed" in fixed.json()["task_type"][0]


def test_workforce_assignment_grants_and_revokes_the_project(world, api):
    spare = world.spare_annotator
    assert not project_list_for(user=spare).exists()
    operator = api.as_user(world.users[Role.OPERATOR])
    url = f"/api/v1/projects/{world.b.project.pk}/workforce/"
    response = operator.post(url, {"user": spare.pk, "role": "annotator"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["username"], body["role"], body["project"]) == (
        "ann.spare",
        "annotator",
        world.b.project.pk,
    )
    assert get_perms(spare, world.b.project) == ["annotate_project"]
    assert list(project_list_for(user=spare)) == [world.b.project]
    again = operator.post(url, {"user": spare.pk, "role": "annotator"}, format="json")
    assert again.status_code == 200
    assert ProjectAssignment.objects.filter(user=spare).count() == 1

    delete = operator.delete(f"{url}{body['id']}/")
    assert delete.status_code == 204
    assert get_perms(spare, world.b.project) == []
    assert not project_list_for(user=spare).exists()


def test_workforce_scope_follows_each_assignment(world, api):
    """A QA lead assigned to annotate as well: the queue opens; without the annotator
    assignment the project stays visible but the queue answers 403; without either, 404."""
    qa, operator = world.users[Role.QA_LEAD], world.users[Role.OPERATOR]
    project = world.a.project
    url = f"/api/v1/projects/{project.pk}/workforce/"
    made = api.as_user(operator).post(url, {"user": qa.pk, "role": "annotator"}, format="json")
    assert made.status_code == 201
    assert api.as_user(qa).post(f"/api/v1/projects/{project.pk}/next/").status_code == 200
    assert api.as_user(operator).delete(f"{url}{made.json()['id']}/").status_code == 204
    assert api.as_user(qa).post(f"/api/v1/projects/{project.pk}/next/").status_code == 403
    assert api.as_user(qa).get(f"/api/v1/projects/{project.pk}/").status_code == 200
    review = ProjectAssignment.objects.get(project=project, user=qa, role="qa_lead")
    assert api.as_user(operator).delete(f"{url}{review.pk}/").status_code == 204
    assert api.as_user(qa).get(f"/api/v1/projects/{project.pk}/").status_code == 404
    assert api.as_user(qa).get("/api/v1/projects/").json() == []


@pytest.mark.parametrize(
    ("who", "role", "reason"),
    [
        ("client", "annotator", "No such person"),
        ("annotator", "qa_lead", "only a qa_lead"),
        ("annotator", "boss", "not a valid choice"),
    ],
)
def test_workforce_errors(world, api, who, role, reason):
    user = {"client": world.users[Role.CLIENT_ADMIN], "annotator": world.spare_annotator}[who]
    response = api.as_user(world.users[Role.OPERATOR]).post(
        f"/api/v1/projects/{world.a.project.pk}/workforce/",
        {"user": user.pk, "role": role},
        format="json",
    )
    assert response.status_code == 400
    field = "role" if reason == "not a valid choice" else "user"
    assert reason in " ".join(response.json()[field])


def test_project_list_by_organization_filter(world, api):
    client = api.as_user(world.users[Role.OPERATOR])
    rows = client.get(f"/api/v1/projects/?organization={world.b.organization.pk}").json()
    assert [row["name"] for row in rows] == ["Bravo triage"]
    assert client.get("/api/v1/projects/?organization=abc").status_code == 400


def test_project_list_counts_in_few_queries(world, api, django_assert_max_num_queries):
    client = api.as_user(world.users[Role.OPERATOR])
    for n in range(5):
        client.post(
            "/api/v1/projects/",
            {"organization": world.a.organization.pk, "name": f"Extra {n}", "labels": ["a"]},
            format="json",
        )
    # auth (with the role) + projects + one grouped count, whatever the number of projects
    with django_assert_max_num_queries(3):
        rows = client.get("/api/v1/projects/").json()
    assert len(rows) == 7


def test_openapi_schema_documents_the_contract(client):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    for path in [
        "/api/v1/auth/token/",
        "/api/v1/organizations/",
        "/api/v1/organizations/{organization_id}/members/",
        "/api/v1/projects/",
        "/api/v1/projects/{project_id}/",
        "/api/v1/projects/{project_id}/workforce/",
    ]:
        assert path in paths, path
    create = paths["/api/v1/projects/"]["post"]["requestBody"]["content"]["application/json"]
    ref = create["schema"]["$ref"].rsplit("/", 1)[-1]
    assert {"organization", "name", "labels", "overlap", "consensus"} <= set(
        schema["components"]["schemas"][ref]["properties"]
    )


def test_docs_page_serves_its_assets_locally(client):
    page = client.get("/api/v1/docs/").content.decode()
    assert "swagger-ui" in page
    assert "cdn" not in page.lower()
