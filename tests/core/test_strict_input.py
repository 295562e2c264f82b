"""Strict input through the running API and pages, one test per class of refused input:
each asserts the 400 (or the page's error) and that nothing changed. The route matrix
(tests/tenancy/test_route_inputs.py) sends the same classes to every route and role."""

import base64

import orjson
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token

from billing.models import RateCard
from core import params
from core.inputs import DEPTH_MESSAGE, MAX_JSON_DEPTH, UNKNOWN_FIELD
from exports.models import Export
from labeling.models import Annotation, ImportJob, Item, Lease
from tenancy.models import Project, Role

from ..conftest import IMPORT_DATABASES
from ..factories import PASSWORD

ID = params.ID_MESSAGE


def items_url(world):
    return f"/api/v1/projects/{world.a.project.pk}/items/"


def exports_url(world):
    return f"/api/v1/projects/{world.a.project.pk}/exports/"


# --- Unicode digits and other look-alike numbers ------------------------------------------


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ("dataset=²", {"dataset": [ID]}),
        ("dataset=٣", {"dataset": [ID]}),
        ("limit=①", {"limit": ["A whole number from 1 to 1000."]}),
        ("limit=1e3", {"limit": ["A whole number from 1 to 1000."]}),
        ("limit=%207", {"limit": ["A whole number from 1 to 1000."]}),
        ("limit=٣&dataset=²", {"limit": ["A whole number from 1 to 1000."], "dataset": [ID]}),
    ],
)
def test_unicode_digits_in_query_parameters(world, api, query, errors):
    client = api.as_user(world.users[Role.CLIENT_VIEWER])
    response = client.get(f"{items_url(world)}?{query}")
    assert response.status_code == 400
    assert response.json() == errors


def test_unicode_digits_in_a_body_id(world, api):
    client = api.as_user(world.users[Role.CLIENT_ADMIN])
    before = Export.objects.count()
    for dataset in ("٣", "²", 3.0, True, "3 "):
        response = client.post(
            exports_url(world), {"format": "jsonl", "dataset": dataset}, format="json"
        )
        assert response.status_code == 400, dataset
        assert response.json() == {"dataset": [ID]}
    assert Export.objects.count() == before


def test_unicode_digits_in_a_body_number(world, api):
    item = world.b.item  # still open: B's annotator may label it
    client = api.as_user(world.b.users[Role.ANNOTATOR])
    before = Annotation.objects.count()
    body = {"label": "urgent", "duration_ms": "١٥٠٠"}
    response = client.post(f"/api/v1/items/{item.pk}/annotations/", body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["duration_ms"]
    assert Annotation.objects.count() == before


# --- ids no row can have --------------------------------------------------------------------


def test_ids_out_of_range(world, api):
    client = api.as_user(world.users[Role.OPERATOR])
    for value in ("0", str(2**63), "9" * 30):
        response = client.get(f"{items_url(world)}?dataset={value}")
        assert response.status_code == 400
        assert response.json() == {"dataset": [ID]}
        assert client.get(f"/api/v1/projects/?organization={value}").status_code == 400
        assert client.get(f"/api/v1/projects/{value}/").status_code == 404
        assert client.get(f"/api/v1/items/{value}/").status_code == 404
    before = Project.objects.count()
    body = {"organization": 2**63, "name": "Far away", "labels": ["a", "b"]}
    response = client.post("/api/v1/projects/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {"organization": [ID]}
    assert Project.objects.count() == before


def test_a_cursor_with_unicode_digits(world, api):
    client = api.as_user(world.users[Role.OPERATOR])
    for inner in ("after:٣", "after:²", f"after:{2**63}", "after:-1"):
        cursor = base64.urlsafe_b64encode(inner.encode()).decode().rstrip("=")
        response = client.get(f"{items_url(world)}?cursor={cursor}")
        assert response.status_code == 400, inner
        assert response.json() == {"cursor": ["This cursor is not one this API gave."]}


# --- dates and months at the calendar's edge -------------------------------------------------


def usage_url(world, what="usage"):
    return f"/api/v1/organizations/{world.a.organization.pk}/{what}/"


@pytest.mark.parametrize("what", ["usage", "throughput"])
@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ("to=0001-01-05", {"to": [params.DATE_RANGE_MESSAGE]}),
        (
            "from=0001-01-01&to=9999-12-31",
            {"from": [params.DATE_RANGE_MESSAGE], "to": [params.DATE_RANGE_MESSAGE]},
        ),
        ("from=٢٠٢٦-٠٣-٠١", {"from": [params.DATE_MESSAGE]}),
        ("from=2000-01-01&to=2100-12-31", {"to": ["At most 366 days at a time."]}),
    ],
)
def test_billing_dates_at_the_calendars_edge(world, api, what, query, errors):
    client = api.as_user(world.users[Role.CLIENT_ADMIN])
    response = client.get(f"{usage_url(world, what)}?{query}")
    assert response.status_code == 400
    assert response.json() == errors


