"""Browser fixtures: one headless Chromium per session, a fresh context (cookies) per test.

The pages are served by pytest-django's `live_server` (a real HTTP server in a thread of this
process) and driven by Debian's chromium through Playwright's sync API.
"""

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import require_service
from tests.factories import PASSWORD

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
SHOTS_DIR = Path("/tmp/e2e-shots")
# Generous for a loaded CI machine, short enough that a missing element fails the test quickly.
TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
def browser():
    require_service("LQA_CHROMIUM", "Chromium")
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("LQA_CHROMIUM") or shutil.which("chromium")
    # While Playwright's sync API is open it keeps an asyncio loop registered as running in the
    # main thread, and Django refuses every ORM call made there (fixtures, assertions, and the
    # tests that run after these in the session) as "async unsafe". The calls are synchronous;
    # the loop only drives the browser. Set only once a browser is really started.
    with pytest.MonkeyPatch.context() as env, sync_playwright() as playwright:
        env.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def e2e_world(transactional_db, world):
    """The shared world, committed: the live server's thread has its own connection and only
    sees committed rows, so the browser tests run on a transactional database."""
    return world


@pytest.fixture
def page(browser, live_server):
    """A page in a fresh browser context (no cookies) whose relative URLs go to the live server."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def log_in(page):
    """`log_in(username, password)` fills the real login form and submits it."""

    def submit(username: str, password: str = PASSWORD) -> None:
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()

    return submit


@pytest.fixture(scope="session")
def shots_dir() -> Path:
    SHOTS_DIR.mkdir(parents=True, exist_ok=True)
    return SHOTS_DIR
