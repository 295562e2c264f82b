"""labeling's pre-label write (the service prelabels calls): which items it touches, the
overlap it leaves them, and the model's annotation it keeps one of per item."""

import pytest

from labeling.models import Annotation, AnnotationSource, AnnotatorKind, Item, ItemStatus
from labeling.services import ItemPrelabel, item_prelabels_set

from ..factories import DatasetFactory, ItemFactory, ProjectFactory

pytestmark = pytest.mark.django_db


def _prelabel(item, label="cat", confidence=0.95, needed=1):
    return ItemPrelabel(
        item_id=item.pk,
        label=label,
        confidence=confidence,
        priority=round(1 - confidence, 6),
        needed=needed,
    )


def test_open_items_get_the_prelabel_priority_and_overlap():
    project = ProjectFactory(overlap=3)
    dataset = DatasetFactory(project=project)
    fresh = ItemFactory(dataset=dataset)
    started = ItemFactory(dataset=dataset, done=1)
    extended = ItemFactory(dataset=dataset, needed=5)
    doubtful = ItemFactory(dataset=dataset, needed=1)
    written = item_prelabels_set(
        project=project,
        predictions=[
            _prelabel(fresh),
            _prelabel(started),
            _prelabel(extended, label="dog", confidence=0.4, needed=3),
            _prelabel(doubtful, label="bird", confidence=0.5, needed=3),
        ],
    )
    assert sorted(written) == sorted([fresh.pk, started.pk, extended.pk, doubtful.pk])
    rows = {
        row["pk"]: row
        for row in Item.objects.filter(project=project).values(
            "pk", "prelabel", "prelabel_confidence", "priority", "needed"
        )
    }
    assert rows[fresh.pk] == {
        "pk": fresh.pk,
        "prelabel": "cat",
        "prelabel_confidence": 0.95,
        "priority": pytest.approx(0.05),
        "needed": 1,
    }
    assert rows[started.pk]["needed"] == 2  # one person confirms: one more than it has
    assert rows[extended.pk]["needed"] == 5  # never fewer than it asked for already
    assert rows[doubtful.pk]["needed"] == 3
    assert rows[doubtful.pk]["prelabel"] == "bird"


def test_finished_and_foreign_items_are_left_alone():
    project = ProjectFactory()
    complete = ItemFactory(dataset__project=project, status=ItemStatus.COMPLETE)
    review = ItemFactory(dataset__project=project, status=ItemStatus.REVIEW)
    foreign = ItemFactory()  # another organization's project
    written = item_prelabels_set(
        project=project, predictions=[_prelabel(complete), _prelabel(review), _prelabel(foreign)]
    )
    assert written == []
    assert not Item.objects.exclude(prelabel=None).exists()
    assert not Annotation.objects.exists()


def test_each_item_keeps_one_model_annotation_the_latest():
    project = ProjectFactory()
    item = ItemFactory(dataset__project=project)
    item_prelabels_set(project=project, predictions=[_prelabel(item, label="cat")])
    item_prelabels_set(project=project, predictions=[_prelabel(item, label="dog")])
    annotations = list(Annotation.objects.filter(item=item).select_related("annotator"))
    assert [(a.label, a.source) for a in annotations] == [("dog", AnnotationSource.MODEL)]
    annotator = annotations[0].annotator
    assert annotator.kind == AnnotatorKind.MODEL
    assert annotator.name == f"model:p{project.pk}"
    assert annotator.organization_id == project.organization_id
    item.refresh_from_db()
    assert item.done == 0  # the model's annotation is not a person's
