"""Model versions through the platform: training and promotion, pre-labels and adaptive
overlap, the model as an annotator of the agreement report (never a consensus vote), anchoring,
retraining after new labels, and the API."""

from pathlib import Path

import numpy as np
import pytest
from django.conf import settings

from core.jobs import JobStatus
from labeling import queue
from labeling.models import Annotation, AnnotationSource, AnnotatorKind, Item, ItemStatus
from labeling.signals import items_completed
from prelabels import services
from prelabels.ml import synthetic
from prelabels.ml.splits import keyed_split
from prelabels.models import ModelVersion
from qa import reports
from qa.data import Filters
from tenancy import services as tenancy_services
from tenancy.models import Role

from ..factories import AnnotationFactory, DatasetFactory, ItemFactory

LABELS = synthetic.LABEL_NAMES  # positive, negative, neutral


def text_project(world, *, labeled: int, open_items: int = 0, seed: int = 0, **policy):
    """A synthetic review project: `labeled` complete items with their final label, then
    `open_items` open ones."""
    project = tenancy_services.project_create(
        organization=world.a.organization,
        name=f"Reviews {labeled}/{open_items}/{seed}/{policy}",
        labels=list(LABELS),
        **policy,
    )
    dataset = DatasetFactory(project=project, organization=project.organization)
    texts, labels = synthetic.reviews(labeled + open_items, seed=seed)
    ItemFactory.create_bulk(
        (
            {
                "external_id": f"r{n}",
                "data": {"text": text},
                **(
                    {"status": ItemStatus.COMPLETE, "label": LABELS[label], "done": project.overlap}
                    if n < labeled
                    else {}
                ),
            }
            for n, (text, label) in enumerate(zip(texts, labels, strict=True))
        ),
        dataset=dataset,
    )
    return project


def train(project, capture):
    with capture(execute=True):
        version = services.model_train(project=project)
    version.refresh_from_db()
    return version


def test_a_version_trains_through_the_service_and_becomes_current(
    world, django_capture_on_commit_callbacks
):
    project = text_project(world, labeled=80)
    version = train(project, django_capture_on_commit_callbacks)
    assert version.status == JobStatus.SUCCEEDED, version.message
    assert version.is_current
    assert version.kind == "text_sklearn"
    assert version.n_labels_used == 80
    assert version.message.startswith("Promoted: no current version")
    assert version.metrics["evaluation"] == "cross_validation"
    assert 0.6 < version.metrics["accuracy"] <= 1.0
    assert sum(row["count"] for row in version.reliability) == 80
    assert len(version.confusion) == 3
    assert version.label_names == LABELS
    assert (Path(settings.MEDIA_ROOT) / version.file.name).stat().st_size > 0


def test_a_worse_version_stays_non_current(world, django_capture_on_commit_callbacks):
    project = text_project(world, labeled=300)
    first = train(project, django_capture_on_commit_callbacks)
    assert first.is_current and first.metrics["evaluation"] == "heldout"
    # Scramble the labels of the items a new version trains on (the held-out ones stay
    # true): it learns noise, and is scored with the current one on the same held-out items.
    items = list(Item.objects.filter(project=project).order_by("id"))
    codes = np.array([LABELS.index(item.label) for item in items])
    train_index, _ = keyed_split(codes, [str(item.pk) for item in items], 0.2)
    rng = np.random.default_rng(1)
    for position in train_index:
        items[position].label = LABELS[int(rng.integers(3))]
    Item.objects.bulk_update(items, ["label"])
    second = train(project, django_capture_on_commit_callbacks)
    assert second.status == JobStatus.SUCCEEDED
    assert not second.is_current
    assert second.message.startswith("Not promoted: macro-F1")
    assert second.metrics["macro_f1"] < first.metrics["macro_f1"]
    first.refresh_from_db()
    assert first.is_current
    assert services.model_version_current(project=project) == first


def test_training_fails_clearly_without_two_classes(world, django_capture_on_commit_callbacks):
    project = text_project(world, labeled=20)
    Item.objects.filter(project=project).update(label="positive")
    version = train(project, django_capture_on_commit_callbacks)
    assert version.status == JobStatus.FAILED
    assert "at least 2 classes" in version.message
    assert not version.is_current