def test_the_first_supported_days_answer(world, api):
    """`to` near the range's start: the default 30 days stop at its first day, no overflow."""
    client = api.as_user(world.users[Role.CLIENT_ADMIN])
    for what in ("usage", "throughput"):
        response = client.get(f"{usage_url(world, what)}?to=2000-01-05")
        assert response.status_code == 200, response.content
    throughput = client.get(f"{usage_url(world, 'throughput')}?to=2000-01-05").json()
    assert [day["day"] for day in throughput["days"]][0] == "2000-01-01"


@pytest.mark.parametrize("month", ["9999-12", "0001-01", "2101-01", "٢٠٢٦-٠٣"])
def test_statement_months_at_the_calendars_edge(world, api, client, month):
    admin = world.users[Role.CLIENT_ADMIN]
    response = api.as_user(admin).get(usage_url(world, f"statements/{month}"))
    assert response.status_code == 400
    assert list(response.json()) == ["month"]
    client.force_login(admin)
    page = client.get(f"/organizations/{world.a.organization.pk}/statements/{month}/")
    assert page.status_code == 404
    csv = client.get(f"/organizations/{world.a.organization.pk}/statements/{month}/csv/")
    assert csv.status_code == 404
    last = client.get(f"/organizations/{world.a.organization.pk}/statements/2100-12/")
    assert last.status_code == 200


def test_the_usage_page_shows_the_bad_dates_and_keeps_them(world, client):
    client.force_login(world.users[Role.CLIENT_ADMIN])
    page = client.get(
        f"/organizations/{world.a.organization.pk}/usage/?from=0001-01-01&to=9999-12-31"
    )
    assert page.status_code == 400
    text = page.content.decode()
    assert 'data-param="from"' in text and 'data-param="to"' in text
    assert params.DATE_RANGE_MESSAGE in text
    assert 'value="0001-01-01"' in text and 'value="9999-12-31"' in text


def test_agreement_dates_at_the_calendars_edge(world, api, client):
    reader = world.users[Role.CLIENT_VIEWER]
    url = f"/api/v1/projects/{world.a.project.pk}/agreement/"
    response = api.as_user(reader).get(f"{url}?from=0001-01-01&to=9999-12-31&dataset=²")
    assert response.status_code == 400
    assert response.json() == {
        "from": [params.DATE_RANGE_MESSAGE],
        "to": [params.DATE_RANGE_MESSAGE],
        "dataset": [ID],
    }
    download = api.as_user(reader).get(
        f"/api/v1/projects/{world.a.project.pk}/agreement/download/?to=0001-01-05&table=x"
    )
    assert download.status_code == 400
    assert set(download.json()) == {"to", "table"}
    client.force_login(reader)
    page = client.get(f"/projects/{world.a.project.pk}/quality/?from=0001-01-01&annotator=①")
    assert page.status_code == 400
    text = page.content.decode()
    assert 'data-param="from"' in text and 'data-param="annotator"' in text
    assert 'name="from" value="0001-01-01"' in text  # the input keeps what was typed


