"""The review queue (accept, relabel, the decision as the final label) and AQL audits."""

import pytest

from billing.models import DailyUsage
from labeling.models import Annotation, Item
from qa import services
from qa.models import Audit, ReviewReason, ReviewStatus, ReviewTask
from tenancy.models import Role

from ..factories import ItemFactory


def tied_item(make_project, crowd, label):
    project = make_project(overlap=2, max_overlap=2)
    item = ItemFactory(dataset__project=project)
    label(item, crowd[0], "cat")
    label(item, crowd[1], "dog")
    return project, item, ReviewTask.objects.get(item_id=item.pk)


def test_relabel_is_a_review_annotation_and_the_final_label(world, make_project, crowd, label):
    project, item, review = tied_item(make_project, crowd, label)
    lead = world.users[Role.QA_LEAD]
    review = services.review_decide(review=review, user=lead, decision="relabel", label="bird")
    item.refresh_from_db()
    assert (item.status, item.label, item.confidence) == ("complete", "bird", 1.0)
    assert (review.status, review.decision, review.label) == ("decided", "relabel", "bird")
    decision = Annotation.objects.get(item=item, source="review")
    assert (decision.label, decision.annotator.user) == ("bird", lead)
    usage = DailyUsage.objects.get(project=project)
    assert usage.reviews == 1


def test_accept_takes_the_proposed_label(world, make_project, crowd, label):
    project = make_project(overlap=3, max_overlap=3, min_agreement=0.9)
    item = ItemFactory(dataset__project=project)
    for user, value in zip(crowd, ["cat", "cat", "dog"], strict=False):
        label(item, user, value)
    review = ReviewTask.objects.get(item_id=item.pk)
    assert review.reason == ReviewReason.LOW_AGREEMENT
    services.review_decide(review=review, user=world.users[Role.QA_LEAD], decision="accept")
    item.refresh_from_db()
    assert (item.status, item.label) == ("complete", "cat")


def test_decision_errors(world, make_project, crowd, label):
    _, item, review = tied_item(make_project, crowd, label)
    lead = world.users[Role.QA_LEAD]
    with pytest.raises(services.ValidationError) as error:
        services.review_decide(review=review, user=lead, decision="accept")
    assert "relabel" in str(error.value)  # a tie proposes nothing to accept
    with pytest.raises(services.ValidationError) as error:
        services.review_decide(review=review, user=lead, decision="relabel", label="fish")
    assert "label" in error.value.message_dict
    services.review_decide(review=review, user=lead, decision="relabel", label="cat")
    with pytest.raises(services.Conflict):
        services.review_decide(review=review, user=lead, decision="relabel", label="dog")
    assert Annotation.objects.filter(item=item, source="review").count() == 1


def test_review_api(world, api, make_project, crowd, label):
    project, item, review = tied_item(make_project, crowd, label)
    from tenancy import services as tenancy_services

    lead = world.users[Role.QA_LEAD]
    tenancy_services.workforce_assign(project=project, user=lead, role="qa_lead")
    client = api.as_user(lead)
    queue = client.get(f"/api/v1/projects/{project.pk}/reviews/?status=open").json()
    assert queue["open"] == {"tie": 1}
    assert [r["item"] for r in queue["results"]] == [item.pk]
    detail = client.get(f"/api/v1/reviews/{review.pk}/").json()
    assert sorted(a["label"] for a in detail["item"]["annotations"]) == ["cat", "dog"]
    bad = client.post(f"/api/v1/reviews/{review.pk}/", {"decision": "relabel"}, format="json")
    assert bad.status_code == 400
    assert "label" in bad.json()
    ok = client.post(
        f"/api/v1/reviews/{review.pk}/", {"decision": "relabel", "label": "dog"}, format="json"
    )
    assert ok.status_code == 200, ok.content
    assert ok.json()["label"] == "dog"
    again = client.post(f"/api/v1/reviews/{review.pk}/", {"decision": "accept"}, format="json")
    assert again.status_code == 409
    item_json = client.get(f"/api/v1/items/{item.pk}/").json()
    assert (item_json["label"], item_json["status"]) == ("dog", "complete")
    # A QA lead not assigned to the project does not see its reviews at all.
    other_lead = tenancy_services.member_create(
        organization=world.vendor, username="lead2", password="a-fine-passphrase-9",
        role="qa_lead",
    ).user  # fmt: skip
    assert api.as_user(other_lead).get(f"/api/v1/reviews/{review.pk}/").status_code == 404


