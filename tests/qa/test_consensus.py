"""Consensus on completion: majority, ties, adaptive overlap, gold, external annotators,
Dawid-Skene with stored parameters, idempotency."""

import pytest

from labeling.models import AnnotationSource, AnnotatorKind, Item
from labeling.queue import annotator_for
from qa import consensus
from qa.models import ReviewReason, ReviewStatus, ReviewTask, TruthModel

from ..conftest import IMPORT_DATABASES
from ..factories import AnnotationFactory, AnnotatorFactory, ItemFactory


def reload(item) -> Item:
    return Item.objects.get(pk=item.pk)


def test_majority_completes_the_item_with_the_winning_label(make_project, crowd, label):
    project = make_project(overlap=3)
    item = ItemFactory(dataset__project=project)
    for user, value in zip(crowd, ["dog", "cat", "dog"], strict=False):
        label(item, user, value)
    item = reload(item)
    assert item.status == "complete"
    assert item.label == "dog"
    assert item.confidence == pytest.approx(2 / 3)
    assert not ReviewTask.objects.filter(item_id=item.pk).exists()


def test_a_tie_at_the_maximum_overlap_goes_to_review(make_project, crowd, label):
    project = make_project(overlap=2, max_overlap=2)
    item = ItemFactory(dataset__project=project)
    label(item, crowd[0], "cat")
    label(item, crowd[1], "dog")
    item = reload(item)
    assert item.status == "review"
    assert item.label is None
    review = ReviewTask.objects.get(item_id=item.pk)
    assert review.reason == ReviewReason.TIE
    assert review.status == ReviewStatus.OPEN


def test_adaptive_overlap_asks_more_people_then_sends_to_review(make_project, crowd, label):
    project = make_project(overlap=2, max_overlap=3, min_agreement=0.9)
    item = ItemFactory(dataset__project=project)
    label(item, crowd[0], "cat")
    label(item, crowd[1], "dog")
    item = reload(item)
    # Doubtful with room to grow: one more annotation is needed, the item is open again.
    assert (item.status, item.needed, item.label) == ("open", 3, None)
    label(item, crowd[2], "cat")
    item = reload(item)
    # 2 of 3 = 0.67 < 0.9 and at the maximum: review, with the majority proposed.
    assert item.status == "review"
    review = ReviewTask.objects.get(item_id=item.pk)
    assert review.reason == ReviewReason.LOW_AGREEMENT
    assert review.proposed_label == "cat"
    assert review.confidence == pytest.approx(2 / 3)


def test_agreement_at_the_threshold_completes(make_project, crowd, label):
    project = make_project(overlap=3, min_agreement=0.6)
    item = ItemFactory(dataset__project=project)
    for user, value in zip(crowd, ["bird", "bird", "cat"], strict=False):
        label(item, user, value)
    assert reload(item).status == "complete"


def test_gold_items_take_their_gold_label_and_failures_go_to_review(make_project, crowd, label):
    project = make_project(overlap=2)
    gold = ItemFactory(dataset__project=project, gold_label="bird")
    label(gold, crowd[0], "bird")
    label(gold, crowd[1], "cat")
    gold = reload(gold)
    assert gold.label == "bird"
    assert gold.status == "review"
    review = ReviewTask.objects.get(item_id=gold.pk)
    assert review.reason == ReviewReason.GOLD_FAILED
    assert "1 answer" in review.detail
    passed = ItemFactory(dataset__project=project, gold_label="cat")
    label(passed, crowd[0], "cat")
    label(passed, crowd[1], "cat")
    passed = reload(passed)
    assert (passed.status, passed.label, passed.confidence) == ("complete", "cat", 1.0)


def test_external_annotations_take_part(make_project, crowd, label):
    project = make_project(overlap=3)
    item = ItemFactory(dataset__project=project, needed=3)
    for name in ("vendorB/alice", "vendorB/bob"):
        annotator = AnnotatorFactory(
            organization=project.organization, kind=AnnotatorKind.EXTERNAL, name=name
        )
        AnnotationFactory(
            item=item,
            annotator=annotator,
            label="dog",
            source=AnnotationSource.HUMAN,
        )
    Item.objects.filter(pk=item.pk).update(done=2)
    label(item, crowd[0], "cat")
    item = reload(item)
    assert (item.status, item.label) == ("complete", "dog")


def test_multilabel_majority_per_label(make_project, crowd, label):
    project = make_project(task_type="multilabel", overlap=3, labels=["red", "green", "blue"])
    item = ItemFactory(dataset__project=project)
    for user, value in zip(crowd, [["red", "blue"], ["red"], ["red", "blue"]], strict=False):
        label(item, user, value)
    item = reload(item)
    assert item.status == "complete"
    assert item.label == ["red", "blue"]
    assert item.confidence == pytest.approx(2 / 3)


def test_consensus_is_idempotent(make_project, crowd, label):
    project = make_project(overlap=2, max_overlap=2)
    items = [ItemFactory(dataset__project=project) for _ in range(2)]
    label(items[0], crowd[0], "cat")
    label(items[0], crowd[1], "cat")
    label(items[1], crowd[0], "cat")
    label(items[1], crowd[1], "dog")
    before = list(Item.objects.filter(project=project).order_by("pk").values())
    consensus.consensus_items(project_id=project.pk, item_ids=[i.pk for i in items])
    consensus.consensus_items(project_id=project.pk, item_ids=[i.pk for i in items])
    assert list(Item.objects.filter(project=project).order_by("pk").values()) == before
    assert ReviewTask.objects.filter(project=project).count() == 1


