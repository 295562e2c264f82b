"""The pages in a real browser: log in through the form, each role's home page, a project page,
log out, and the operators' status page."""

import re
import threading
from dataclasses import dataclass

import pytest
from celery.signals import task_prerun
from django.db import connection
from playwright.sync_api import expect

from tenancy.models import Organization, Role
from tests.conftest import ROLES

pytestmark = pytest.mark.e2e

LOGIN_ERROR = "Your username and password did not match. Please try again."


@dataclass(frozen=True)
class Home:
    title: str
    projects: list[str]  # the project links on the page, in page order
    client_cards: list[str]  # the operator's one card per client organization


# What each role of side A sees. Vendor roles are assigned to Alpha's project only.
HOMES = {
    "operator": Home(
        "Operations overview", ["Alpha sentiment", "Bravo triage"], ["Alpha Retail", "Bravo Health"]
    ),
    "client_admin": Home("Alpha Retail", ["Alpha sentiment"], []),
    "client_viewer": Home("Alpha Retail", ["Alpha sentiment"], []),
    "qa_lead": Home("My projects", ["Alpha sentiment"], []),
    "annotator": Home("My projects", ["Alpha sentiment"], []),
}


def at(path: str) -> re.Pattern:
    """Matches a URL of the live server whose path and query are exactly `path`."""
    return re.compile(r"^http://[^/]+" + re.escape(path) + "$")


def test_every_role_has_an_expected_home_page():
    assert sorted(HOMES) == sorted(ROLES)


@pytest.mark.parametrize("role", ROLES)
def test_role_logs_in_and_sees_its_home_page_and_project(role, e2e_world, page, log_in, shots_dir):
    user, home = e2e_world.users[role], HOMES[role]

    log_in(user.username)

    expect(page).to_have_url(at("/"))
    expect(page.get_by_test_id("who")).to_have_text(user.username)
    expect(page.get_by_test_id("role")).to_have_attribute("data-role", role)
    expect(page.get_by_test_id("role")).to_have_text(Role(role).label)
    expect(page.get_by_test_id("home-title")).to_have_text(home.title)
    expect(page.get_by_test_id("project-row").get_by_test_id("project-link")).to_have_text(
        home.projects
    )
    expect(page.get_by_test_id("client-card").get_by_role("heading")).to_have_text(
        home.client_cards
    )
    if role != "operator":
        expect(page.locator("body")).not_to_contain_text("Bravo")
    # Only operators get the status page (and its link in the header).
    expect(page.get_by_role("link", name="Status")).to_have_count(1 if role == "operator" else 0)
    page.screenshot(path=shots_dir / f"{role}.png", full_page=True)

    page.get_by_role("link", name="Alpha sentiment").click()

    expect(page).to_have_url(at(f"/projects/{e2e_world.a.project.pk}/"))
    expect(page.get_by_test_id("project-title")).to_have_text("Alpha sentiment")
    expect(page.get_by_test_id("count-items")).to_have_text("3")


@pytest.mark.parametrize("role", [r for r in ROLES if r != "operator"])
def test_another_tenants_project_page_is_not_found(role, e2e_world, page, log_in):
    log_in(e2e_world.users[role].username)
    expect(page.get_by_test_id("who")).to_be_visible()

    response = page.goto(f"/projects/{e2e_world.b.project.pk}/")

    assert response.status == 404
    expect(page.locator("body")).not_to_contain_text("Bravo")


def test_anonymous_visitor_lands_on_the_login_form(e2e_world, page):
    page.goto("/")

    expect(page).to_have_url(at("/accounts/login/?next=/"))
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_test_id("who")).to_have_count(0)


def test_wrong_password_shows_the_error_and_stays_on_the_login_page(e2e_world, page, log_in):
    log_in(e2e_world.users["operator"].username, "not-the-password")

    expect(page).to_have_url(at("/accounts/login/"))
    expect(page.get_by_role("alert")).to_have_text(LOGIN_ERROR)
    expect(page.get_by_label("Username")).to_have_value(e2e_world.users["operator"].username)
    expect(page.get_by_label("Password")).to_have_value("")
    expect(page.get_by_test_id("who")).to_have_count(0)
    page.goto("/")
    expect(page).to_have_url(at("/accounts/login/?next=/"))


def test_a_lockout_is_shown_on_the_login_page_and_refuses_the_right_password(
    e2e_world, page, log_in
):
    username = e2e_world.users["client_admin"].username
    for n in range(5):
        log_in(username, f"not-the-password-{n}")

    log_in(username)  # the right password, during the lockout

    expect(page).to_have_url(at("/accounts/login/"))
    expect(page.get_by_test_id("lockout")).to_contain_text("even with the right password")
    expect(page.get_by_label("Username")).to_have_value(username)
    expect(page.get_by_test_id("who")).to_have_count(0)


def test_log_out_returns_to_the_login_page(e2e_world, page, log_in):
    log_in(e2e_world.users["client_viewer"].username)
    expect(page.get_by_test_id("who")).to_have_text("alpha.viewer")

    page.get_by_role("button", name="Log out").click()

    expect(page).to_have_url(at("/accounts/login/"))
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_test_id("who")).to_have_count(0)
    page.goto("/")
    expect(page).to_have_url(at("/accounts/login/?next=/"))


@pytest.fixture
def tasks_run_in_this_process():
    """(task name, ran eagerly, ran in the main thread) of each task started in this process."""
    started = []

    def record(task, **_):
        in_main_thread = threading.current_thread() is threading.main_thread()
        started.append((task.name, task.request.is_eager, in_main_thread))

    task_prerun.connect(record, weak=False)
    yield started
    task_prerun.disconnect(record)


def test_operator_status_page_shows_the_worker_answered(
    e2e_world, page, log_in, tasks_run_in_this_process
):
    log_in(e2e_world.users["operator"].username)

    page.get_by_role("link", name="Status").click()

    expect(page).to_have_url(at("/status/"))
    expect(page.get_by_test_id("worker-ok")).to_have_text("answered")
    worker = page.locator("dd", has=page.get_by_test_id("worker-ok"))
    expect(worker).to_contain_text(f"database {connection.settings_dict['NAME']}")
    expect(worker).to_contain_text(f"· {Organization.objects.count()} organizations")
    # The autouse eager fixture reaches the live server's thread: the ping ran there, in process.
    assert tasks_run_in_this_process == [("tenancy.worker_ping", True, False)]