def test_prelabels_priorities_and_adaptive_overlap(world, django_capture_on_commit_callbacks):
    project = text_project(world, labeled=60, open_items=60)
    train(project, django_capture_on_commit_callbacks)
    before = services.model_predict(project=project)  # confidence spread first
    open_items = Item.objects.filter(project=project, status=ItemStatus.OPEN)
    confidences = sorted(open_items.values_list("prelabel_confidence", flat=True))
    threshold = confidences[len(confidences) // 2]
    tenancy_services.project_update(project=project, model_threshold=threshold, audit_share=0.3)
    project.refresh_from_db()
    counts = services.model_predict(project=project)
    assert counts["items"] == before["items"] == 60
    rows = list(open_items.values("prelabel", "prelabel_confidence", "priority", "needed"))
    assert all(row["prelabel"] in LABELS for row in rows)
    for row in rows:
        assert row["priority"] == pytest.approx(1 - row["prelabel_confidence"], abs=1e-5)
        if row["prelabel_confidence"] >= threshold:
            assert row["needed"] in (1, project.overlap)
        else:
            assert row["needed"] == project.overlap
    single = [row for row in rows if row["needed"] == 1]
    assert single and counts["confident"] == len(single) + counts["audited"]
    assert counts["audited"] > 0  # confident items kept at full overlap
    # the most uncertain open item is served first
    annotator = world.users[Role.ANNOTATOR]
    tenancy_services.workforce_assign(project=project, user=annotator, role="annotator")
    lease = queue.lease_next(project=project, user=annotator)
    assert lease.item.priority == max(row["priority"] for row in rows)
    # completed items are left alone
    assert (
        not Item.objects.filter(project=project, status=ItemStatus.COMPLETE)
        .exclude(prelabel=None)
        .exists()
    )


def test_the_model_is_an_annotator_of_the_report_but_never_a_vote(
    world, api, django_capture_on_commit_callbacks
):
    project = text_project(world, labeled=60, open_items=5, overlap=1)
    train(project, django_capture_on_commit_callbacks)
    services.model_predict(project=project)
    model_rows = Annotation.objects.filter(project=project, source=AnnotationSource.MODEL)
    assert model_rows.count() == 5
    assert {a.annotator.kind for a in model_rows} == {AnnotatorKind.MODEL}
    services.model_predict(project=project)  # a re-prediction replaces, never adds
    assert model_rows.count() == 5
    # A person disagrees with the pre-label: with overlap 1 their label is the consensus (were
    # the model a vote, the item would be a tie).
    annotator = world.users[Role.ANNOTATOR]
    tenancy_services.workforce_assign(project=project, user=annotator, role="annotator")
    lease = queue.lease_next(project=project, user=annotator)
    item = lease.item
    other = next(label for label in LABELS if label != item.prelabel)
    with django_capture_on_commit_callbacks(execute=True):
        queue.annotation_submit(item=item, user=annotator, label=other)
    item.refresh_from_db()
    assert item.done == 1
    assert item.status == ItemStatus.COMPLETE
    assert item.label == other and item.confidence == 1.0
    report = api.as_user(world.users[Role.CLIENT_ADMIN]).get(
        f"/api/v1/projects/{project.pk}/agreement/"
    )
    assert report.status_code == 200
    rows = {row["annotator"]: row for row in report.json()["per_annotator"]}
    model_row = rows[f"model:p{project.pk}"]
    assert model_row["kind"] == "model" and model_row["annotations"] == 5
    assert rows[annotator.username]["kind"] == "human"
    # Measured against what people decided (one item, where it was wrong), not against the
    # report's fitted answers on the items only it labeled.
    assert model_row["agreement_with_consensus"] == 0.0


def _rated(item, annotator_user, label, shown):
    return AnnotationFactory(
        item=item,
        annotator=queue.annotator_for(annotator_user),
        label=label,
        prelabel_shown=shown,
    )


def test_anchoring_compares_shown_and_blind(world):
    project = text_project(world, labeled=0, open_items=6)
    items = list(Item.objects.filter(project=project).order_by("id"))
    Item.objects.filter(project=project).update(prelabel="positive", prelabel_confidence=0.8)
    user = world.users[Role.ANNOTATOR]
    # shown: 3 of 3 chose the pre-label; blind: 1 of 2 (and one item without a pre-label)
    for item in items[:3]:
        _rated(item, user, "positive", True)
    _rated(items[3], user, "positive", False)
    _rated(items[4], user, "negative", False)
    Item.objects.filter(pk=items[5].pk).update(prelabel=None)
    _rated(items[5], user, "positive", None)
    result = reports.anchoring_compute(project=project, filters=Filters())
    assert result["shown"] == {"annotations": 3, "agree": 3, "rate": 1.0}
    assert result["blind"] == {"annotations": 2, "agree": 1, "rate": 0.5}
    assert result["difference"] == 0.5
    low, high = result["difference_ci"]
    assert low < 0.5 < high
    assert result["reason"] is None
    # the report carries it
    assert reports.report_compute(project=project, filters=Filters())["anchoring"] == result


def test_anchoring_is_null_with_a_reason_when_a_side_is_empty():
    result = reports.anchoring_summary(10, 7, 0, 0)
    assert result["shown"]["rate"] == 0.7
    assert result["blind"]["rate"] is None
    assert result["difference"] is None
    assert "blind" in result["reason"]


def test_retraining_after_enough_completions(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    project = text_project(world, labeled=40)
    current = train(project, django_capture_on_commit_callbacks)
    monkeypatch.setattr(services, "RETRAIN_EVERY", 3)
    ids = list(Item.objects.filter(project=project).values_list("pk", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        items_completed.send(
            None,
            organization_id=project.organization_id,
            project_id=project.pk,
            item_ids=ids[:2],
        )
    current.refresh_from_db()
    assert current.new_completions == 2
    assert ModelVersion.objects.filter(project=project).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        items_completed.send(
            None,
            organization_id=project.organization_id,
            project_id=project.pk,
            item_ids=ids[2:3],
        )
    versions = list(ModelVersion.objects.filter(project=project).order_by("id"))
    assert len(versions) == 2
    assert versions[1].status == JobStatus.SUCCEEDED
    assert versions[1].n_labels_used == 40
    assert versions[1].is_current  # neither is measured on held-out labels: the newer wins
    current.refresh_from_db()
    assert current.new_completions == 0 and not current.is_current


def test_api_train_list_predict(world, api, django_capture_on_commit_callbacks):
    project = text_project(world, labeled=40, open_items=3)
    admin = api.as_user(world.users[Role.CLIENT_ADMIN])
    url = f"/api/v1/projects/{project.pk}/models/"
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(f"{url}train/")
    assert response.status_code == 202
    body = response.json()
    assert set(body) >= {"id", "status"}
    listed = admin.get(url).json()
    assert [row["id"] for row in listed] == [body["id"]]
    row = listed[0]
    assert row["status"] == "succeeded" and row["is_current"] and row["kind"] == "text_sklearn"
    assert set(row["metrics"]) == {"accuracy", "macro_f1", "ece", "coverage"}
    assert row["metrics"]["accuracy"] is not None
    with django_capture_on_commit_callbacks(execute=True):
        predicted = admin.post(f"{url}predict/")
    assert predicted.status_code == 202
    assert not Item.objects.filter(project=project, status=ItemStatus.OPEN, prelabel=None).exists()
    # its annotators may not; another tenant's project is not found; viewers read
    tenancy_services.workforce_assign(
        project=project, user=world.users[Role.ANNOTATOR], role="annotator"
    )
    annotator = api.as_user(world.users[Role.ANNOTATOR])
    assert annotator.post(f"{url}train/").status_code == 403
    assert annotator.get(url).status_code == 403
    viewer = api.as_user(world.users[Role.CLIENT_VIEWER])
    assert viewer.get(url).status_code == 200
    assert viewer.post(f"{url}train/").status_code == 403
    other = api.as_user(world.b.users[Role.CLIENT_ADMIN])
    assert other.post(f"{url}train/").status_code == 404
    assert other.get(url).status_code == 404
    assert ModelVersion.objects.filter(project=project).count() == 1


def test_api_refuses_multilabel_and_predict_without_a_model(world, api):
    admin = api.as_user(world.users[Role.CLIENT_ADMIN])
    multilabel = tenancy_services.project_create(
        organization=world.a.organization, name="Tags", labels=["a", "b"], task_type="multilabel"
    )
    response = admin.post(f"/api/v1/projects/{multilabel.pk}/models/train/")
    assert response.status_code == 400
    assert "classification" in response.json()["detail"]
    assert not ModelVersion.objects.filter(project=multilabel).exists()
    fresh = text_project(world, labeled=0, open_items=2)
    response = admin.post(f"/api/v1/projects/{fresh.pk}/models/predict/")
    assert response.status_code == 400
    assert "train one first" in response.json()["detail"]


def test_the_model_page_shows_versions_reliability_and_confusion(
    world, client, django_capture_on_commit_callbacks
):
    project = text_project(world, labeled=80)
    version = train(project, django_capture_on_commit_callbacks)
    client.force_login(world.users[Role.CLIENT_VIEWER])
    page = client.get(f"/projects/{project.pk}/models/")
    assert page.status_code == 200
    body = page.content.decode()
    assert f"v{version.pk}" in body and 'data-testid="current"' in body
    assert 'data-testid="reliability"' in body and '<rect class="bar"' in body
    assert body.count('<td class="num diag"') == 3
    assert 'data-testid="train"' not in body  # a viewer reads, and cannot train
    # the viewer's POST is refused and queues nothing
    assert client.post(f"/projects/{project.pk}/models/", {"action": "train"}).status_code == 403
    assert ModelVersion.objects.filter(project=project).count() == 1
