"""The pages under the Content-Security-Policy, in a real browser: nothing the policy blocks is
reported (the page's `securitypolicyviolation` events and the console), while the key
interaction of each page still works: labeling with the keyboard, sorting a quality table,
uploading a file and following its progress, the API reference (Swagger UI) and the other
pages with their bars and charts. tests/core/test_csp.py checks the header on every route."""

import base64
import re

import orjson
import pytest
from playwright.sync_api import expect

from labeling.models import Annotation, ImportJob, Item
from tests.conftest import IMPORT_DATABASES
from tests.e2e.test_annotate_page import SVG, make_items, tiny_wav, whole_page_shot
from tests.e2e.test_quality_pages import labeled_project

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True, databases=IMPORT_DATABASES),
]

# Sent to the test by every page of the context, before any of the page's own script runs.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (e) {
  window.__lqaViolation({page: location.pathname + location.search, directive: e.effectiveDirective,
                         blocked: e.blockedURI, sample: e.sample, line: e.lineNumber});
}, true);
"""


@pytest.fixture
def violations(page):
    """What the policy blocked, as the pages reported it (events) and the console logged it."""
    found: list = []

    def console(message) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            found.append(message.text)

    page.context.expose_function("__lqaViolation", lambda violation: found.append(violation))
    page.context.add_init_script(REPORT_VIOLATIONS)
    page.on("console", console)
    page.on("pageerror", lambda error: found.append(f"page error: {error}"))
    return found


def settle(page) -> None:
    """Let the reports of what just happened arrive (they are events, sent on their own)."""
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(200)


def test_the_policy_is_enforced_and_what_it_blocks_is_seen(e2e_world, page, log_in, violations):
    """An injected inline script does not run and an inline style does not apply; both are
    reported, so the tests below would see what a page of ours does wrong."""
    log_in("alpha.admin")
    page.evaluate(
        """() => {
      const script = document.createElement("script");
      script.textContent = "window.__ran = 1";
      document.body.append(script);
      document.body.setAttribute("style", "background: rgb(255, 0, 0)");
    }"""
    )
    page.wait_for_function("() => document.body.hasAttribute('style')")
    assert page.evaluate("typeof window.__ran") == "undefined"
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") != "rgb(255, 0, 0)"
    page.wait_for_timeout(300)
    events = [v for v in violations if isinstance(v, dict)]
    assert {v["directive"] for v in events} == {"script-src-elem", "style-src-attr"}, violations
    logged = [v for v in violations if isinstance(v, str)]
    assert len(logged) == 2 and all("inline" in text for text in logged), violations


def test_annotator_labels_with_the_keyboard_under_the_policy(
    e2e_world, page, log_in, violations, shots_dir
):
    project = e2e_world.a.project
    first, second = make_items(project, 2, priority=1.0)
    data = {
        "text": "Arrived a day early; the fabric feels cheap.",
        "image": "data:image/svg+xml;base64," + base64.b64encode(SVG.encode()).decode(),
        "audio": "data:audio/wav;base64," + base64.b64encode(tiny_wav()).decode(),
        # Plain http is not in the policy's img-src/media-src: listed, never loaded.
        "video": "http://127.0.0.1:9/clip.mp4",
    }
    Item.objects.filter(pk=first.pk).update(data=data, priority=2.0)
    log_in("ann")
    page.goto(f"/projects/{project.pk}/annotate/")
    task = page.get_by_test_id("task")
    expect(task).to_have_attribute("data-item", str(first.pk))
    page.wait_for_function(
        "() => { const i = document.querySelector('[data-testid=task-image]');"
        " return i && i.complete && i.naturalWidth === 360; }"
    )
    expect(page.get_by_test_id("task-audio")).to_have_attribute("src", data["audio"])
    expect(page.get_by_test_id("task-video")).to_have_count(0)
    expect(page.get_by_test_id("task-fields")).to_contain_text(
        "not shown: only https and data:video/ URLs are displayed"
    )
    today = page.get_by_test_id("today-count")
    expect(today).to_have_text(re.compile(r"^\d+$"))
    labeled_before = int(today.inner_text())
    whole_page_shot(page, shots_dir / "csp-annotate.png")

    page.keyboard.press("2")
    expect(page.get_by_test_id("submit")).to_be_enabled()
    page.keyboard.press("Enter")

    expect(task).to_have_attribute("data-item", str(second.pk))
    expect(today).to_have_text(str(labeled_before + 1))
    assert Annotation.objects.get(item_id=first.pk).label == "negative"
    settle(page)
    assert violations == []


def test_quality_table_sorts_under_the_policy(e2e_world, page, log_in, violations, shots_dir):
    project, _ = labeled_project(e2e_world)
    log_in("qa")
    page.goto(f"/projects/{project.pk}/quality/")
    table = page.get_by_test_id("annotator-table")
    expect(table).to_contain_text("vendorB/carl")
    diagonal = page.get_by_test_id("heatmap").locator("td.diag")
    expect(diagonal).to_have_count(3)
    # Shaded by its share of the row (an attribute and the stylesheet, no style attribute).
    shade = diagonal.first.evaluate("e => [e.dataset.heat, getComputedStyle(e).backgroundColor]")
    assert int(shade[0]) >= 5 and shade[1].startswith("rgba(37, 99, 235, 0."), shade

    def column(index: int) -> list[str]:
        return table.locator(f"tbody tr td:nth-child({index})").all_inner_texts()

    header = table.locator("thead th[data-sort]").first  # "Annotator"
    header.click()
    expect(table.locator("th[aria-sort=descending]")).to_have_text("Annotator")
    names = column(1)
    assert names == sorted(names, key=str.lower, reverse=True) and len(names) >= 3
    header.press("Enter")  # the keyboard sorts too: the other way round
    expect(table.locator("th[aria-sort=ascending]")).to_have_text("Annotator")
    assert column(1) == names[::-1]
    page.screenshot(path=shots_dir / "csp-quality.png", full_page=True)
    settle(page)
    assert violations == []


def test_upload_shows_its_progress_under_the_policy(
    e2e_world, page, log_in, violations, tmp_path, shots_dir
):
    project = e2e_world.a.project
    path = tmp_path / "small.jsonl"
    rows = [{"id": f"s{n}", "data": {"text": f"row {n}"}} for n in range(25)]
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    log_in("alpha.admin")
    page.goto(f"/projects/{project.pk}/imports/")
    # Every text the status badge shows, in order: the upload's progress, then the job's.
    page.evaluate(
        """() => {
      window.__statuses = [];
      const badge = document.querySelector("[data-testid=job-status]");
      new MutationObserver(() => window.__statuses.push(badge.textContent))
        .observe(badge, {childList: true, characterData: true, subtree: true});
    }"""
    )

    page.get_by_test_id("file").set_input_files(path)
    page.get_by_role("button", name="Upload").click()

    expect(page.get_by_test_id("job-status")).to_have_text("Succeeded")
    expect(page.get_by_test_id("job-message")).to_have_text("25 of 25 rows imported.")
    expect(page.locator("#job-bar")).to_have_attribute("width", "100")
    # Drawn across the whole track (once its transition ends).
    page.wait_for_function(
        """() => { const bar = document.getElementById("job-bar").getBoundingClientRect();
        const track = document.querySelector("#job .progress").getBoundingClientRect();
        return track.width > 100 && Math.abs(bar.width - track.width) < 1; }"""
    )
    statuses = page.evaluate("window.__statuses")
    assert statuses[0] == "Uploading" and statuses[-1] == "Succeeded", statuses
    expect(page.get_by_test_id("dataset-row").filter(has_text="small")).to_have_count(1)
    assert ImportJob.objects.get(project=project, original_name="small.jsonl").imported == 25
    page.screenshot(path=shots_dir / "csp-imports.png", full_page=True)
    settle(page)
    assert violations == []


def test_the_api_reference_works_under_the_policy(e2e_world, page, log_in, violations, shots_dir):
    log_in("alpha.admin")
    page.goto("/api/v1/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("LabelQA API")
    me = page.locator(".opblock").filter(
        has=page.locator('.opblock-summary-path[data-path="/api/v1/me/"]')
    )
    me.locator(".opblock-summary").click()
    me.get_by_role("button", name="Try it out").click()
    me.get_by_role("button", name="Execute").click()
    answer = me.locator(".responses-wrapper .live-responses-table")
    expect(answer).to_contain_text("alpha.admin")
    me.scroll_into_view_if_needed()
    page.screenshot(path=shots_dir / "csp-api-docs.png")
    settle(page)
    assert violations == []


@pytest.mark.parametrize(
    ("username", "paths"),
    [
        (
            "op",
            [
                "/",
                "/projects/{project}/",
                "/projects/{project}/items/",
                "/projects/{project}/models/",
                "/projects/{project}/exports/",
                "/projects/{project}/reviews/",
                "/projects/{project}/audits/",
                "/organizations/{organization}/usage/",
                "/status/",
                "/admin/",
                "/admin/tenancy/project/",
                "/admin/tenancy/project/{project}/change/",
                "/api/v1/projects/{project}/",  # DRF's browsable API, with its forms
            ],
        ),
        ("ann", ["/"]),
        ("alpha.admin", ["/", "/no/such/page/"]),
    ],
)
def test_other_pages_raise_no_violation(e2e_world, page, log_in, violations, username, paths):
    """Home pages with their progress bars, the models page's chart and matrix, the exports
    with their bars, usage, reviews, audits, status, the admin, the browsable API, a 404."""
    log_in(username)
    ids = {"project": e2e_world.a.project.pk, "organization": e2e_world.a.organization.pk}
    for path in paths:
        response = page.goto(path.format(**ids))
        assert response.status == (404 if "no/such" in path else 200), path
        if path == "/":
            expect(page.locator(".progress rect").first).to_be_attached()
        settle(page)
    assert violations == []