def test_export_dates_at_the_calendars_edge(world, api):
    client = api.as_user(world.users[Role.CLIENT_ADMIN])
    before = Export.objects.count()
    for body, errors in [
        ({"from": "0001-01-01"}, {"from": [params.DATE_RANGE_MESSAGE]}),
        ({"to": "9999-12-31"}, {"to": [params.DATE_RANGE_MESSAGE]}),
        ({"from": "2026-02-30"}, {"from": [params.DATE_MESSAGE]}),
        ({"from": "٢٠٢٦-٠٣-٠١"}, {"from": [params.DATE_MESSAGE]}),
    ]:
        response = client.post(exports_url(world), {"format": "csv", **body}, format="json")
        assert response.status_code == 400, body
        assert response.json() == errors
    assert Export.objects.count() == before
    fine = {"format": "csv", "from": "2026-01-01", "to": None}
    assert client.post(exports_url(world), fine, format="json").status_code == 202


def test_rate_card_dates_at_the_calendars_edge(world, api):
    client = api.as_user(world.users[Role.OPERATOR])
    url = usage_url(world, "rate-cards")
    before = RateCard.objects.count()
    for body in (
        {"effective_from": "0001-01-01"},
        {"effective_from": "2026-01-01", "effective_to": "9999-12-31"},
    ):
        response = client.post(url, {"currency": "EUR", **body}, format="json")
        assert response.status_code == 400, body
        assert list(response.json()) == [list(body)[-1]]
    assert RateCard.objects.count() == before


# --- JSON nested deeper than the parser should go -------------------------------------------


def deep(depth: int, kind: str) -> bytes:
    if kind == "array":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


@pytest.mark.parametrize("kind", ["array", "object"])
@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 2_000, 100_000])
def test_deep_json_on_the_token_and_export_endpoints(world, api, kind, depth):
    body = deep(depth, kind)
    tokens, exports = Token.objects.count(), Export.objects.count()
    token = api.post("/api/v1/auth/token/", body, content_type="application/json")
    assert token.status_code == 400
    assert token.json() == {"detail": DEPTH_MESSAGE}
    client = api.as_user(world.users[Role.CLIENT_ADMIN])
    tokens += 1  # the one as_user made
    export = client.post(exports_url(world), body, content_type="application/json")
    assert export.status_code == 400
    assert export.json() == {"detail": DEPTH_MESSAGE}
    assert (Token.objects.count(), Export.objects.count()) == (tokens, exports)


