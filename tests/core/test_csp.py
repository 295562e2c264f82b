"""The Content-Security-Policy (core/csp.py): the exact header on every answer of every route of
the route matrix, for every role, another tenant and anonymous callers, on error pages, the
admin and the API reference; and no inline script, style or event handler in any page or
template, which the policy would block. tests/e2e/test_csp.py watches the pages in a browser."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.test import Client

from qa import reports
from tenancy.models import Organization, Role

from ..conftest import ROLES
from ..tenancy.test_route_matrix import CASES, ROUTES, SPECS, call, client_for

ROOT = Path(__file__).resolve().parents[2]
POLICY = (
    "default-src 'self'; img-src 'self' data: https:; media-src 'self' data: https:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
# Attributes that hold a URL, where a javascript: URL would run script.
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href"}


class InlineCode(HTMLParser):
    """What the policy blocks in a page: script elements without src (a JSON data block is not
    run, so it is allowed), style elements and attributes, on* handlers, javascript: URLs."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script" and "src" not in names and names.get("type") != "application/json":
            self.found.append(f"<script> at line {self.getpos()[0]}")
        if tag == "style":
            self.found.append(f"<style> at line {self.getpos()[0]}")
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.found.append(f'<{tag} {name}="{value}">')
            elif name in URL_ATTRIBUTES and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f'<{tag} {name}="{value}">')


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    parser.close()
    return parser.found


def is_html(response) -> bool:
    return response.get("Content-Type", "").startswith("text/html")


def body(response) -> str:
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    return raw.decode()


def assert_policy(response, what) -> None:
    assert response.get("Content-Security-Policy") == POLICY, what
    assert "Content-Security-Policy-Report-Only" not in response, what
    if is_html(response):
        assert inline_code(body(response)) == [], what


def test_the_inline_code_finder_finds_what_the_policy_blocks():
    page = (
        '<p onclick="go()">a</p><div style="width:3%"></div><script>run()</script>'
        "<style>p{}</style><a href=' javascript:run()'>x</a><svg><rect onload='x'/></svg>"
    )
    assert len(inline_code(page)) == 6
    allowed = (
        '<script src="/static/js/a.js" defer></script><script type="application/json">{}</script>'
        '<svg><rect width="42" height="1" fill="#fff"/></svg><a href="/x" data-on="1">y</a>'
    )
    assert inline_code(allowed) == []


def page_routes_for(role) -> set[str]:
    """The pages (not API routes) the role may GET on its own objects."""
    return {
        name
        for name, spec in SPECS.items()
        if not ROUTES[name].is_api and spec.methods.get("get", {}).get(role) == 200
    }


@pytest.mark.parametrize("role", ROLES)
def test_every_route_answers_with_the_policy(world, api, client, role):
    """Every case of the route matrix (GETs first, while the world is as seeded), on the role's
    own objects; each GET again on another tenant's (404 pages)."""
    cases = sorted(CASES, key=lambda case: case[1] != "get")
    read, html_pages = set(), set()
    for name, method in cases:
        user_client = client_for(api, client, world, name, role)
        response = call(user_client, world, name, method, role, world.own_kwargs(role))
        assert_policy(response, (name, method, role, response.status_code))
        if method == "get" and response.status_code == 200:
            read.add(name)
            if is_html(response):
                html_pages.add(name)
    for name, method in cases:
        if method == "get" and ROUTES[name].kwargs:
            user_client = client_for(api, client, world, name, role)
            response = call(user_client, world, name, method, role, world.other_kwargs())
            assert_policy(response, (name, method, role, "other tenant", response.status_code))
    # Every page the role may open was read (and the API reference), the HTML ones scanned.
    assert read >= page_routes_for(role) | {"api-docs"}, role
    assert {"home", "project-detail", "api-docs"} <= html_pages, role