def completed_lot(make_project, crowd, label, size):
    project = make_project(overlap=1, aql=1.0)
    items = [ItemFactory(dataset__project=project, needed=1) for _ in range(size)]
    for item in items:
        label(item, crowd[0], "cat")
    return project, items


def test_audit_plan_and_acceptance(world, make_project, crowd, label):
    project, items = completed_lot(make_project, crowd, label, 60)
    lead = world.users[Role.QA_LEAD]
    audit = services.audit_create(project=project, user=lead)
    # ISO 2859-1: lot 51-90, level II -> code E, n = 13; at AQL 1.0: Ac 0, Re 1.
    assert audit.lot_size == 60
    assert (audit.code_letter, audit.plan_letter) == ("E", "E")
    assert (audit.sample_size, audit.accept, audit.reject) == (13, 0, 1)
    samples = ReviewTask.objects.filter(audit=audit)
    assert samples.count() == 13
    assert set(samples.values_list("reason", flat=True)) == {ReviewReason.AUDIT}
    for review in samples:
        services.review_decide(review=review, user=lead, decision="accept")
    audit.refresh_from_db()
    assert (audit.status, audit.inspected, audit.defects) == ("accepted", 13, 0)
    # The next audit starts where this lot ended: nothing new is there.
    with pytest.raises(services.ValidationError):
        services.audit_create(project=project, user=lead)


def test_a_rejected_lot_goes_back_for_rework(world, make_project, crowd, label):
    project, items = completed_lot(make_project, crowd, label, 60)
    lead = world.users[Role.QA_LEAD]
    audit = services.audit_create(project=project, user=lead)
    first = ReviewTask.objects.filter(audit=audit).first()
    services.review_decide(review=first, user=lead, decision="relabel", label="dog")
    audit.refresh_from_db()
    assert (audit.status, audit.defects) == (Audit.Status.REJECTED, 1)
    # Every other item of the lot asks one more person and loses its label meanwhile.
    assert audit.reworked_items == 59
    reworked = Item.objects.filter(project=project).exclude(pk=first.item_id)
    assert set(reworked.values_list("status", "needed", "label")) == {("open", 2, None)}
    relabeled = Item.objects.get(pk=first.item_id)
    assert (relabeled.status, relabeled.label) == ("complete", "dog")
    assert not ReviewTask.objects.filter(audit=audit, status=ReviewStatus.OPEN).exists()


def test_audit_api(world, api, make_project, crowd, label):
    project, _ = completed_lot(make_project, crowd, label, 10)
    from tenancy import services as tenancy_services

    lead = world.users[Role.QA_LEAD]
    tenancy_services.workforce_assign(project=project, user=lead, role="qa_lead")
    created = api.as_user(lead).post(f"/api/v1/projects/{project.pk}/audits/")
    assert created.status_code == 201, created.content
    body = created.json()
    # lot 9-15 -> code C (n = 5); AQL 1.0 at C points down to E: n = 13 > lot: all 10.
    assert (body["lot_size"], body["sample_size"]) == (10, 10)
    viewer = api.as_user(world.users[Role.CLIENT_VIEWER])
    listed = viewer.get(f"/api/v1/projects/{project.pk}/audits/").json()
    assert [a["id"] for a in listed] == [body["id"]]
    again = api.as_user(lead).post(f"/api/v1/projects/{project.pk}/audits/")
    assert again.status_code == 400
    assert "lot" in again.json()