def test_json_at_the_depth_limit_is_parsed(world, api):
    """32 levels, the body's object included, reach the serializer (which refuses the label
    for what it is)."""
    label = 1
    for _ in range(MAX_JSON_DEPTH - 1):
        label = [label]
    qa = api.as_user(world.users[Role.QA_LEAD])
    response = qa.post(
        f"/api/v1/reviews/{world.a.review.pk}/",
        {"decision": "relabel", "label": label},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["label"]
    one_more = qa.post(
        f"/api/v1/reviews/{world.a.review.pk}/",
        {"decision": "relabel", "label": [label]},
        format="json",
    )
    assert one_more.json() == {"detail": DEPTH_MESSAGE}


def test_json_that_is_not_json(world, api):
    client = api.as_user(world.users[Role.CLIENT_ADMIN])
    before = Export.objects.count()
    for body in (b'{"format": NaN}', b'{"format": "\\ud800"}', b"\xff", b'{"format": "csv"'):
        response = client.post(exports_url(world), body, content_type="application/json")
        assert response.status_code == 400, body
        assert response.json()["detail"].startswith("JSON parse error"), body
    assert Export.objects.count() == before


def test_a_json_body_over_the_size_limit(world, api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    client = api.as_user(world.users[Role.CLIENT_ADMIN])
    before = Export.objects.count()
    body = orjson.dumps({"format": "csv", "padding": "x" * 2_000})
    response = client.post(exports_url(world), body, content_type="application/json")
    assert response.status_code == 413
    assert Export.objects.count() == before


@pytest.mark.django_db(databases=IMPORT_DATABASES)
def test_the_multipart_upload_is_not_held_to_the_json_depth(
    world, api, django_capture_on_commit_callbacks
):
    data = {"text": "deep"}
    for _ in range(MAX_JSON_DEPTH + 8):
        data = {"child": data}
    row = orjson.dumps({"id": "deep-row", "data": data}) + b"\n"
    client = api.as_user(world.users[Role.CLIENT_ADMIN])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/v1/projects/{world.a.project.pk}/imports/",
            {"file": SimpleUploadedFile("deep.jsonl", row)},
            format="multipart",
        )
    assert response.status_code == 202, response.content
    job = client.get(f"/api/v1/imports/{response.json()['id']}/").json()
    assert (job["status"], job["imported"]) == ("succeeded", 1)
    assert Item.objects.get(external_id="deep-row").data == data


# --- fields a body does not have --------------------------------------------------------------


def test_an_unknown_field_in_a_patch(world, api):
    client = api.as_user(world.users[Role.CLIENT_ADMIN])
    project = world.a.project
    before = Project.objects.filter(pk=project.pk).values().get()
    response = client.patch(
        f"/api/v1/projects/{project.pk}/",
        {"instructions": "New words.", "colour": "red", "organization": world.b.organization.pk},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"colour": [UNKNOWN_FIELD], "organization": [UNKNOWN_FIELD]}
    assert Project.objects.filter(pk=project.pk).values().get() == before


def test_unknown_and_invalid_fields_are_named_together(world, api):
    client = api.as_user(world.users[Role.CLIENT_ADMIN])
    response = client.patch(
        f"/api/v1/projects/{world.a.project.pk}/", {"overlap": 0, "colour": 1}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"overlap", "colour"}


def test_an_unknown_field_in_a_multipart_upload(world, api):
    client = api.as_user(world.users[Role.CLIENT_ADMIN])
    before = ImportJob.objects.count()
    response = client.post(
        f"/api/v1/projects/{world.a.project.pk}/imports/",
        {"file": SimpleUploadedFile("a.jsonl", b'{"data": {}}\n'), "colour": "red"},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json() == {"colour": [UNKNOWN_FIELD]}
    assert ImportJob.objects.count() == before


@pytest.mark.django_db(databases=IMPORT_DATABASES)
def test_the_pages_csrf_field_is_not_unknown(world, client, django_capture_on_commit_callbacks):
    """The imports page sends its form (the CSRF token among its fields) with a session."""
    client.force_login(world.users[Role.CLIENT_ADMIN])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/v1/projects/{world.a.project.pk}/imports/",
            {
                "file": SimpleUploadedFile("a.jsonl", b'{"data": {"text": "x"}}\n'),
                "csrfmiddlewaretoken": "x" * 64,
            },
        )
    assert response.status_code == 202, response.content


def test_an_unknown_field_at_the_token_endpoint(world, api):
    before = Token.objects.count()
    response = api.post(
        "/api/v1/auth/token/",
        {"username": "alpha.admin", "password": PASSWORD, "scope": "admin"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"scope": [UNKNOWN_FIELD]}
    assert Token.objects.count() == before


def test_a_body_sent_to_a_post_that_takes_none(world, api):
    client = api.as_user(world.b.users[Role.ANNOTATOR])
    before = Lease.objects.count()
    response = client.post(
        f"/api/v1/projects/{world.b.project.pk}/next/", {"project": 1}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"project": [UNKNOWN_FIELD]}
    assert Lease.objects.count() == before
    assert client.post(f"/api/v1/projects/{world.b.project.pk}/next/").status_code == 200


# --- a status that is none of the statuses ---------------------------------------------------


def test_an_unknown_status_on_the_items_api_and_page(world, api, client):
    viewer = world.users[Role.CLIENT_VIEWER]
    response = api.as_user(viewer).get(f"{items_url(world)}?status=bogus")
    assert response.status_code == 400
    assert response.json() == {"status": ["Choose one of: open, complete, review."]}
    client.force_login(viewer)
    page = client.get(f"/projects/{world.a.project.pk}/items/?status=bogus")
    assert page.status_code == 400
    text = page.content.decode()
    assert 'data-param="status"' in text
    assert world.a.item.external_id not in text  # not silently every item
    fine = client.get(f"/projects/{world.a.project.pk}/items/?status=open")
    assert fine.status_code == 200 and world.a.item.external_id in fine.content.decode()
    reviews = client.get(f"/projects/{world.a.project.pk}/reviews/?status=bogus")
    assert reviews.status_code == 403  # the client's people do not review
    client.force_login(world.users[Role.QA_LEAD])
    reviews = client.get(f"/projects/{world.a.project.pk}/reviews/?status=bogus&reason=x")
    assert reviews.status_code == 400
    assert 'data-param="status"' in reviews.content.decode()
    assert 'data-param="reason"' in reviews.content.decode()