def test_dawid_skene_trusts_the_reliable_annotator_over_two_careless_ones(
    make_project, crowd, label
):
    """The fitted model learned that crowd[1] and crowd[2] answer at random (three careful
    colleagues labeled the same items); on a new item where the two agree against the careful
    crowd[0], Dawid-Skene follows crowd[0], where majority vote would not."""
    import random

    rng = random.Random(7)
    project = make_project(overlap=3, consensus="dawid_skene", labels=["cat", "dog"])
    careful = {crowd[0], crowd[3], crowd[4]}
    for _ in range(80):
        item = ItemFactory(dataset__project=project)
        truth = rng.choice(["cat", "dog"])
        other = "dog" if truth == "cat" else "cat"
        for user in crowd:
            if user in careful:
                value = truth if rng.random() < 0.9 else other
            else:
                value = rng.choice(["cat", "dog"])
            AnnotationFactory(
                item=item,
                annotator=annotator_for(user),
                label=value,
            )
    model = consensus.truth_model_fit(project=project, write=False)
    assert TruthModel.objects.get(project=project).items_used == 80
    assert model.converged
    item = ItemFactory(dataset__project=project)
    label(item, crowd[1], "dog")
    label(item, crowd[2], "dog")
    label(item, crowd[0], "cat")
    item = reload(item)
    assert item.label == "cat"
    assert item.confidence > 0.5


def test_consensus_never_revisits_a_qa_leads_decision(world, make_project, crowd, label):
    from qa import services
    from tenancy.models import Role

    project = make_project(overlap=2, max_overlap=2)
    item = ItemFactory(dataset__project=project)
    label(item, crowd[0], "cat")
    label(item, crowd[1], "dog")
    review = ReviewTask.objects.get(item_id=item.pk)
    services.review_decide(
        review=review, user=world.users[Role.QA_LEAD], decision="relabel", label="bird"
    )
    # A redelivered completion task finds the decision and leaves it.
    consensus.consensus_items(project_id=project.pk, item_ids=[item.pk])
    item = reload(item)
    assert (item.status, item.label) == ("complete", "bird")
    assert not ReviewTask.objects.filter(item_id=item.pk, status=ReviewStatus.OPEN).exists()


@pytest.mark.django_db(databases=IMPORT_DATABASES)
def test_imported_items_with_their_overlap_of_labels_get_consensus(
    world, make_project, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from labeling.imports.services import import_job_create

    project = make_project(overlap=2, max_overlap=2)
    rows = (
        b'{"id": "a", "data": {"t": 1}, "annotations": [{"annotator": "x", "label": "dog"},'
        b' {"annotator": "y", "label": "dog"}]}\n'
        b'{"id": "b", "data": {"t": 2}, "annotations": [{"annotator": "x", "label": "dog"},'
        b' {"annotator": "y", "label": "cat"}]}\n'
        b'{"id": "c", "data": {"t": 3}, "annotations": [{"annotator": "x", "label": "dog"}]}\n'
    )
    with django_capture_on_commit_callbacks(execute=True):
        import_job_create(
            project=project, upload=SimpleUploadedFile("rows.jsonl", rows), created_by=None
        )
    items = {i.external_id: i for i in Item.objects.filter(project=project)}
    assert (items["a"].status, items["a"].label) == ("complete", "dog")
    assert items["b"].status == "review"  # a tie at the maximum overlap
    assert (items["c"].status, items["c"].label) == ("open", None)


def test_doubtful_items_at_their_maximum_go_to_review_together_and_once(make_project, crowd):
    """A batch (a sweep's) decides its agreed items, and sends its ties and low agreements that
    cannot ask anyone more to review in one go; decided again (a redelivered task), nothing is
    added twice."""
    from labeling import queue

    project = make_project(overlap=2, max_overlap=2, min_agreement=0.9)
    votes = [("cat", "dog"), ("dog", "dog"), ("bird", "cat"), ("cat", "cat")]
    items = ItemFactory.create_batch(len(votes), dataset__project=project)
    for item, pair in zip(items, votes, strict=True):
        for user, value in zip(crowd, pair, strict=False):
            queue.annotation_submit(item=item, user=user, label=value)  # consensus not run yet
    ids = [item.pk for item in items]
    assert consensus.consensus_items(project_id=project.pk, item_ids=ids) == {
        "review": 2,
        "complete": 2,
    }
    assert [(i.status, i.label) for i in map(reload, items)] == [
        ("review", None), ("complete", "dog"), ("review", None), ("complete", "cat")
    ]  # fmt: skip
    reviews = ReviewTask.objects.filter(project=project).order_by("item_id")
    assert [(r.item_id, r.reason, r.detail) for r in reviews] == [
        (items[0].pk, ReviewReason.TIE, "the vote is tied"),
        (items[2].pk, ReviewReason.TIE, "the vote is tied"),
    ]
    Item.objects.filter(pk__in=[items[0].pk, items[2].pk]).update(status="complete")
    consensus.consensus_items(project_id=project.pk, item_ids=ids)  # delivered again
    assert ReviewTask.objects.filter(project=project).count() == 2