def test_every_route_answers_anonymous_callers_with_the_policy(world, api, client):
    for name, method in CASES:
        on_api = ROUTES[name].is_api
        kwargs = world.own_kwargs(Role.CLIENT_ADMIN)
        response = call(api if on_api else client, world, name, method, Role.CLIENT_ADMIN, kwargs)
        assert_policy(response, (name, method, response.status_code))


def test_error_pages_carry_the_policy(world, client):
    answers = {"not found, anonymous": client.get("/no/such/page/")}
    client.force_login(world.users[Role.CLIENT_ADMIN])
    answers["not found"] = client.get("/no/such/page/")
    answers["forbidden"] = client.get("/status/")
    answers["bad host"] = client.get("/", HTTP_HOST="evil.example")
    strict = Client(enforce_csrf_checks=True)
    answers["csrf"] = strict.post("/accounts/login/", {"username": "x", "password": "y"})
    statuses = {what: response.status_code for what, response in answers.items()}
    assert statuses == {
        "not found, anonymous": 404,
        "not found": 404,
        "forbidden": 403,
        "bad host": 400,
        "csrf": 403,
    }
    for what, response in answers.items():
        assert is_html(response), what
        assert_policy(response, what)
    assert "CSRF verification failed" in body(answers["csrf"])


@pytest.mark.urls("tests.core.urls_failing")
def test_the_server_error_page_carries_the_policy(db):
    response = Client(raise_request_exception=False).get("/fails/")
    assert response.status_code == 500
    assert is_html(response)
    assert_policy(response, "server error")


def test_the_admin_carries_the_policy(world, client):
    organization = Organization.objects.get(pk=world.a.organization.pk)
    anonymous = client.get("/admin/login/")
    client.force_login(world.users[Role.OPERATOR])
    pages = {
        "login": anonymous,
        "index": client.get("/admin/"),
        "list": client.get("/admin/tenancy/organization/"),
        "change": client.get(f"/admin/tenancy/organization/{organization.pk}/change/"),
    }
    assert {what: r.status_code for what, r in pages.items()} == dict.fromkeys(pages, 200)
    for what, response in pages.items():
        assert_policy(response, what)
    assert organization.name in body(pages["change"])


def test_the_api_reference_loads_its_script_from_a_url(client):
    page = client.get("/api/v1/docs/")
    assert_policy(page, "docs")
    sources = re.findall(r'<script src="([^"]+)"', body(page))
    assert "/api/v1/docs/?script=" in sources
    script = client.get("/api/v1/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle(" in body(script)
    assert_policy(script, "docs script")


def test_the_report_being_computed_refreshes_without_script(world, client, monkeypatch):
    """The quality page of a report still computing in Celery reloads itself: a meta refresh,
    not an inline script."""
    monkeypatch.setattr(reports, "SYNC_LIMIT", 0)
    client.force_login(world.users[Role.CLIENT_ADMIN])
    response = client.get(f"/projects/{world.a.project.pk}/quality/")
    text = body(response)
    assert 'data-testid="computing"' in text
    assert '<meta http-equiv="refresh" content="5">' in text
    assert_policy(response, "computing")


TEMPLATE_DIRS = [ROOT / "templates", *sorted(ROOT.glob("*/templates"))]
TAG = re.compile(r"<[a-zA-Z][^>]*>", re.S)
INLINE_IN_TAG = re.compile(r"""\s(?:on[a-z]+|style)\s*=|javascript:""", re.I)
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>")


def template_files() -> list[Path]:
    return sorted(p for d in TEMPLATE_DIRS for p in d.rglob("*.html"))


def test_no_template_has_inline_script_or_style():
    """Also the branches the pages above do not render."""
    assert len(template_files()) >= 20
    found = []
    for path in template_files():
        text = path.read_text()
        where = path.relative_to(ROOT)
        found += [f"{where}: {m.group()}" for m in INLINE_SCRIPT.finditer(text)]
        found += [f"{where}: <style" for _ in re.finditer(r"<style\b", text)]
        found += [f"{where}: {t}" for t in TAG.findall(text) if INLINE_IN_TAG.search(t)]
    assert found == []
