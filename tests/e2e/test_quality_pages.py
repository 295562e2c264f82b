"""The QA lead's pages in a real browser: the agreement report (alpha, the annotator table, the
heatmap), relabeling from the review queue, and the new final label in the API and on the
project page; audits; who may open what."""

import random

import pytest
from playwright.sync_api import expect

from labeling.models import AnnotatorKind, Item
from qa.models import ReviewTask
from tenancy import services as tenancy_services
from tenancy.models import Role
from tests.conftest import IMPORT_DATABASES
from tests.factories import AnnotationFactory, AnnotatorFactory, ItemFactory

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True, databases=IMPORT_DATABASES),
]


def labeled_project(world):
    """30 items labeled by three external annotators (one of them careless), and one tied
    item at its maximum overlap in the review queue."""
    project = tenancy_services.project_create(
        organization=world.a.organization,
        name="Report project",
        labels=["cat", "dog", "bird"],
        overlap=2,
        max_overlap=2,
    )
    tenancy_services.workforce_assign(
        project=project, user=world.users[Role.QA_LEAD], role="qa_lead"
    )
    rng = random.Random(5)
    people = [
        AnnotatorFactory(organization=project.organization, kind=AnnotatorKind.EXTERNAL, name=name)
        for name in ("vendorB/alice", "vendorB/bob", "vendorB/carl")
    ]
    for n in range(30):
        item = ItemFactory(dataset__project=project, data={"text": f"Photo {n}"}, needed=3)
        truth = rng.choice(project.labels)
        for person in people:
            careless = person.name.endswith("carl")
            value = rng.choice(project.labels) if careless else truth
            AnnotationFactory(item=item, annotator=person, label=value)
    tied = ItemFactory(
        dataset__project=project,
        data={"text": "A blurry animal, maybe a cat"},
        external_id="tied-1",
    )
    from labeling import queue

    annotators = []
    for name in ("ann", "ann.spare"):
        user = world.users[Role.ANNOTATOR] if name == "ann" else world.spare_annotator
        tenancy_services.workforce_assign(project=project, user=user, role="annotator")
        annotators.append(user)
    queue.annotation_submit(item=tied, user=annotators[0], label="cat")
    queue.annotation_submit(item=tied, user=annotators[1], label="dog")
    return project, tied


def test_qa_lead_reads_the_report_and_relabels_from_the_queue(e2e_world, page, log_in, api):
    project, tied = labeled_project(e2e_world)
    # The consensus hook ran on commit: the tied item waits for review.
    assert Item.objects.get(pk=tied.pk).status == "review"
    log_in("qa")
    page.goto(f"/projects/{project.pk}/")
    page.get_by_test_id("quality-link").click()
    expect(page.get_by_test_id("page-title")).to_have_text("Quality report")
    alpha = page.get_by_test_id("alpha").inner_text()
    assert alpha != "—" and -1 <= float(alpha) <= 1
    expect(page.get_by_test_id("alpha-ci")).to_contain_text("95% CI")
    table = page.get_by_test_id("annotator-table")
    expect(table).to_contain_text("vendorB/alice")
    expect(table).to_contain_text("vendorB/carl")
    # Sorting by agreement with consensus puts the careless annotator below the careful ones.
    table.get_by_role("button", name="Agreement with consensus").click()
    expect(table.locator("th[aria-sort=descending]")).to_have_text("Agreement with consensus")
    names = [
        row.split("\t")[0].split("\n")[0] for row in table.locator("tbody tr").all_inner_texts()
    ]
    order = {name: names.index(name) for name in ("vendorB/alice", "vendorB/bob", "vendorB/carl")}
    assert order["vendorB/carl"] > max(order["vendorB/alice"], order["vendorB/bob"]), names
    heatmap = page.get_by_test_id("heatmap")
    expect(heatmap.locator("td.diag")).to_have_count(3)
    # Into the review queue and relabel the tied item as "bird".
    page.get_by_test_id("review-link").click()
    expect(page.get_by_test_id("page-title")).to_have_text("Review queue")
    card = page.locator(f"[data-testid=review][data-item='{tied.pk}']")
    expect(card).to_contain_text("Tied vote")
    card.locator("[data-testid=relabel][data-label=bird]").click()
    page.wait_for_load_state()
    expect(page.locator(".messages")).to_contain_text("decided")
    expect(page.locator(f"[data-testid=review][data-item='{tied.pk}']")).to_have_count(0)
    # The decision is the item's final label: in the API and on the project page.
    item = api.as_user(e2e_world.users[Role.QA_LEAD]).get(f"/api/v1/items/{tied.pk}/").json()
    assert (item["label"], item["status"]) == ("bird", "complete")
    assert [a["source"] for a in item["annotations"]].count("review") == 1
    page.goto(f"/projects/{project.pk}/")
    row = page.get_by_test_id("recent-items").locator(f"tr[data-item='{tied.pk}']")
    expect(row.get_by_test_id("final-label")).to_have_text("bird")
    assert ReviewTask.objects.get(item_id=tied.pk).decided_by.username == "qa"


def test_audit_page_and_who_sees_the_queue(e2e_world, page, log_in):
    project, _ = labeled_project(e2e_world)
    Item.objects.filter(project=project, status="open").update(status="complete")
    from django.utils import timezone

    Item.objects.filter(project=project).update(completed_at=timezone.now())
    log_in("qa")
    page.goto(f"/projects/{project.pk}/audits/")
    page.get_by_test_id("start-audit").click()
    page.wait_for_load_state()
    expect(page.locator(".messages")).to_contain_text("sampled")
    expect(page.get_by_test_id("verdict").first).to_have_text("Inspecting")
    # A client's viewer reads the report and the audits but not the vendor's review queue.
    page.context.clear_cookies()
    log_in("alpha.viewer")
    page.goto(f"/projects/{project.pk}/quality/")
    expect(page.get_by_test_id("alpha")).to_be_visible()
    expect(page.get_by_test_id("review-link")).to_have_count(0)
    response = page.goto(f"/projects/{project.pk}/reviews/")
    assert response.status == 403
